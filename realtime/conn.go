package realtime

import (
	"net"
	"sync"
	"syscall"
)

// connState is a connection's lifecycle: open → closing (someone asked the
// writer to release it) → released (socket closed, detached everywhere).
type connState uint8

const (
	stateOpen connState = iota
	stateClosing
	stateReleased
)

// holdMax bounds what an admin stream holds while its snapshots load.
const holdMax = 1024

// burstAllowance is how far past QueueLen a queue may grow while its socket
// still takes data: one gap-fill batch.
const burstAllowance = fillBatch

// chanPos is a connection's membership in one channel.
type chanPos struct {
	t     *topic
	seq   int64 // last seq sent or skipped (under conn.mu)
	known bool  // seq comes from the cursor, a snapshot or an event (under conn.mu)
	live  bool  // the topic delivers to this connection (under conn.mu)
	widx  int32 // slot in t.watchers (under t.mu)
}

// item is one queued write: an optional per-connection id line, then data
// (usually a frame shared with every other watcher).
type item struct {
	f    *frame // nil for bytes that are not an event (preamble, heartbeat)
	id   []byte
	data []byte
	// replay marks a frame sent while the stream sets up or resumes (a
	// snapshot, or an event from the ring or the Log): its age is no
	// delivery lag (Hub.onDelivered).
	replay bool
}

// conn is one hijacked stream. It has no goroutine and no timer: a shared
// writer owns its socket, and topics append to its queue. Keep it small;
// there are tens of thousands.
type conn struct {
	nc   net.Conn
	rc   syscall.RawConn // nil when nc has no file descriptor
	w    *writer
	user int64
	// session is domain.SessionHash of the stream's session token ("" for
	// none); fixed at setup.
	session string
	all     bool      // admin stream: no ids, every auction
	chans   []chanPos // fixed once the connection is set up
	widx    int32     // slot in w.buckets[bucket], or -1; owned by the writer goroutine
	beat    int32     // w's heartbeat bucket; owned by the writer goroutine
	fd      int32     // socket watched by w's departures, or -1; owned by the writer goroutine
	sock    int32     // the socket's descriptor when c owns it (own), or -1; nc is then nil
	free    func()    // counts an owned socket out of the listener once it is closed; or nil

	mu       sync.Mutex
	state    connState
	sched    bool // in the writer's ready list or being flushed, or held by set-up
	setup    bool // the set-up goroutine holds sched: it writes c's first bytes (setupFlush)
	blocked  bool // in the writer's blocked list, waiting for socket space
	holding  bool // admin stream loading snapshots: events go to hold
	off      int32
	inflight int32 // items the writer is writing right now; not to be replaced
	stallAt  int64 // Unix nanos of the last write that left data behind; 0 when drained
	q        []item
	hold     []item
	skip     map[int64]int64 // admin: per auction, seqs already covered by its snapshot

	// watchCounts: the stream gets its sales' watcher counts (a seller's
	// dashboard). Fixed at creation.
	watchCounts bool
}

// newConn wraps a hijacked connection. fasthttp hands over a wrapper whose
// UnsafeConn is the real socket (or the listener's counting wrapper around
// it), which we need for non-blocking writes and peeks. The stream keeps
// that socket, not the wrapper: fasthttp's wrapper still points at the
// request's 4 KiB read buffer after returning it to its pool, so keeping
// the wrapper would keep one such buffer alive for every buffer the pool
// ever handed out, as many as set-ups were once in flight (#18: a burst
// of 18,000 connections left up to 18,000 of them). Streams never read
// through it: a client's bytes after its request are discarded. On Linux
// the stream keeps only the socket's descriptor (own).
func newConn(nc net.Conn, w *writer, user int64) *conn {
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok {
		nc = u.UnsafeConn()
	}
	c := &conn{w: w, user: user, widx: -1, fd: -1, sock: -1}
	if c.own(nc) {
		return c
	}
	c.nc = nc
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.rc = rc
		}
	}
	return c
}

// offer gives the connection a live frame of channel i; it is queued unless
// the connection already has it, is still syncing, or is closing. The caller
// holds c.mu.
func (c *conn) offer(i int, f *frame, limit int) (wake, overflow bool) {
	if c.state != stateOpen {
		return false, false
	}
	if c.all {
		if c.holding {
			if len(c.hold) >= holdMax {
				return false, c.overflow()
			}
			c.hold = append(c.hold, item{f: f, data: f.body})
			return false, false
		}
		if c.skip != nil && f.auction != 0 {
			if s, ok := c.skip[f.auction]; ok {
				if f.seq <= s {
					return false, false
				}
				delete(c.skip, f.auction)
			}
		}
		return c.enqueue(item{f: f, data: f.body}, limit)
	}
	p := &c.chans[i]
	if !p.live || f.seq <= p.seq {
		return false, false
	}
	return c.pushFrame(i, f, limit, false)
}

// pushFrame queues frame f of channel i and advances the channel's
// position. A single-channel stream writes the shared frame with its id; a
// multi-channel stream writes its own id line, naming every channel's
// position after this event. replay marks a setup frame (snapshot or
// catch-up) rather than a live one. The caller holds c.mu.
func (c *conn) pushFrame(i int, f *frame, limit int, replay bool) (wake, overflow bool) {
	p := &c.chans[i]
	p.seq, p.known = f.seq, true
	it := item{f: f, replay: replay}
	switch {
	case c.all:
		it.data = f.body
	case len(c.chans) == 1:
		it.data = f.full
	default:
		it.id = c.idLine()
		it.data = f.body
	}
	return c.enqueue(it, limit)
}

// idLine is the "id:" line of a multi-channel stream: the cursor of every
// channel with a known position.
func (c *conn) idLine() []byte {
	b := make([]byte, 0, 5+22*len(c.chans))
	b = append(b, "id: "...)
	start := len(b)
	for i := range c.chans {
		p := &c.chans[i]
		if !p.known {
			continue
		}
		if len(b) > start {
			b = append(b, ',')
		}
		b = appendToken(b, p.t.ch, p.seq)
	}
	if len(b) == start {
		return nil
	}
	return append(b, '\n')
}

// enqueue appends it to the queue, or replaces the last queued item with it
// when both are price events of the same auction: a price event is the
// auction's whole state, so the older one is worth nothing once a newer one
// is queued behind it. Only the tail is ever replaced, and only if no part
// of it is being written, so nothing is reordered and no id goes backwards.
// A full queue makes the connection a slow consumer. The caller holds c.mu.
func (c *conn) enqueue(it item, limit int) (wake, overflow bool) {
	if c.state != stateOpen {
		return false, false
	}
	// Prices are state, so a slow watcher may skip to the newest one; but
	// only once its socket has pushed back (c.blocked). A healthy client
	// that is merely catching up, as after a resume, gets every seq.
	if n := len(c.q); n > 0 && c.blocked && it.f != nil && it.f.price {
		last := n - 1
		tail := &c.q[last]
		if last >= int(c.inflight) && (last > 0 || c.off == 0) &&
			tail.f != nil && tail.f.price && tail.f.auction == it.f.auction {
			*tail = it
			return false, false
		}
	}
	// The bound applies once the socket has pushed back (c.blocked): a
	// connection whose writer simply has not run yet, during a burst such
	// as a gap fill, gets burstAllowance more before it counts as slow.
	if len(c.q) >= limit && (c.blocked || len(c.q) >= limit+burstAllowance) {
		return false, c.overflow()
	}
	c.push(it)
	if c.sched || c.blocked {
		return false, false
	}
	c.sched = true
	return true, false
}

// overflow marks the connection closing because it cannot keep up; the
// client resumes from its Last-Event-ID. The caller holds c.mu.
func (c *conn) overflow() bool {
	c.state = stateClosing
	c.q, c.hold = nil, nil
	return true
}

// advance drops n written bytes from the head of the queue and returns the
// event frames completed, for counting and lag. The caller holds c.mu.
func (c *conn) advance(n int, done func(*frame, bool)) {
	k := 0
	for ; k < len(c.q) && n > 0; k++ {
		it := &c.q[k]
		rem := len(it.id) + len(it.data) - int(c.off)
		if n < rem {
			c.off += int32(n)
			break
		}
		n -= rem
		c.off = 0
		if it.f != nil {
			done(it.f, it.replay)
		}
	}
	if k == 0 {
		return
	}
	m := copy(c.q, c.q[k:])
	clear(c.q[m:])
	c.q = c.q[:m]
	if m == 0 {
		// An idle connection keeps no backing array: tens of thousands of
		// idle streams would hold 64–512 bytes each between heartbeats
		// (#18.3). The array goes back to a pool instead of to the
		// collector: a sale's 2,000 watchers each took a fresh one for
		// every event, a seventh of what a node allocated while a sale
		// closed, and the collections that paid for it overlapped the
		// bids' commits (#14).
		c.recycleQueue()
	}
}

// queueArray is a queue's backing array while it holds a few items: a
// stream's set-up and an idle stream's next event or two.
type queueArray [setupQueueCap]item

var queueArrays = sync.Pool{New: func() any { return new(queueArray) }}

// push appends it to c's queue, which takes a pooled array if it has
// none. The caller holds c.mu.
func (c *conn) push(it item) {
	if c.q == nil {
		c.q = queueArrays.Get().(*queueArray)[:0]
	}
	c.q = append(c.q, it)
}

// recycleQueue drops c's empty queue and pools its array if it is one of
// queueArray's size; a queue that grew past it is left to the collector.
// Every queue starts at index 0 of its array (advance copies to the front),
// so its capacity is its array's length. The caller holds c.mu.
func (c *conn) recycleQueue() {
	if cap(c.q) == setupQueueCap {
		a := (*queueArray)(c.q[:setupQueueCap])
		clear(a[:])
		queueArrays.Put(a)
	}
	c.q = nil
}
