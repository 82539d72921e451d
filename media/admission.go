package media

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/gavel-auctions/gavel/domain"
)

// admission bounds decoding: at most slots decodes run at once (they are
// CPU-bound, so more would only slow each one), their estimated memory
// stays within budget bytes, and at most maxWaiting uploads wait, each for
// at most maxWait. Beyond that an upload is refused with 503 and
// Retry-After rather than queued without end.
type admission struct {
	slots      chan struct{}
	mem        *semaphore.Weighted
	budget     int64
	waiting    atomic.Int64
	maxWaiting int64
	maxWait    time.Duration
}

func newAdmission(slots int, budget int64, maxWaiting int, maxWait time.Duration) *admission {
	return &admission{
		slots:      make(chan struct{}, slots),
		mem:        semaphore.NewWeighted(budget),
		budget:     budget,
		maxWaiting: int64(maxWaiting),
		maxWait:    maxWait,
	}
}

// retryBusy is the Retry-After of a refused upload, in seconds.
const retryBusy = 5

// errBusy refuses an upload when decoding is saturated.
var errBusy = &domain.Error{
	Code:    domain.CodeUnavailable,
	Message: "Too many photos are being processed right now. Try again in a few seconds.",
	Extra:   map[string]any{"retry_after": int64(retryBusy)},
}

// acquire waits for a decode slot and cost bytes of the budget. A single
// decode larger than the whole budget takes all of it and runs alone, so
// the budget is the bound on concurrent decodes, and the largest single
// decode (set by MaxPixels) is the bound on one.
func (a *admission) acquire(ctx context.Context, cost int64) (release func(), err error) {
	cost = min(max(cost, 1), a.budget)
	if a.waiting.Add(1) > a.maxWaiting {
		a.waiting.Add(-1)
		return nil, errBusy
	}
	defer a.waiting.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, a.maxWait)
	defer cancel()
	if err := a.mem.Acquire(ctx, cost); err != nil {
		return nil, errBusy
	}
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		a.mem.Release(cost)
		return nil, errBusy
	}
	return func() {
		<-a.slots
		a.mem.Release(cost)
	}, nil
}
