package realtime

import (
	"errors"
	"net"
	"slices"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// errClosed ends a stream's setup because the connection was closed meanwhile.
var errClosed = errors.New("realtime: stream closed during setup")

// channelsFor lists the channels a stream carries, in cursor order:
// auctions as given (deduplicated), then the user's own channel.
func channelsFor(spec domain.StreamSpec) ([]domain.Channel, error) {
	if spec.All {
		if !spec.Admin {
			return nil, domain.ErrNotAdmin
		}
		return []domain.Channel{allChannel}, nil
	}
	var out []domain.Channel
	for _, id := range spec.AuctionIDs {
		if id <= 0 {
			return nil, domain.Invalid("ids", "Auction ids must be positive numbers.")
		}
		if ch := domain.AuctionChannel(id); !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	if len(out) > maxChannels {
		return nil, domain.Invalid("ids", "Too many auctions in one stream.")
	}
	if spec.Personal {
		if spec.UserID <= 0 {
			return nil, domain.ErrUnauthorized
		}
		out = append(out, domain.UserChannel(spec.UserID))
	}
	if len(out) == 0 {
		return nil, domain.Invalid("ids", "Nothing to stream.")
	}
	return out, nil
}

// serve registers a hijacked connection, writes its preamble, and brings
// every channel up to date (snapshot or replay) before it goes live. It
// runs on the caller's goroutine (fasthttp's hijack goroutine) and returns
// once the stream is live; after that the connection costs no goroutine.
func (h *Hub) serve(spec domain.StreamSpec, chans []domain.Channel, nc net.Conn) {
	w := h.writers[h.nextW.Add(1)%uint32(len(h.writers))]
	c := newConn(nc, w, spec.UserID)
	c.all, c.holding = spec.All, spec.All
	// The response head goes first, before any topic or writer can see c:
	// a heartbeat or event queued ahead of it would not be HTTP.
	c.q = append(c.q, item{data: h.preamble})
	c.sched = true
	c.chans = make([]chanPos, len(chans))
	cur, resumed := parseCursor(spec.LastEventID)
	for i, ch := range chans {
		c.chans[i].widx = -1
		if !resumed {
			continue
		}
		if ch.Kind == domain.ChannelUser && cur.hasUser {
			c.chans[i].seq, c.chans[i].known = cur.user, true
		} else if seq, ok := cur.auction(ch.ID); ok && ch.Kind == domain.ChannelAuction {
			c.chans[i].seq, c.chans[i].known = seq, true
		}
	}

	// Attach to every topic before reading the Log: from here on, each
	// topic records what it delivers (in its ring and position), so nothing
	// published between our Log read and going live can fall between them.
	gen := h.gen.Load()
	for i, ch := range chans {
		t, err := h.acquire(ch)
		if err != nil {
			h.logger.Warn("realtime: cannot subscribe", "channel", ch.Subject(), "err", err)
			h.detach(c)
			_ = nc.Close()
			return
		}
		c.chans[i].t = t
		t.attach(c, i)
	}
	if !w.add(c) {
		w.release(c)
		return
	}
	if c.user != 0 && !h.userShard(c.user).register(c, h.cfg.Now()) {
		// Suspended while this stream was being set up.
		w.schedule(c)
		h.closeConn(c)
		return
	}
	w.schedule(c)
	if h.closing.Load() {
		h.closeConn(c)
		return
	}
	if err := h.sync(c, gen); err != nil {
		if !errors.Is(err, errClosed) {
			h.logger.Warn("realtime: stream setup failed", "err", err)
		}
		h.closeConn(c)
	}
}

// sync brings each channel of c to the present and makes it live.
func (h *Hub) sync(c *conn, gen uint64) error {
	if c.all {
		return h.syncAll(c)
	}
	// Fresh auctions get their snapshots in one Log read, shared with the
	// streams setting up at the same time.
	var fresh []int64
	for i := range c.chans {
		if ch := c.chans[i].t.ch; ch.Kind == domain.ChannelAuction && !c.chans[i].known {
			fresh = append(fresh, ch.ID)
		}
	}
	var snaps map[int64]domain.Event
	if len(fresh) > 0 {
		var err error
		if snaps, err = h.snaps.get(fresh); err != nil {
			return err
		}
	}
	for i := range c.chans {
		ch := c.chans[i].t.ch
		c.mu.Lock()
		p, known := c.chans[i].seq, c.chans[i].known
		c.mu.Unlock()
		var err error
		switch {
		case known:
			err = h.finish(c, i, p, fromClient)
		case ch.Kind == domain.ChannelAuction:
			snap, ok := snaps[ch.ID]
			if !ok {
				// Unknown auction: nothing to show until its first event.
				err = h.finish(c, i, 0, atHead)
				break
			}
			if err = h.sendSnapshot(c, i, snap, false); err == nil {
				err = h.finish(c, i, snap.Seq, atHead)
			}
		default:
			var head int64
			if head, err = h.logHead(ch); err == nil {
				h.setPos(c, i, head)
				err = h.finish(c, i, head, atHead)
			}
		}
		if err != nil {
			return err
		}
	}
	if h.gen.Load() != gen {
		// NATS reconnected while we joined: the topics' catch-up may have
		// run before our baseline existed.
		for i := range c.chans {
			t := c.chans[i].t
			t.mu.Lock()
			t.catchUp()
			t.mu.Unlock()
		}
	}
	return nil
}

// finish outcomes.
type finishState uint8

const (
	finDone   finishState = iota // live
	finClosed                    // the connection or topic went away
	finVerify                    // p is ahead of the topic: check it against the Log
	finBehind                    // the topic is ahead of p beyond its ring, or has no baseline: read the Log
)

// trust says what is known about a position.
type trust uint8

const (
	fromClient trust = iota // a cursor: could be anything
	inLog                   // p <= the Log's head
	atHead                  // p was the Log's head at a read made after the topic was attached
)

// finish delivers channel i of c from position p up to the topic's
// position and makes it live, reading the Log for whatever the topic's ring
// does not hold.
func (h *Hub) finish(c *conn, i int, p int64, tp trust) error {
	t := c.chans[i].t
	ch := t.ch
	empty := 0
	for {
		t.mu.Lock()
		st := t.tryFinish(c, i, p, tp)
		t.mu.Unlock()
		switch st {
		case finDone:
			return nil
		case finClosed:
			return errClosed
		case finVerify:
			var err error
			if p, tp, err = h.verify(c, i, p); err != nil {
				return err
			}
			continue
		}

		evs, err := h.logAfter(ch, p, fillBatch)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			if tp == atHead {
				// The topic has events the Log does not show yet (a lagging
				// replica?); wait a little, then let the client retry.
				if empty++; empty >= maxEmptyFills {
					return errors.New("realtime: log is behind the topic on " + ch.Subject())
				}
				time.Sleep(20 * time.Millisecond)
				continue
			}
			if p, tp, err = h.verify(c, i, p); err != nil {
				return err
			}
			continue
		}
		if evs[0].ChannelSeq() > p+1 {
			// Trimmed by retention.
			if ch.Kind == domain.ChannelAuction {
				if p, err = h.restart(c, i); err != nil {
					return err
				}
				tp = atHead
				continue
			}
			p = evs[0].ChannelSeq() - 1
		}
		for j := range evs {
			if evs[j].ChannelSeq() != p+1 {
				continue
			}
			f, err := encodeEvent(evs[j], t.token(p+1), h.cfg.Now())
			if err != nil {
				return err
			}
			if err := h.pushWait(c, i, f); err != nil {
				return err
			}
			p++
		}
		tp = inLog
		if len(evs) < fillBatch {
			// The read returned everything committed: p was the head.
			tp = atHead
		}
	}
}

// verify checks a client's position against the Log's head. A cursor from
// the future (another database, an edited id) cannot be trusted: the
// channel restarts from a snapshot.
func (h *Hub) verify(c *conn, i int, p int64) (int64, trust, error) {
	head, err := h.logHead(c.chans[i].t.ch)
	switch {
	case err != nil:
		return 0, 0, err
	case p > head:
		p, err := h.restart(c, i)
		return p, atHead, err
	case p == head:
		return p, atHead, nil
	}
	return p, inLog, nil
}

// tryFinish makes channel i of c live if the topic can bring it from p to
// the present by itself. The caller holds t.mu; c.mu is taken inside, in
// the usual topic → conn order.
func (t *topic) tryFinish(c *conn, i int, p int64, tp trust) finishState {
	c.mu.Lock()
	open := c.state == stateOpen
	c.mu.Unlock()
	if !open || t.dead {
		return finClosed
	}
	tr := &t.tr
	if tr.last < 0 {
		// No baseline yet. Only a position that was the Log's head after
		// we subscribed can be one: every later event reaches the topic.
		if tp != atHead {
			return finBehind
		}
		c.mu.Lock()
		c.goLive(i, p)
		c.mu.Unlock()
		t.setBaseline(tr, p)
		return finDone
	}
	if p >= tr.last {
		if p > tr.last {
			if tp == fromClient {
				return finVerify
			}
			// The Log is ahead of this topic: it lost messages it has not
			// noticed yet. Fill; c skips what it already has.
			tr.want = max(tr.want, p)
			t.startFill(tr)
		}
		c.mu.Lock()
		c.goLive(i, p)
		c.mu.Unlock()
		return finDone
	}
	frames := t.recent(p, tr.last)
	if frames == nil {
		return finBehind
	}
	// Ring frames carry the server_time of their first sending. A client
	// sets its clock offset (for countdowns) from the newest event it has,
	// so that one is re-encoded with the time of now.
	if ev := t.lastEv; ev != nil && ev.ChannelSeq() == tr.last {
		if f, err := encodeEvent(*ev, t.token(tr.last), t.h.cfg.Now()); err == nil {
			frames[len(frames)-1] = f
		}
	}
	c.mu.Lock()
	var wake, overflow bool
	for _, f := range frames {
		wk, of := c.pushFrame(i, f, t.h.cfg.QueueLen+auctionRing)
		wake, overflow = wake || wk, overflow || of
	}
	c.goLive(i, tr.last)
	c.mu.Unlock()
	if overflow {
		t.h.slowConsumer(c)
	}
	if wake {
		c.w.schedule(c)
	}
	return finDone
}

// goLive marks channel i live at seq. The caller holds c.mu.
func (c *conn) goLive(i int, seq int64) {
	p := &c.chans[i]
	p.seq, p.known, p.live = seq, true, true
}

// setPos sets channel i's position without sending anything.
func (h *Hub) setPos(c *conn, i int, seq int64) {
	c.mu.Lock()
	c.chans[i].seq, c.chans[i].known = seq, true
	c.mu.Unlock()
}

// restart gives up on channel i's position: an auction gets a fresh
// snapshot with reset:true, a user channel jumps to its head. It returns
// the new position.
func (h *Hub) restart(c *conn, i int) (int64, error) {
	ch := c.chans[i].t.ch
	if ch.Kind != domain.ChannelAuction {
		head, err := h.logHead(ch)
		if err != nil {
			return 0, err
		}
		h.setPos(c, i, head)
		return head, nil
	}
	snap, err := h.resetSnapshot(ch.ID)
	if err != nil {
		return 0, err
	}
	h.m.resets.Inc()
	if err := h.sendSnapshot(c, i, *snap, true); err != nil {
		return 0, err
	}
	return snap.Seq, nil
}

// sendSnapshot queues an auction's state for one connection.
func (h *Hub) sendSnapshot(c *conn, i int, ev domain.Event, reset bool) error {
	ev.Type = domain.EventSnapshot
	ev.Reset = reset
	ev.ID = domain.MakeID(domain.AuctionChannel(ev.AuctionID), ev.Seq)
	f, err := encodeEvent(ev, c.chans[i].t.token(ev.Seq), h.cfg.Now())
	if err != nil {
		return err
	}
	return h.pushWait(c, i, f)
}

// pushWait queues a setup frame (snapshot or replay), waiting for room
// rather than overflowing: a long replay is paced by the client's reading.
// A client that takes nothing for WriteTimeout is a slow consumer.
func (h *Hub) pushWait(c *conn, i int, f *frame) error {
	deadline := time.Now().Add(h.cfg.WriteTimeout)
	for {
		c.mu.Lock()
		if c.state != stateOpen {
			c.mu.Unlock()
			return errClosed
		}
		if len(c.q) < h.cfg.QueueLen {
			wake, _ := c.pushFrame(i, f, h.cfg.QueueLen)
			c.mu.Unlock()
			if wake {
				c.w.schedule(c)
			}
			return nil
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			h.slowConsumer(c)
			return errClosed
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// syncAll sets up an admin stream: a snapshot of every running auction,
// then the events the topic held for it meanwhile, minus those the
// snapshots already cover.
func (h *Hub) syncAll(c *conn) error {
	snaps, err := h.logRunning()
	if err != nil {
		return err
	}
	seen := make(map[int64]int64, len(snaps))
	for _, s := range snaps {
		s.Type = domain.EventSnapshot
		f, err := encodeEvent(s, "", h.cfg.Now())
		if err != nil {
			return err
		}
		if err := h.pushWait(c, 0, f); err != nil {
			return err
		}
		seen[s.AuctionID] = s.Seq
	}
	t := c.chans[0].t
	t.mu.Lock()
	defer t.mu.Unlock()
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return errClosed
	}
	var wake, overflow bool
	for _, it := range c.hold {
		if s, ok := seen[it.f.auction]; ok && it.f.seq <= s {
			continue
		}
		wk, of := c.enqueue(it, h.cfg.QueueLen+holdMax)
		wake, overflow = wake || wk, overflow || of
	}
	c.hold, c.holding = nil, false
	for id, seq := range seen {
		tr := t.trackFor(id, true)
		switch {
		case tr.last < 0:
			tr.last = seq
		case tr.last < seq:
			// The topic is behind the Log for this auction; it will fill,
			// and this stream must skip what its snapshot covers.
			if c.skip == nil {
				c.skip = make(map[int64]int64)
			}
			c.skip[id] = seq
			tr.want = max(tr.want, seq)
			t.startFill(tr)
		}
	}
	c.mu.Unlock()
	if overflow {
		h.slowConsumer(c)
	}
	if wake {
		c.w.schedule(c)
	}
	return nil
}
