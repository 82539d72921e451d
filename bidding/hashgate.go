package bidding

import (
	"context"
	"runtime"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// Password hashing is the most expensive thing a request can ask for (about
// 50 ms of a core at bcrypt's default cost), and anyone may ask: a login or
// registration flood would otherwise put every core to hashing and starve
// the rest of the site. The gate lets a few hashes run at once and makes
// the others wait briefly, then answers "busy" (503 with Retry-After).

// errHashBusy is the answer when no hashing slot frees up in time.
var errHashBusy = &domain.Error{
	Code:    domain.CodeUnavailable,
	Message: "The server is busy checking passwords. Please try again in a moment.",
	Extra:   map[string]any{"retry_after": 2},
}

// defaultHashConcurrency leaves half the cores to everything else.
func defaultHashConcurrency() int {
	return max(1, runtime.GOMAXPROCS(0)/2)
}

// defaultHashWait is how long a hash may wait for a slot.
const defaultHashWait = 2 * time.Second

// hashGate bounds how many password hashes run at once.
type hashGate struct {
	slots chan struct{}
	wait  time.Duration
}

func newHashGate(n int, wait time.Duration) *hashGate {
	return &hashGate{slots: make(chan struct{}, n), wait: wait}
}

// run runs fn (a bcrypt call) once a slot is free, or returns errHashBusy
// after the gate's wait, or ctx's error.
func (g *hashGate) run(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		t := time.NewTimer(g.wait)
		defer t.Stop()
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			return errHashBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}
