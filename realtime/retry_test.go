package realtime

import (
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestRetryJittered: the streams of one node do not all tell their browsers
// the same reconnection delay, so a node's death does not bring its
// watchers back to the survivors in one instant; on a small node every
// delay stays within [Retry/6, Retry].
func TestRetryJittered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{Retry: 3 * time.Second})
	e.seed(1, 1)
	seen := map[int32]bool{}
	for range 24 {
		c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
		c.expect(domain.EventSnapshot, "1:1")
		r := c.retryMS()
		if r < 500 || r > 3000 {
			t.Fatalf("retry = %d ms, want 500..3000", r)
		}
		seen[r] = true
		_ = c.nc.Close()
	}
	// 24 draws from 16 evenly spread values: all equal has odds of 16^-23.
	if len(seen) < 4 {
		t.Fatalf("retry delays %v: want them spread, not one value for every stream", seen)
	}
}

// TestRetryBounds: the window grows with the node's streams so that they
// would come back at about RetryRate a second, between Retry and 3·Retry.
func TestRetryBounds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n, rate int
		lo, hi  time.Duration
	}{
		{0, 4000, 500 * time.Millisecond, 3 * time.Second},
		{10000, 4000, 500 * time.Millisecond, 3 * time.Second},
		{16000, 4000, 500 * time.Millisecond, 4500 * time.Millisecond},
		{16001, 4000, 500 * time.Millisecond, 4750 * time.Millisecond}, // rounded up to a step
		{19000, 4000, 500 * time.Millisecond, 5250 * time.Millisecond},
		{100000, 4000, 500 * time.Millisecond, 9 * time.Second},
		{16000, 8000, 500 * time.Millisecond, 3 * time.Second},
	} {
		lo, hi := retryBounds(3*time.Second, tt.rate, tt.n)
		if lo != tt.lo || hi != tt.hi {
			t.Errorf("retryBounds(3s, %d, %d) = %v..%v, want %v..%v", tt.rate, tt.n, lo, hi, tt.lo, tt.hi)
		}
	}
	w := newRetryWindow(500*time.Millisecond, 4500*time.Millisecond, 3*time.Second)
	var p0, pn sseParser
	p0.feed(w.preambles[0][len(responseHead):], func(sseEvent) {})
	pn.feed(w.preambles[retrySteps-1][len(responseHead):], func(sseEvent) {})
	if p0.retry != 500 || pn.retry != 4500 {
		t.Fatalf("preamble retry span = %d..%d ms, want 500..4500", p0.retry, pn.retry)
	}
	var b sseParser
	b.feed(w.beats[retrySteps-1], func(sseEvent) { t.Error("a heartbeat dispatched an event") })
	if b.comments != 1 || b.retry != 4500 {
		t.Fatalf("heartbeat = %q: want one comment and retry 4500", w.beats[retrySteps-1])
	}
	if base := newRetryWindow(500*time.Millisecond, 3*time.Second, 3*time.Second); base.beats != nil {
		t.Fatal("the base window's heartbeats carry a retry: every stream already has one in it")
	}
}

// TestRetryWindowWidensWithStreams: once a node holds more streams than
// RetryRate can bring back within Retry, new streams get delays from the
// wider window, and streams set up before learn it from their heartbeats.
func TestRetryWindowWidensWithStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// 10 set-ups a second: 31 streams need a window of 3.1 s, capped at
	// 3·Retry = 3 s.
	h, _ := e.hub(Config{Retry: time.Second, RetryRate: 10, Heartbeat: 300 * time.Millisecond})
	e.seed(1, 1)
	first := dial(t, h, domain.StreamSpec{UserID: 1, AuctionIDs: []int64{1}})
	first.expect(domain.EventSnapshot, "1:1")
	if r := first.retryMS(); r < 166 || r > 1000 {
		t.Fatalf("first stream's retry = %d ms, want 166..1000", r)
	}
	var most int32
	for i := range 30 {
		c := dial(t, h, domain.StreamSpec{UserID: int64(2 + i), AuctionIDs: []int64{1}})
		c.expect(domain.EventSnapshot, "1:1")
		r := c.retryMS()
		if r < 166 || r > 3000 {
			t.Fatalf("retry = %d ms, want 166..3000", r)
		}
		if i >= 15 {
			most = max(most, r)
		}
	}
	// 15 draws from windows of at least 166..2000 ms, over half of whose
	// 16 steps are over 1 s.
	if most <= 1000 {
		t.Fatalf("the streams set up on a node holding 16 to 31 got retries of at most %d ms, want the window widened past Retry (1 s)", most)
	}
	deadline := time.Now().Add(20 * time.Second)
	for first.retries.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the first stream's heartbeats never carried the wider window's retry:")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := first.retry.Load(); r < 166 || r > 3000 {
		t.Fatalf("heartbeat retry = %d ms, want 166..3000", r)
	}
}
