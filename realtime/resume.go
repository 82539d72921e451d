package realtime

import (
	"errors"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

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
		if evs[0].SeqIn(ch.Kind) > p+1 {
			// Trimmed by retention.
			if ch.Kind == domain.ChannelAuction || ch.Kind == domain.ChannelSale {
				if p, err = h.restart(c, i); err != nil {
					return err
				}
				tp = atHead
				continue
			}
			p = evs[0].SeqIn(ch.Kind) - 1
		}
		for j := range evs {
			if evs[j].SeqIn(ch.Kind) != p+1 {
				continue
			}
			f, err := encodeEventIn(evs[j], ch.Kind, t.token(p+1), h.cfg.Now())
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
	if ev := t.lastEv; ev != nil && tr.seqOf(ev) == tr.last {
		if f := t.resumeFrame(ev, tr); f != nil {
			frames[len(frames)-1] = f
		}
	}
	c.mu.Lock()
	var wake, overflow bool
	for _, f := range frames {
		wk, of := c.pushFrame(i, f, t.h.cfg.QueueLen+auctionRing, true)
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

// restart gives up on channel i's position: an auction or a sale gets a
// fresh snapshot with reset:true, a user channel jumps to its head. It
// returns the new position.
func (h *Hub) restart(c *conn, i int) (int64, error) {
	ch := c.chans[i].t.ch
	if ch.Kind == domain.ChannelSale {
		return h.sendSaleSnapshot(c, i, true)
	}
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
			wake, _ := c.pushFrame(i, f, h.cfg.QueueLen, true)
			c.mu.Unlock()
			if wake {
				c.w.schedule(c)
			}
			return nil
		}
		// A replay longer than the queue: the writer drains it from here
		// on, paced by the client, instead of setupFlush at the end.
		handed := c.setup
		c.setup = false
		c.mu.Unlock()
		if handed {
			c.w.schedule(c)
		}
		if time.Now().After(deadline) {
			h.slowConsumer(c)
			return errClosed
		}
		time.Sleep(2 * time.Millisecond)
	}
}
