package realtime

import "sync"

// setupQueueCap is the queue a stream starts with: its head, a snapshot or
// the resume frames of a short break, and an event or two that arrive
// while it sets up. A longer replay grows it as before.
const setupQueueCap = 4

// setupChunk bounds what setupFlush gathers into one write; the writer
// takes over whatever is left.
const setupChunk = 8 << 10

// setupBufs are setupFlush's gathering buffers. There are at most as many
// in use as set-ups in flight (web's gate: 256 by default).
var setupBufs = sync.Pool{New: func() any { b := make([]byte, 0, setupChunk); return &b }}

// gather copies c's queue from its current offset into buf, whole items
// only past the first, until limit bytes. It returns buf and the number of
// items it began. The caller holds c.mu.
func (c *conn) gather(buf []byte, limit int) ([]byte, int) {
	n := 0
	for i := range c.q {
		it := &c.q[i]
		skip := 0
		if i == 0 {
			skip = int(c.off)
		}
		size := len(it.id) + len(it.data) - skip
		if i > 0 && len(buf)+size > limit {
			break
		}
		if skip < len(it.id) {
			buf = append(buf, it.id[skip:]...)
			buf = append(buf, it.data...)
		} else {
			buf = append(buf, it.data[skip-len(it.id):]...)
		}
		n++
	}
	return buf, n
}

// handOver gives c to its writer before set-up is done with it: the
// writer writes what is queued, and setupFlush will not.
func (c *conn) handOver() {
	c.mu.Lock()
	handed := c.setup
	c.setup = false
	c.mu.Unlock()
	if handed {
		c.w.schedule(c)
	}
}

// setupFlush writes a new stream's first bytes on the set-up goroutine,
// once the stream is live: the response head, its snapshot or resume
// frames and any live event queued meanwhile, in one send(2). Before, the
// head went out through the writer as soon as the stream registered and
// the frames in a second write after sync: two sends and two writer
// wake-ups per set-up, and in a reconnect storm the head of each new
// stream waited behind the writer's fan-out of a price change to every
// other stream. What the socket does not take, or does not fit in one
// chunk, the writer writes as usual. done counts the event frames written.
//
// c.mu is held across the write, so that the writer, which releases (and
// closes) c's socket only after marking it released under c.mu, cannot
// close the descriptor under it. The write does not block.
func (c *conn) setupFlush(done func(*frame, bool)) {
	c.mu.Lock()
	if !c.setup {
		c.mu.Unlock()
		return // handed over to the writer (a long replay)
	}
	c.setup = false
	if c.state != stateOpen {
		c.sched = false
		c.mu.Unlock()
		return
	}
	bp := setupBufs.Get().(*[]byte)
	buf, _ := c.gather((*bp)[:0], setupChunk)
	written, err := c.writeTo(c.sock, buf)
	if cap(buf) <= setupChunk {
		*bp = buf[:0]
		setupBufs.Put(bp)
	}
	c.advance(written, done)
	switch {
	case err != nil && err != errWouldBlock:
		c.state = stateClosing
		c.q = nil
		c.mu.Unlock()
		c.w.requestClose(c)
	case len(c.q) > 0:
		// The socket is full or there was more than a chunk: the writer
		// takes it from here (c.sched stays set; a full socket puts c on
		// its blocked list).
		c.mu.Unlock()
		c.w.schedule(c)
	default:
		c.sched = false
		c.mu.Unlock()
	}
}
