package realtime

import "time"

// heartbeatChunk is how many heartbeat visits a writer makes before it
// looks for queued events again, so a long heartbeat slice delays no event
// by more than a few milliseconds.
const heartbeatChunk = 256

// heartbeats visits the next slice of the connections. A round is
// Hub.beatSlices slices, one per beat slot, so each connection is visited
// once per Heartbeat. Visits come in bursts on wall-clock slots rather than
// a few on every tick: on loopback each write also pays for waking its
// reader, and a reader that is already busy with the burst needs no
// wake-up: a bare test server paid 18.7 µs per write in slices every 100 ms
// and 10.8 µs in bursts every 3 s (docs/BENCHMARKS.md).
func (w *writer) heartbeats(now time.Time) {
	w.slice++
	target := len(w.conns)
	if w.slice < w.h.beatSlices {
		target = len(w.conns) * w.slice / w.h.beatSlices
	}
	for k := 1; w.next < target; w.next, k = w.next+1, k+1 {
		if c := w.conns[w.next]; c != nil {
			w.heartbeat(c, now)
		}
		if k%heartbeatChunk == 0 {
			w.service(now)
		}
	}
	if w.slice >= w.h.beatSlices {
		w.compact()
		w.next, w.slice = 0, 0
	}
}

// checkDeparted releases c if its client hung up; departures reports
// candidates.
func (w *writer) checkDeparted(c *conn) {
	if c.peerGone() {
		w.release(c)
	}
}

// heartbeat checks that c's client is still there (unless departures
// watches it) and, if nothing is queued, writes a comment so proxies keep
// the stream open.
func (w *writer) heartbeat(c *conn, now time.Time) {
	if c.fd < 0 && c.peerGone() {
		w.release(c)
		return
	}
	c.mu.Lock()
	if c.state != stateOpen || len(c.q) > 0 {
		c.mu.Unlock()
		return
	}
	c.q = append(c.q, item{data: heartbeatFrame})
	flush := !c.sched && !c.blocked
	if flush {
		c.sched = true
	}
	c.mu.Unlock()
	if flush && w.flush(c, now) {
		w.schedule(c)
	}
}

// compact drops released slots at the end of a heartbeat round.
func (w *writer) compact() {
	k := 0
	for _, c := range w.conns {
		if c != nil {
			c.widx = k
			w.conns[k] = c
			k++
		}
	}
	clear(w.conns[k:])
	w.conns = w.conns[:k]
	if cap(w.conns) > 64 && k < cap(w.conns)/4 {
		w.conns = append([]*conn(nil), w.conns...)
	}
}

// beatPlan splits a heartbeat round into slices: one every beatEvery, a
// fifth of the Heartbeat but at most 3 s, so that a departed client is
// noticed within seconds and each slice is one burst of writes.
func beatPlan(heartbeat time.Duration) (every time.Duration, slices int) {
	every = min(max(heartbeat/5, 5*time.Millisecond), 3*time.Second)
	return every, max(1, int((heartbeat+every-1)/every))
}

// HeartbeatSlot is the spacing of the wall-clock slots on which the
// writers send heartbeats, for a given Config.Heartbeat. Tools that
// measure a node's idle cost line their windows up with it.
func HeartbeatSlot(heartbeat time.Duration) time.Duration {
	every, _ := beatPlan(heartbeat)
	return every
}

// beatSlot is the first heartbeat slot after now. Slots sit on multiples
// of beatEvery of the wall clock, so every writer of every node on a host
// bursts at the same moments.
func (h *Hub) beatSlot(now time.Time) time.Time {
	return slotAfter(now, h.beatEvery)
}

// pollEvery is maintain's poll period: the heartbeat slot, or the
// smallest multiple of it that is at least a second, so that every poll
// falls on a slot.
func pollEvery(beatEvery time.Duration) time.Duration {
	return beatEvery * max(1, (time.Second+beatEvery-1)/beatEvery)
}

// slotAfter is the first multiple of every on the wall clock after now.
func slotAfter(now time.Time, every time.Duration) time.Time {
	return now.Truncate(every).Add(every)
}
