package realtime

import (
	"slices"
	"time"
)

// heartbeatChunk is how many heartbeat visits a writer makes before it
// looks for queued events again, so a long heartbeat slice delays no event
// by more than a few milliseconds.
const heartbeatChunk = 256

// Heartbeats come in bursts on wall-clock slots rather than a few on every
// tick: on loopback each write also pays for waking its reader, and a
// reader that is already busy with the burst needs no wake-up: a bare test
// server paid 18.7 µs per write in slices every 100 ms and 10.8 µs in
// bursts every 3 s (docs/BENCHMARKS.md).
//
// Each connection belongs to one bucket for its whole life, and bucket k
// is visited on the wall-clock slots k, k+slices, k+2·slices, …: every
// Heartbeat, to the slot, whatever connections come and go. (Slicing one
// list by position instead let a stream drift to a later slice when the
// streams after it left, and fall silent for up to 1.8 Heartbeats.)

// adopt puts a new connection in the least full bucket. Its first
// heartbeat comes within one Heartbeat, like every later one.
func (w *writer) adopt(c *conn) {
	if w.visiting {
		// beatBucket is compacting a bucket: hold c until it is done.
		w.deferred = append(w.deferred, c)
		return
	}
	k := 0
	for i := range w.buckets {
		if len(w.buckets[i]) < len(w.buckets[k]) {
			k = i
		}
	}
	c.beat, c.widx = int32(k), int32(len(w.buckets[k]))
	w.buckets[k] = append(w.buckets[k], c)
}

// heartbeats visits the buckets whose slots have come since the last
// visit: normally one; after a stall (a busy writer, a paused process) the
// ones it missed, late rather than a whole round later.
func (w *writer) heartbeats(now time.Time) {
	n := int64(len(w.buckets))
	cur := now.UnixNano() / int64(w.h.beatEvery)
	from := w.lastSlot + 1
	if w.lastSlot == 0 || cur-from >= n {
		from = cur - n + 1
		if w.lastSlot == 0 {
			from = cur
		}
	}
	for s := from; s <= cur; s++ {
		w.beatBucket(int(s%n), now)
	}
	w.lastSlot = cur
}

// beatBucket sends the heartbeats of one bucket, compacting it as it goes.
func (w *writer) beatBucket(k int, now time.Time) {
	w.visiting = true
	defer w.adoptDeferred()
	b := w.buckets[k]
	j := 0
	for i, c := range b {
		if c == nil {
			continue
		}
		c.widx = int32(j)
		b[j] = c
		j++
		w.heartbeat(c, now)
		if (i+1)%heartbeatChunk == 0 {
			// service may release connections of this bucket: they are
			// already moved to b[:j] or still ahead in b, and release nils
			// them by widx either way.
			w.service(now)
		}
	}
	// A heartbeat or a service call may have released some meanwhile.
	k2 := 0
	for _, c := range b[:j] {
		if c != nil {
			c.widx = int32(k2)
			b[k2] = c
			k2++
		}
	}
	clear(b[k2:])
	b = b[:k2]
	if cap(b) > 64 && k2 < cap(b)/4 {
		b = append([]*conn(nil), b...)
	}
	w.buckets[k] = b
}

// adoptDeferred adopts the connections that arrived during beatBucket.
func (w *writer) adoptDeferred() {
	w.visiting = false
	for i, c := range w.deferred {
		c.mu.Lock()
		released := c.state == stateReleased
		c.mu.Unlock()
		if !released {
			w.adopt(c)
		}
		w.deferred[i] = nil
	}
	w.deferred = w.deferred[:0]
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
	beat := w.h.beatFrame()
	if c.sched || c.blocked {
		c.push(item{data: beat})
		c.mu.Unlock()
		return
	}
	// An idle stream, the common case: the comment goes straight to the
	// socket, not through the queue, whose array a drained stream does not
	// keep. Queuing it made one 64-byte array of garbage per stream per
	// Heartbeat, and an idle node's RSS grows with its garbage until the
	// next collection (#18.3). c.sched keeps the topics from waking the
	// writer meanwhile: what they queue is written after the comment.
	c.sched = true
	c.mu.Unlock()
	n, err := c.write(beat)
	c.mu.Lock()
	if n < len(beat) && err == errWouldBlock && c.state == stateOpen {
		// The rest goes ahead of whatever was queued during the write.
		c.q = slices.Insert(c.q, 0, item{data: beat[n:]})
	}
	if w.wrote(c, n, err, now) {
		w.schedule(c)
	}
}

// beatPlan splits a Heartbeat into slots: one about every fifth of it
// but at most 3 s, so that a departed client is noticed within seconds and
// each slot is one burst of writes. The slots divide the Heartbeat
// exactly, so a connection visited on every slices-th slot hears from us
// every Heartbeat, never later.
func beatPlan(heartbeat time.Duration) (every time.Duration, slices int) {
	every = min(max(heartbeat/5, 5*time.Millisecond), 3*time.Second)
	if heartbeat <= every {
		return every, 1
	}
	slices = int((heartbeat + every - 1) / every)
	return heartbeat / time.Duration(slices), slices
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

// slotAfter is the first multiple of every since the Unix epoch after now:
// the slots heartbeats counts (slot number = Unix nanoseconds / every).
func slotAfter(now time.Time, every time.Duration) time.Time {
	n := now.UnixNano()/int64(every) + 1
	return time.Unix(0, n*int64(every))
}
