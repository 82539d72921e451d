package bidding

import (
	"context"
	"time"
)

// BidTrace receives where one bid's time went, for a caller that set it
// on PlaceBid's context with WithBidTrace: how long the bid waited in its
// auction's queue while an earlier batch committed, and how long its own
// batch's transaction took. Like net/http/httptrace, it is opt-in per
// call and costs nothing when unset. gavel bench sale uses it to tell a
// cascade's commit from the wait of a bid that arrived just after another
// bid on the same lot (docs/BENCHMARKS.md, "Session 12 (lead)").
type BidTrace struct {
	// Queued is from the bid's arrival in its queue until a batch took it.
	Queued time.Duration
	// Batch is the batch's transaction, retries included: from taking its
	// bids until they were judged and committed, or the batch failed.
	Batch time.Duration
}

type bidTraceKey struct{}

// WithBidTrace returns a context that makes PlaceBid fill t before it
// returns the batch's answer. t is written on PlaceBid's own goroutine, so
// it may be read as soon as PlaceBid returns. It stays zero when the bid
// never reached a batch (refused before queueing, or abandoned).
func WithBidTrace(ctx context.Context, t *BidTrace) context.Context {
	return context.WithValue(ctx, bidTraceKey{}, t)
}

func bidTraceFrom(ctx context.Context) *BidTrace {
	t, _ := ctx.Value(bidTraceKey{}).(*BidTrace)
	return t
}

// batchClock times one batch for its traced bids, reading the clock only
// when one of them is traced (taken stays zero otherwise).
type batchClock struct {
	taken time.Time
}

func startBatchClock(batch []*bidCall) batchClock {
	for _, c := range batch {
		if !c.queuedAt.IsZero() {
			return batchClock{taken: time.Now()}
		}
	}
	return batchClock{}
}

// stamp records the batch's times in the results of its traced bids.
func (b batchClock) stamp(batch []*bidCall, results []bidResult) {
	if b.taken.IsZero() {
		return
	}
	took := time.Since(b.taken)
	for i, c := range batch {
		if !c.queuedAt.IsZero() {
			results[i].queued, results[i].batch = b.taken.Sub(c.queuedAt), took
		}
	}
}
