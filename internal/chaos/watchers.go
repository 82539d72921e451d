package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// WatcherOptions shape the SSE watchers.
type WatcherOptions struct {
	Watchers int // default 16
	// MoveEvery is how often, on average, a watcher leaves its realtime
	// node for the other one, resuming with Last-Event-ID (default 8s).
	MoveEvery time.Duration
	Seed      uint64
}

// Got is one event a watcher received.
type Got struct {
	Auction   int64
	Seq       int64
	Type      string
	At        time.Time // received
	Committed time.Time // the event's committed_at
	Node      string
}

// WatcherLog is what one watcher saw.
type WatcherLog struct {
	Name     string
	Auctions []int64
	Got      []Got
	Moves    int // reconnections to the other node with Last-Event-ID
}

// Watchers are people watching auctions live, the way EventSource does:
// they reconnect after a stream ends (honouring its retry delay) and
// resume with Last-Event-ID, and every few seconds they move to the other
// realtime node on purpose.
type Watchers struct {
	opts WatcherOptions
	c    *Cluster
	hc   *http.Client
	j    *journal
	ws   []*watcher
}

type watcher struct {
	p        *person
	auctions []int64
	mu       sync.Mutex
	log      WatcherLog
	lastID   string
}

// NewWatchers prepares the watchers.
func NewWatchers(c *Cluster, j *journal, o WatcherOptions) *Watchers {
	if o.Watchers <= 0 {
		o.Watchers = 16
	}
	if o.MoveEvery <= 0 {
		o.MoveEvery = 8 * time.Second
	}
	hc := &http.Client{Transport: &http.Transport{
		DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		// A node that is paused accepts the connection and never answers:
		// give up on it as a browser would, then try the other.
		ResponseHeaderTimeout: 8 * time.Second,
	}}
	return &Watchers{opts: o, c: c, hc: hc, j: j}
}

// Setup registers the watchers and gives each one to three auctions.
func (w *Watchers) Setup(ctx context.Context, auctions []stormAuction) error {
	people, err := signUpMany(ctx, w.hc, w.j, w.c.APINodes(), "watcher", w.opts.Watchers)
	if err != nil {
		return err
	}
	for i, p := range people {
		var ids []int64
		for k := range 1 + i%3 {
			ids = append(ids, auctions[(i+k*5)%len(auctions)].ID)
		}
		w.ws = append(w.ws, &watcher{p: p, auctions: ids, log: WatcherLog{Name: p.Email, Auctions: ids}})
	}
	return nil
}

// Run watches until ctx ends.
func (w *Watchers) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, x := range w.ws {
		wg.Go(func() { w.watch(ctx, x, i, rand.New(rand.NewPCG(w.opts.Seed, uint64(i)))) })
	}
	wg.Wait()
}

// Logs returns what every watcher saw.
func (w *Watchers) Logs() []WatcherLog {
	out := make([]WatcherLog, len(w.ws))
	for i, x := range w.ws {
		x.mu.Lock()
		out[i] = x.log
		out[i].Got = append([]Got(nil), x.log.Got...)
		x.mu.Unlock()
	}
	return out
}

// caughtUp reports whether every watcher's last event of each of its
// auctions is at final[auction].
func (w *Watchers) caughtUp(final map[int64]int64) (bool, string) {
	for _, x := range w.ws {
		x.mu.Lock()
		last := map[int64]int64{}
		for _, g := range x.log.Got {
			last[g.Auction] = g.Seq
		}
		x.mu.Unlock()
		for _, a := range x.auctions {
			if last[a] != final[a] {
				return false, fmt.Sprintf("%s is at seq %d of auction %d, which is at %d", x.p.Email, last[a], a, final[a])
			}
		}
	}
	return true, ""
}

func (w *Watchers) watch(ctx context.Context, x *watcher, i int, rng *rand.Rand) {
	nodes := w.c.StreamNodes()
	at := i % len(nodes)
	path := "/stream/auctions/" + strconv.FormatInt(x.auctions[0], 10)
	if len(x.auctions) > 1 {
		ids := make([]string, len(x.auctions))
		for k, id := range x.auctions {
			ids[k] = strconv.FormatInt(id, 10)
		}
		path = "/stream/auctions?ids=" + strings.Join(ids, ",")
	}
	for ctx.Err() == nil {
		node := nodes[at%len(nodes)]
		stay := w.opts.MoveEvery/2 + time.Duration(rng.Int64N(int64(w.opts.MoveEvery)))
		moved, retry := w.stream(ctx, x, node, path, stay)
		at++ // to the other node: by choice, or because this one failed
		if moved {
			x.mu.Lock()
			x.log.Moves++
			x.mu.Unlock()
			continue
		}
		if retry <= 0 {
			retry = 500 * time.Millisecond
		}
		sleep(ctx, retry)
	}
}

// stream reads one connection to node for up to stay. moved is true when
// it ended by choice; otherwise retry is the delay the stream asked for.
func (w *Watchers) stream(ctx context.Context, x *watcher, node *NodeProc, path string, stay time.Duration) (moved bool, retry time.Duration) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(cctx, http.MethodGet, node.URL+path, nil)
	req.Header.Set("Cookie", "gavel_session="+x.p.cookie)
	req.Header.Set("Accept", "text/event-stream")
	x.mu.Lock()
	if x.lastID != "" {
		req.Header.Set("Last-Event-ID", x.lastID)
	}
	x.mu.Unlock()
	r := Request{Kind: "stream", Node: node.Service, Start: time.Now()}
	res, err := w.hc.Do(req)
	r.End = time.Now()
	if err != nil {
		if ctx.Err() == nil {
			r.Err = err.Error()
			w.j.add(r)
		}
		return false, 0
	}
	defer res.Body.Close()
	r.Status = res.StatusCode
	if res.StatusCode != http.StatusOK {
		w.j.add(r)
		return false, time.Second
	}
	var leaving atomic.Bool
	timer := time.AfterFunc(stay, func() { leaving.Store(true); cancel() })
	defer timer.Stop()
	events := 0
	_ = readSSE(res.Body, func(ev sseEvent) bool {
		if ev.retry > 0 {
			retry = time.Duration(ev.retry) * time.Millisecond
		}
		if ev.data == "" || ev.typ == string(domain.EventStats) {
			return true
		}
		var e domain.Event
		if json.Unmarshal([]byte(ev.data), &e) != nil || e.AuctionID == 0 || e.Type.Personal() {
			return true
		}
		events++
		x.mu.Lock()
		x.log.Got = append(x.log.Got, Got{Auction: e.AuctionID, Seq: e.Seq, Type: string(e.Type), At: time.Now(), Committed: e.CommittedAt, Node: node.Service})
		if ev.id != "" {
			x.lastID = ev.id
		}
		x.mu.Unlock()
		return true
	})
	timer.Stop()
	moved = leaving.Load()
	// A stream that carried nothing but a retry delay was refused (a
	// dependency is down): for the browser a 200, for the record a refusal.
	r.StreamRetry = events == 0 && retry > 0 && !moved
	w.j.add(r)
	return moved, retry
}
