package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// cluster is a PostgreSQL database and a NATS server shared by test nodes,
// as in production.
type cluster struct {
	t       *testing.T
	dbURL   string
	natsDir string
	port    int
	ns      *server.Server
}

func mustCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, dbURL: testpg.URL(t), natsDir: t.TempDir(), port: -1}
	c.startNATS()
	u, _ := url.Parse(c.ns.ClientURL())
	c.port, _ = strconv.Atoi(u.Port())
	t.Cleanup(func() { c.ns.Shutdown() })
	return c
}

func (c *cluster) startNATS() {
	c.t.Helper()
	ns, err := natsserver.Start(natsserver.Options{StoreDir: c.natsDir, Port: c.port})
	if err != nil {
		c.t.Fatal(err)
	}
	c.ns = ns
}

func (c *cluster) stopNATS() {
	c.ns.Shutdown()
	c.ns.WaitForShutdown()
}

// node starts a gavel node of the given role on the cluster.
func (c *cluster) node(role config.Role, name string) *node {
	c.t.Helper()
	cfg := config.Default()
	cfg.Role, cfg.NodeName, cfg.Addr = role, name, "127.0.0.1:0"
	cfg.DatabaseURL, cfg.NATSURL = c.dbURL, fmt.Sprintf("nats://127.0.0.1:%d", c.port)
	cfg.DataDir, cfg.Demo = c.t.TempDir(), config.DemoOff
	n, err := startNode(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = n.shutdown(context.Background()) })
	return n
}

// client is a logged-in HTTP client; its cookie jar is shared by every node
// on 127.0.0.1, as a browser's would be behind one proxy.
type client struct {
	t    *testing.T
	http *http.Client
}

func mustClient(t *testing.T, base, email string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	c.settled(http.MethodPost, base+"/api/v1/users", map[string]any{"email": email, "password": "correct horse", "name": email[:strings.IndexByte(email, '@')]}, http.StatusCreated, nil)
	c.settled(http.MethodPost, base+"/api/v1/session", map[string]any{"email": email, "password": "correct horse"}, http.StatusOK, nil)
	return c
}

// settled is json for a test's setup: a 503 is what a node answers when a
// request outlasts its dependency bound, as bcrypt and the first queries
// can on a loaded machine with a short bound, and it says to try again; so
// it tries again, for up to a minute, before it expects want.
func (c *client) settled(method, url string, body any, want int, out any) {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	code := c.json(method, url, body, 0, out)
	for code == http.StatusServiceUnavailable && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		code = c.json(method, url, body, 0, out)
	}
	if code != want {
		c.t.Fatalf("%s %s: %d, want %d", method, url, code, want)
	}
}

func (c *client) json(method, url string, body any, want int, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if want != 0 && resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	id, typ string
	ev      domain.Event
}

// stream opens an SSE stream and delivers its events until the connection
// ends, then closes the channel.
func (c *client) stream(url, lastEventID string) <-chan sseEvent {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	hc := &http.Client{Jar: c.http.Jar}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		c.t.Fatalf("stream %s: %s %s", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 1024)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var cur sseEvent
		var data strings.Builder
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if data.Len() > 0 {
					_ = json.Unmarshal([]byte(data.String()), &cur.ev)
					out <- cur
				}
				cur, data = sseEvent{}, strings.Builder{}
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				data.WriteString(line[6:])
			}
		}
	}()
	return out
}

// bidUntil keeps two bidders outbidding each other through the API node
// until stop closes, and returns the number of accepted bids.
func bidUntil(t *testing.T, api string, auction int64, bidders []*client, stop <-chan struct{}) <-chan int {
	done := make(chan int, 1)
	go func() {
		n := 0
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- n
				return
			case <-time.After(15 * time.Millisecond):
			}
			var a domain.AuctionView
			bidders[i%2].json(http.MethodGet, fmt.Sprintf("%s/api/v1/auctions/%d", api, auction), nil, http.StatusOK, &a)
			code := bidders[i%2].json(http.MethodPost, fmt.Sprintf("%s/api/v1/auctions/%d/bids", api, auction), map[string]any{"amount": a.MinNextBid}, 0, nil)
			if code == http.StatusCreated {
				n++
			}
		}
	}()
	return done
}

// collector records auction seqs from one or more streams and checks each
// arrives exactly once, in order.
type collector struct {
	mu     sync.Mutex
	seqs   []int64
	lastID string
}

func (c *collector) take(t *testing.T, events <-chan sseEvent, until func(seq int64) bool, timeout time.Duration) bool {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return false
			}
			c.mu.Lock()
			if e.id != "" {
				c.lastID = e.id
			}
			if e.typ != "stats" && e.ev.AuctionID != 0 {
				c.seqs = append(c.seqs, e.ev.Seq)
			}
			seq := e.ev.Seq
			c.mu.Unlock()
			if until(seq) {
				return true
			}
		case <-deadline:
			t.Fatalf("timed out; seqs so far %v", c.seqs)
		}
	}
}

func (c *collector) check(t *testing.T, final int64) {
	t.Helper()
	if len(c.seqs) == 0 {
		t.Fatal("no events")
	}
	want := c.seqs[0]
	for i, s := range c.seqs {
		if s != want {
			t.Fatalf("event %d has seq %d, want %d (every seq exactly once, in order): %v", i, s, want, c.seqs)
		}
		want++
	}
	if got := c.seqs[len(c.seqs)-1]; got != final {
		t.Fatalf("stream ended at seq %d, the auction is at %d", got, final)
	}
}

// TestResumeAcrossRealtimeNodes reads a stream from realtime node A, stops
// A mid-stream while bids continue, and resumes on node B with the
// Last-Event-ID: every seq must arrive exactly once, in order.
func TestResumeAcrossRealtimeNodes(t *testing.T) {
	c := mustCluster(t)
	api := c.node(config.RoleAPI, "api")
	rtA := c.node(config.RoleRealtime, "rt-a")
	rtB := c.node(config.RoleRealtime, "rt-b")

	seller := mustClient(t, api.URL(), "seller@example.com")
	x, y := mustClient(t, api.URL(), "x@example.com"), mustClient(t, api.URL(), "y@example.com")
	watcher := mustClient(t, api.URL(), "w@example.com")
	var a domain.AuctionView
	seller.json(http.MethodPost, api.URL()+"/api/v1/auctions", map[string]any{"title": "Clock", "currency": "EUR",
		"start_price": 1000, "ends_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, http.StatusCreated, &a)

	stop := make(chan struct{})
	bids := bidUntil(t, api.URL(), a.ID, []*client{x, y}, stop)
	col := &collector{}
	path := fmt.Sprintf("/stream/auctions/%d", a.ID)
	firstSeq := int64(0)
	col.take(t, watcher.stream(rtA.URL()+path, ""), func(seq int64) bool {
		if firstSeq == 0 {
			firstSeq = seq
		}
		return seq >= firstSeq+15
	}, 30*time.Second)
	// Stop A mid-stream, while the bidders keep going.
	if err := rtA.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	resumed := watcher.stream(rtB.URL()+path, col.lastID)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	if n := <-bids; n < 20 {
		t.Fatalf("only %d bids were accepted", n)
	}
	var final domain.AuctionView
	x.json(http.MethodGet, fmt.Sprintf("%s/api/v1/auctions/%d", api.URL(), a.ID), nil, http.StatusOK, &final)
	col.take(t, resumed, func(seq int64) bool { return seq >= final.Seq }, 30*time.Second)
	col.check(t, final.Seq)
}

// TestStreamSurvivesNATSRestart restarts the NATS server in the middle of
// a stream while bids keep committing: the watcher loses nothing.
func TestStreamSurvivesNATSRestart(t *testing.T) {
	c := mustCluster(t)
	n := c.node(config.RoleAll, "all")
	seller := mustClient(t, n.URL(), "seller@example.com")
	x, y := mustClient(t, n.URL(), "x@example.com"), mustClient(t, n.URL(), "y@example.com")
	var a domain.AuctionView
	seller.json(http.MethodPost, n.URL()+"/api/v1/auctions", map[string]any{"title": "Globe", "currency": "EUR",
		"start_price": 1000, "ends_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, http.StatusCreated, &a)
	col := &collector{}
	events := seller.stream(fmt.Sprintf("%s/stream/auctions/%d", n.URL(), a.ID), "")
	bid := func(k int) {
		stop := make(chan struct{})
		done := bidUntil(t, n.URL(), a.ID, []*client{x, y}, stop)
		time.Sleep(time.Duration(k) * 40 * time.Millisecond)
		close(stop)
		<-done
	}
	bid(10)
	c.stopNATS()
	bid(10) // committed while NATS is down; the outbox holds the events
	c.startNATS()
	bid(10)
	var final domain.AuctionView
	x.json(http.MethodGet, fmt.Sprintf("%s/api/v1/auctions/%d", n.URL(), a.ID), nil, http.StatusOK, &final)
	col.take(t, events, func(seq int64) bool { return seq >= final.Seq }, 30*time.Second)
	col.check(t, final.Seq)
	if col.seqs[0] != 1 {
		t.Fatalf("the stream started at seq %d, want the snapshot at 1", col.seqs[0])
	}
}

// TestLogoutClosesStreamsOnEveryNode: a logout on the API node closes that
// session's streams on every realtime node at once, and leaves the same
// user's other session (another browser) alone.
func TestLogoutClosesStreamsOnEveryNode(t *testing.T) {
	t.Parallel()
	c := mustCluster(t)
	api := c.node(config.RoleAPI, "api")
	rtA := c.node(config.RoleRealtime, "rt-a")
	rtB := c.node(config.RoleRealtime, "rt-b")
	ann := mustClient(t, api.URL(), "ann@example.com")
	jar, _ := cookiejar.New(nil)
	other := &client{t: t, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	other.json(http.MethodPost, api.URL()+"/api/v1/session", map[string]any{"email": "ann@example.com", "password": "correct horse"}, http.StatusOK, nil)

	onA, onB := ann.stream(rtA.URL()+"/stream/me", ""), ann.stream(rtB.URL()+"/stream/me", "")
	kept := other.stream(rtB.URL()+"/stream/me", "")
	start := time.Now()
	ann.json(http.MethodDelete, api.URL()+"/api/v1/session", nil, http.StatusNoContent, nil)
	for name, events := range map[string]<-chan sseEvent{"rt-a": onA, "rt-b": onB} {
		deadline := time.After(5 * time.Second) // the heartbeat is 15 s: only the logout closes it this soon
	drain:
		for {
			select {
			case _, open := <-events:
				if !open {
					t.Logf("%s: stream closed %v after the logout", name, time.Since(start).Round(time.Millisecond))
					break drain
				}
			case <-deadline:
				t.Fatalf("%s: the logged-out session's stream is still open", name)
			}
		}
	}
	select {
	case _, open := <-kept:
		if !open {
			t.Error("the other session's stream was closed too")
		}
	case <-time.After(time.Second):
	}
}
