package chaos

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// StormOptions shape the bid storm.
type StormOptions struct {
	Bidders  int // default 24
	Auctions int // default 12
	// The auctions end one after another, evenly between FirstEnd and
	// LastEnd after they are listed, so that closes happen during faults.
	FirstEnd, LastEnd time.Duration
	// SoftClose is each auction's soft-close window in seconds (default 5):
	// late bids extend it, as in a real last-second storm.
	SoftClose int
	// Pinned is how many bidders per API node always bid on that node
	// (default 2), out of Bidders. The others go through the balancer.
	// A bidder whose request is in flight to a node that stalls waits for
	// its own timeout, whatever the other nodes do; the pinned ones show
	// what each node does meanwhile, so that the healthy node's bids are
	// measured during a stall even when every other bidder is stuck.
	Pinned int
	// Pause is a bidder's average pause between bids (default 150ms).
	Pause time.Duration
	// Timeout bounds one request on the client side (default 8s), as a
	// browser or a proxy would give up: a node that is paused answers
	// nothing.
	Timeout time.Duration
	Seed    uint64
}

func (o StormOptions) withDefaults() StormOptions {
	if o.Bidders <= 0 {
		o.Bidders = 24
	}
	if o.Auctions <= 0 {
		o.Auctions = 12
	}
	if o.SoftClose <= 0 {
		o.SoftClose = 5
	}
	if o.Pinned <= 0 {
		o.Pinned = 2
	}
	if o.Pause <= 0 {
		o.Pause = 150 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 8 * time.Second
	}
	if o.LastEnd <= o.FirstEnd {
		o.LastEnd = o.FirstEnd + time.Minute
	}
	return o
}

// Ack is a bid the cluster acknowledged with 201, and its receipt.
type Ack struct {
	Auction, BidID, Seq, Amount, MaxAmount, Bidder int64
	Key                                            string
	At                                             time.Time
	Took                                           time.Duration
	Node                                           string
}

// stormAuction is one listed auction.
type stormAuction struct {
	ID          int64
	Start       int64
	OriginalEnd time.Time
}

// Storm is the bidders: they bid as fast as the cluster answers on the
// auctions still open, some with Idempotency-Key (and retry through 503s
// and dead nodes with it), some with a proxy maximum.
type Storm struct {
	opts     StormOptions
	c        *Cluster
	hc       *http.Client
	j        *journal
	bidders  []*person
	Auctions []stormAuction
	lb       *balancer

	mu   sync.Mutex
	acks []Ack
}

// NewStorm prepares a storm on c; requests go to j.
func NewStorm(c *Cluster, j *journal, o StormOptions) *Storm {
	o = o.withDefaults()
	return &Storm{opts: o, c: c, hc: newHTTPClient(o.Timeout), j: j, lb: newBalancer(c.APINodes())}
}

// Setup registers the sellers and bidders and lists the auctions.
func (s *Storm) Setup(ctx context.Context) error {
	api := s.c.APINodes()
	seller, err := signUp(ctx, s.hc, s.j, api, "seller@chaos.example", "Seller")
	if err != nil {
		return err
	}
	people, err := signUpMany(ctx, s.hc, s.j, api, "bidder", s.opts.Bidders)
	if err != nil {
		return err
	}
	s.bidders = people
	now := time.Now()
	for i := range s.opts.Auctions {
		end := now.Add(s.opts.FirstEnd)
		if s.opts.Auctions > 1 {
			end = end.Add(time.Duration(i) * (s.opts.LastEnd - s.opts.FirstEnd) / time.Duration(s.opts.Auctions-1))
		}
		in := map[string]any{"title": fmt.Sprintf("Chaos lot %d", i+1), "currency": "EUR", "start_price": 1000,
			"ends_at": end.UTC().Format(time.RFC3339Nano), "soft_close_seconds": s.opts.SoftClose}
		if i%2 == 0 {
			in["increment"] = 50 // the rest use the price-banded table
		}
		var id int64
		var last string
		for attempt := 0; id == 0 && attempt < 10; attempt++ {
			code, body, _ := call(ctx, s.hc, s.j, "setup", api[attempt%len(api)], seller, http.MethodPost, "/api/v1/auctions", in, nil)
			if code == http.StatusCreated {
				var a struct {
					ID int64 `json:"id"`
				}
				_ = json.Unmarshal(body, &a)
				id = a.ID
				continue
			}
			last = fmt.Sprintf("%d %s", code, body)
			if code >= 400 && code < 500 {
				break // refused: trying again changes nothing
			}
			if !sleep(ctx, 300*time.Millisecond) {
				return ctx.Err()
			}
		}
		if id == 0 {
			return fmt.Errorf("could not list auction %d: %s", i+1, last)
		}
		s.Auctions = append(s.Auctions, stormAuction{ID: id, Start: 1000, OriginalEnd: end})
	}
	return nil
}

// signUpMany registers n people named prefix-N, a few at a time.
func signUpMany(ctx context.Context, hc *http.Client, j *journal, nodes []*NodeProc, prefix string, n int) ([]*person, error) {
	out := make([]*person, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			p, err := signUp(ctx, hc, j, nodes, fmt.Sprintf("%s-%d@chaos.example", prefix, i+1), fmt.Sprintf("%s %d", prefix, i+1))
			if err != nil {
				errs <- err
				return
			}
			out[i] = p
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return out, nil
}

// Run bids until ctx ends or every auction is past its end.
func (s *Storm) Run(ctx context.Context) {
	var wg sync.WaitGroup
	lbCtx, stopLB := context.WithCancel(ctx)
	defer stopLB()
	go s.lb.run(lbCtx)
	api := len(s.c.APINodes())
	for i, b := range s.bidders {
		pin := -1 // through the balancer
		if i < s.opts.Pinned*api {
			pin = i % api
		}
		wg.Go(func() { s.bidder(ctx, b, pin, rand.New(rand.NewPCG(s.opts.Seed, uint64(i)))) })
	}
	wg.Wait()
}

// Acks returns every acknowledged bid.
func (s *Storm) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

func (s *Storm) bidder(ctx context.Context, b *person, pin int, rng *rand.Rand) {
	minNext := map[int64]int64{}
	for ctx.Err() == nil {
		// Bidding stops a second before an auction's original end; soft
		// close then ends it at most SoftClose seconds after the last bid.
		var open []stormAuction
		for _, a := range s.Auctions {
			if time.Until(a.OriginalEnd) > time.Second {
				open = append(open, a)
			}
		}
		if len(open) == 0 {
			return
		}
		a := open[rng.IntN(len(open))]
		amount := max(minNext[a.ID], a.Start)
		if rng.IntN(5) == 0 {
			amount += int64(1+rng.IntN(4)) * 100
		}
		body := map[string]any{"amount": amount}
		if rng.IntN(3) == 0 {
			body["max_amount"] = amount + int64(1+rng.IntN(20))*100
		}
		key := ""
		if rng.IntN(2) == 0 {
			k := make([]byte, 12)
			for i := range k {
				k[i] = byte(rng.Uint32())
			}
			key = hex.EncodeToString(k)
		}
		if next := s.bid(ctx, b, pin, a.ID, body, key, rng); next > 0 {
			minNext[a.ID] = next
		}
		sleep(ctx, s.opts.Pause/2+time.Duration(rng.Int64N(int64(s.opts.Pause))))
	}
}

// bid places one bid and returns the auction's next minimum if the answer
// told it. A bid with an Idempotency-Key is retried, with the same key,
// after a 503 or no answer (on a node the balancer picks, or on pin, the
// API node's index, if it is not negative), until it gets an outcome.
func (s *Storm) bid(ctx context.Context, b *person, pin int, auction int64, body map[string]any, key string, rng *rand.Rand) int64 {
	api := s.c.APINodes()
	attempts := 1
	var header map[string]string
	if key != "" {
		attempts = 6
		header = map[string]string{"Idempotency-Key": key}
	}
	path := "/api/v1/auctions/" + strconv.FormatInt(auction, 10) + "/bids"
	for range attempts {
		start := time.Now()
		node := pin
		if node < 0 {
			node = s.lb.pick(rng)
		}
		n := api[node]
		code, data, h := call(ctx, s.hc, s.j, "bid", n, b, http.MethodPost, path, body, header)
		switch code {
		case http.StatusCreated:
			var r struct {
				BidID      int64 `json:"bid_id"`
				Seq        int64 `json:"seq"`
				Amount     int64 `json:"amount"`
				MaxAmount  int64 `json:"max_amount"`
				MinNextBid int64 `json:"min_next_bid"`
			}
			if json.Unmarshal(data, &r) != nil {
				return 0
			}
			s.mu.Lock()
			s.acks = append(s.acks, Ack{Auction: auction, BidID: r.BidID, Seq: r.Seq, Amount: r.Amount, MaxAmount: r.MaxAmount,
				Bidder: b.ID, Key: key, At: time.Now(), Took: time.Since(start), Node: n.Service})
			s.mu.Unlock()
			return r.MinNextBid
		case http.StatusConflict:
			var p struct {
				MinNextBid int64 `json:"min_next_bid"`
			}
			_ = json.Unmarshal(data, &p)
			return p.MinNextBid
		case http.StatusServiceUnavailable, 0:
			if code == 0 {
				s.lb.failed(node)
			}
			if key == "" {
				return 0 // its outcome stays unknown to this bidder, as to a person
			}
			wait := 300 * time.Millisecond
			if ra, err := strconv.Atoi(h.Get("Retry-After")); err == nil && ra > 0 {
				wait = time.Duration(ra) * time.Second / 2
			}
			if !sleep(ctx, wait) {
				return 0
			}
		default:
			return 0 // refused (gone, too fast, …): nothing to retry
		}
	}
	return 0
}

// balancer is what a load balancer in front of the API nodes knows, as the
// proxy and deploy/Caddyfile do: which nodes pass their /readyz check, and
// which just failed a request. Bidders pick among the nodes it thinks are
// up, as requests through a load balancer would reach them; a person's
// browser does not keep sending bids to a node that stopped answering.
type balancer struct {
	nodes []*NodeProc
	down  []atomic.Bool
}

func newBalancer(nodes []*NodeProc) *balancer {
	return &balancer{nodes: nodes, down: make([]atomic.Bool, len(nodes))}
}

// run checks every node's /readyz every healthEvery, each within
// healthTimeout, until ctx ends.
func (l *balancer) run(ctx context.Context) {
	hc := &http.Client{Timeout: healthTimeout}
	var wg sync.WaitGroup
	for i, n := range l.nodes {
		wg.Go(func() {
			for {
				res, err := hc.Get(n.URL + "/readyz")
				ok := err == nil && res.StatusCode == http.StatusOK
				if err == nil {
					_ = res.Body.Close()
				}
				l.down[i].Store(!ok)
				if !sleep(ctx, healthEvery) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// pick returns a node thought up, at random; any node when none is.
func (l *balancer) pick(rng *rand.Rand) int {
	up := make([]int, 0, len(l.nodes))
	for i := range l.nodes {
		if !l.down[i].Load() {
			up = append(up, i)
		}
	}
	if len(up) == 0 {
		return rng.IntN(len(l.nodes))
	}
	return up[rng.IntN(len(up))]
}

// failed marks a node that did not answer down until its next check.
func (l *balancer) failed(i int) { l.down[i].Store(true) }
