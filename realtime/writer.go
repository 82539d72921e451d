package realtime

import (
	"sync"
	"time"
)

// writeChunk is how much a writer gathers from one connection's queue into
// a single write(2): enough for any burst, small enough to share.
const writeChunk = 64 << 10

// writer is one of a few goroutines that do all socket work for the
// connections assigned to it: writing queued frames, retrying full sockets,
// heartbeats and disconnect detection. No connection has a goroutine or
// timer of its own.
type writer struct {
	h    *Hub
	idx  int
	wake chan struct{} // capacity 1: "there is work"

	mu      sync.Mutex // guards the hand-over lists; a leaf lock
	ready   []*conn    // connections with queued data
	closing []*conn    // connections to release
	added   []*conn    // new connections
	stopped bool

	// Owned by the writer goroutine (and by Shutdown after it exits).
	// buckets holds the connections by heartbeat slot: bucket k is visited
	// on the wall-clock slots k, k+slices, … (heartbeat.go). A released
	// connection leaves a nil until its bucket's next visit.
	buckets  [][]*conn
	lastSlot int64                                   // the last heartbeat slot visited
	visiting bool                                    // beatBucket is compacting a bucket
	deferred []*conn                                 // connections adopted meanwhile, placed after it
	blocked  []*conn                                 // connections whose socket buffer was full
	spare    struct{ ready, closing, added []*conn } // the hand-over lists' other halves
	buf      []byte
	dep      *departures        // nil where the heartbeat's peek must do
	done     func(*frame, bool) // counts a written event frame (Hub.onDelivered)
}

func newWriter(h *Hub, idx int) *writer {
	return &writer{h: h, idx: idx, wake: make(chan struct{}, 1), buf: make([]byte, 0, writeChunk), dep: newDepartures(),
		buckets: make([][]*conn, max(1, h.beatSlices))}
}

func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// add hands a new connection to the writer. It reports false once the
// writer has stopped; the caller then releases the connection itself.
func (w *writer) add(c *conn) bool {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return false
	}
	w.added = append(w.added, c)
	w.mu.Unlock()
	w.signal()
	return true
}

// schedule tells the writer these connections have data.
func (w *writer) schedule(cs ...*conn) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.ready = append(w.ready, cs...)
	w.mu.Unlock()
	w.signal()
}

// requestClose asks the writer to release c. Release runs on the writer so
// that it never races a write and never runs under a topic's lock (callers
// may hold one). Once the writer has stopped, stopAll releases everything.
func (w *writer) requestClose(c *conn) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.closing = append(w.closing, c)
	w.mu.Unlock()
	w.signal()
}

// run serves the writer's connections until stop is closed. It sleeps until
// there is work: a wake-up, a blocked socket to retry (every tick), or the
// next heartbeat slice. An idle node's writers so wake a few times per
// Heartbeat instead of on every tick.
func (w *writer) run(stop <-chan struct{}) {
	now := time.Now()
	nextBeat := w.h.beatSlot(now)
	timer := time.NewTimer(nextBeat.Sub(now))
	defer timer.Stop()
	var nextRetry time.Time // set while some socket is blocked
	for {
		select {
		case <-stop:
			return
		case <-w.wake:
		case <-timer.C:
		}
		now = time.Now()
		w.service(now)
		if len(w.blocked) > 0 && !now.Before(nextRetry) {
			w.retryBlocked(now)
		}
		if !now.Before(nextBeat) {
			w.dep.poll(w.checkDeparted)
			w.heartbeats(now)
			nextBeat = w.h.beatSlot(now)
		}
		wait := nextBeat.Sub(now)
		switch {
		case len(w.blocked) == 0:
			nextRetry = time.Time{}
		case !nextRetry.After(now):
			nextRetry = now.Add(w.h.tick)
			fallthrough
		default:
			wait = min(wait, nextRetry.Sub(now))
		}
		timer.Reset(wait)
	}
}

// service takes the hand-over lists and does what they ask: adopt new
// connections, release closing ones, write queued data.
func (w *writer) service(now time.Time) {
	w.mu.Lock()
	ready, closing, added := w.ready, w.closing, w.added
	w.ready, w.closing, w.added = w.spare.ready[:0], w.spare.closing[:0], w.spare.added[:0]
	w.mu.Unlock()

	for _, c := range added {
		c.mu.Lock()
		released := c.state == stateReleased
		c.mu.Unlock()
		if !released {
			w.adopt(c)
			w.dep.watch(c)
		}
	}
	for _, c := range closing {
		w.release(c)
	}
	// A connection with more than one chunk queued comes back to the end
	// of the list, so one busy connection cannot starve the others.
	for i := 0; i < len(ready); i++ {
		if w.flush(ready[i], now) {
			ready = append(ready, ready[i])
		}
	}
	clear(ready)
	clear(closing)
	clear(added)
	w.spare.ready, w.spare.closing, w.spare.added = ready, closing, added
}

// flush writes as much of c's queue as the socket takes. It reports whether
// c still has data and room to write it.
func (w *writer) flush(c *conn, now time.Time) (more bool) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.sched = false
		c.mu.Unlock()
		return false
	}
	buf, n := c.gather(w.buf[:0], writeChunk)
	// Items being written must not be replaced by coalescing meanwhile.
	c.inflight = int32(n)
	c.mu.Unlock()

	written, err := c.write(buf)
	if cap(buf) <= 4*writeChunk {
		w.buf = buf[:0]
	}

	c.mu.Lock()
	c.inflight = 0
	c.advance(written, w.done)
	return w.wrote(c, written, err, now)
}

// wrote settles c after a write of written bytes that ended with err: a
// full socket puts c on the blocked list, an error releases it. It reports
// whether c still has data and room to write it. The caller holds c.mu;
// wrote unlocks it.
func (w *writer) wrote(c *conn, written int, err error, now time.Time) (more bool) {
	if c.state != stateOpen {
		// Closed while we wrote; whoever closed it queued the release.
		c.sched = false
		c.mu.Unlock()
		return false
	}
	if written > 0 {
		c.stallAt = 0
	}
	switch {
	case err == errWouldBlock:
		c.sched, c.blocked = false, true
		if c.stallAt == 0 {
			c.stallAt = now.UnixNano()
		}
		c.mu.Unlock()
		w.blocked = append(w.blocked, c)
		return false
	case err != nil:
		c.state = stateClosing
		c.q = nil
		c.sched = false
		c.mu.Unlock()
		w.release(c)
		return false
	case len(c.q) > 0:
		c.mu.Unlock()
		return true
	}
	c.sched = false
	c.mu.Unlock()
	return false
}

// retryBlocked retries connections whose socket was full. One that has made
// no progress for WriteTimeout is a slow consumer: it is closed, and its
// client resumes from its Last-Event-ID.
func (w *writer) retryBlocked(now time.Time) {
	list := w.blocked
	w.blocked = nil
	limit := w.h.cfg.WriteTimeout.Nanoseconds()
	for _, c := range list {
		c.mu.Lock()
		if c.state != stateOpen || !c.blocked {
			c.blocked = false
			c.mu.Unlock()
			continue
		}
		if now.UnixNano()-c.stallAt > limit {
			c.overflow()
			c.blocked = false
			c.mu.Unlock()
			w.h.slowConsumers.Add(1)
			w.release(c)
			continue
		}
		c.blocked, c.sched = false, true
		c.mu.Unlock()
		if w.flush(c, now) {
			w.schedule(c)
		}
	}
}

// release closes c's socket and detaches it from its topics, its user and
// the node count. It is idempotent.
func (w *writer) release(c *conn) {
	c.mu.Lock()
	if c.state == stateReleased {
		c.mu.Unlock()
		return
	}
	c.state = stateReleased
	c.q, c.hold, c.skip = nil, nil, nil
	c.mu.Unlock()
	if c.fd >= 0 {
		w.dep.forget(c)
	}
	c.closeSocket()
	if c.widx >= 0 {
		w.buckets[c.beat][c.widx] = nil
		c.widx = -1
	}
	w.h.detach(c)
}

// stopAll releases every connection once the writer goroutine has exited
// (or never ran).
func (w *writer) stopAll() {
	w.mu.Lock()
	w.stopped = true
	added, closing := w.added, w.closing
	w.added, w.closing, w.ready = nil, nil, nil
	w.mu.Unlock()
	for _, c := range added {
		w.release(c)
	}
	for _, c := range closing {
		w.release(c)
	}
	for _, b := range w.buckets {
		for _, c := range b {
			if c != nil {
				w.release(c)
			}
		}
	}
	for _, c := range w.blocked {
		w.release(c)
	}
	clear(w.buckets)
	w.blocked = nil
	w.dep.close()
}
