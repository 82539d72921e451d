package realtime

import (
	"math/rand/v2"
	"time"
)

// The retry: delay a node gives its streams decides how its watchers come
// back when it dies: every EventSource waits its delay, then reconnects
// to a survivor with its Last-Event-ID. A node holding n streams spreads
// those delays over a window that grows with n, so that its watchers
// arrive at about Config.RetryRate a second rather than all at once (#11
// point 5): 16,000 watchers at the default 5,000 a second arrive over
// 3.25 s, starting half a second after the death.
//
// The window is [lo, hi] with lo = Retry/6 and hi = lo + n/RetryRate,
// never below Retry and never above 3·Retry. A stream gets a delay drawn
// from the window when it is set up, and again with its heartbeats while
// the window is wider than the base one, so streams set up while the node
// was small learn the wider window within a Heartbeat.

// retryStep quantizes hi, so the frames are rebuilt at most once per
// retryStep·RetryRate streams.
const retryStep = 250 * time.Millisecond

// retryWindow is one window's frames, shared read-only by every stream.
type retryWindow struct {
	hi        time.Duration
	preambles [][]byte // response head + retry:, one per jitter step
	beats     [][]byte // heartbeat + retry:, one per jitter step; nil for the base window
}

// retryBounds returns the window for a node holding n streams.
func retryBounds(base time.Duration, rate, n int) (lo, hi time.Duration) {
	lo = base / 6
	hi = lo + time.Duration(n)*time.Second/time.Duration(max(rate, 1))
	hi = (hi + retryStep - 1) / retryStep * retryStep
	return lo, min(max(hi, base), 3*base)
}

// newRetryWindow builds the frames of the window [lo, hi]: retrySteps
// delays spread evenly over it. base is Config.Retry: at the base window
// heartbeats carry no retry: (every stream already got one in it).
func newRetryWindow(lo, hi, base time.Duration) *retryWindow {
	w := &retryWindow{hi: hi, preambles: make([][]byte, retrySteps)}
	if hi > base {
		w.beats = make([][]byte, retrySteps)
	}
	for i := range retrySteps {
		d := lo + (hi-lo)*time.Duration(i)/(retrySteps-1)
		w.preambles[i] = streamPreamble(d)
		if w.beats != nil {
			w.beats[i] = appendRetry(append([]byte(nil), ": hb\n"...), d)
		}
	}
	return w
}

// retryFor returns the window for the node's current stream count,
// rebuilding it when the count has moved it by a step.
func (h *Hub) retryFor() *retryWindow {
	lo, hi := retryBounds(h.cfg.Retry, h.cfg.RetryRate, int(h.conns.Load()))
	cur := h.retry.Load()
	if cur != nil && cur.hi == hi {
		return cur
	}
	w := newRetryWindow(lo, hi, h.cfg.Retry)
	// Racing rebuilds store equivalent windows; any of them will do.
	h.retry.Store(w)
	return w
}

// preamble returns a new stream's first bytes, with a delay drawn from the
// current window.
func (h *Hub) preamble() []byte {
	ps := h.retryFor().preambles
	return ps[rand.IntN(len(ps))]
}

// beatFrame returns a heartbeat: the bare comment while the window is the
// base one, else the comment with a delay drawn from the window.
func (h *Hub) beatFrame() []byte {
	w := h.retry.Load()
	if w == nil || w.beats == nil {
		return heartbeatFrame
	}
	return w.beats[rand.IntN(len(w.beats))]
}
