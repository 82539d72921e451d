package realtime

import (
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestRetryJittered: the streams of one node do not all tell their browsers
// the same reconnection delay, so a node's death does not bring its
// watchers back to the survivors in one instant; every delay stays within
// [Retry/2, Retry].
func TestRetryJittered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{Retry: 4 * time.Second})
	e.seed(1, 1)
	seen := map[int32]bool{}
	for range 24 {
		c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
		c.expect(domain.EventSnapshot, "1:1")
		r := c.retryMS()
		if r < 2000 || r > 4000 {
			t.Fatalf("retry = %d ms, want 2000..4000", r)
		}
		seen[r] = true
		_ = c.nc.Close()
	}
	// 24 draws from 16 evenly spread values: all equal has odds of 16^-23.
	if len(seen) < 4 {
		t.Fatalf("retry delays %v: want them spread, not one value for every stream", seen)
	}
}

func TestJitteredPreamblesSpan(t *testing.T) {
	t.Parallel()
	ps := jitteredPreambles(3 * time.Second)
	if len(ps) != retrySteps {
		t.Fatalf("%d preambles, want %d", len(ps), retrySteps)
	}
	var p0, pn sseParser
	p0.feed(ps[0][len(responseHead):], func(sseEvent) {})
	pn.feed(ps[len(ps)-1][len(responseHead):], func(sseEvent) {})
	if p0.retry != 1500 || pn.retry != 3000 {
		t.Fatalf("retry span = %d..%d ms, want 1500..3000", p0.retry, pn.retry)
	}
}
