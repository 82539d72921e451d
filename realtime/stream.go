package realtime

import (
	"errors"
	"net"
	"slices"

	"github.com/gavel-auctions/gavel/domain"
)

// errClosed ends a stream's setup because the connection was closed meanwhile.
var errClosed = errors.New("realtime: stream closed during setup")

// channelsFor lists the channels a stream carries, in cursor order:
// auctions as given (deduplicated), then sales, then the user's own channel.
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
	auctions := len(out)
	for _, id := range spec.SaleIDs {
		if id <= 0 {
			return nil, domain.Invalid("sale", "Sale ids must be positive numbers.")
		}
		if ch := domain.SaleChannel(id); !slices.Contains(out[auctions:], ch) {
			out = append(out, ch)
		}
	}
	if len(out)-auctions > maxSales {
		return nil, domain.Invalid("sale", "Too many sales in one stream.")
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
	defer h.mem.setupDone()
	w := h.writers[h.nextW.Add(1)%uint32(len(h.writers))]
	c := newConn(nc, w, spec.UserID)
	c.all, c.holding, c.session = spec.All, spec.All, spec.Session
	if spec.SaleWatchers && len(spec.SaleIDs) > 0 {
		c.watchCounts = true
		h.saleCounters.Add(1)
		h.kickStats()
	}
	// The response head goes first, before any topic or writer can see c:
	// a heartbeat or event queued ahead of it would not be HTTP.
	// The set-up goroutine holds c.sched until the stream is live (c.setup):
	// no topic wakes the writer for c meanwhile, and setupFlush writes the
	// head and whatever sync queued (snapshot, resume frames, live events)
	// in one send(2) from here. The queue is sized for that: a head and a
	// few frames, without growing it frame by frame.
	c.push(item{data: h.preamble()})
	c.sched, c.setup = true, true
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
		} else if seq, ok := cur.sale(ch.ID); ok && ch.Kind == domain.ChannelSale {
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
			c.closeSocket()
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
		c.handOver()
		h.closeConn(c)
		return
	}
	if c.session != "" && !h.sessionShard(c.session).register(c, h.cfg.Now()) {
		// Logged out while this stream was being set up.
		c.handOver()
		h.closeConn(c)
		return
	}
	if h.closing.Load() {
		c.setupFlush(h.onDelivered)
		h.closeConn(c)
		return
	}
	if err := h.sync(c, gen); err != nil {
		if !errors.Is(err, errClosed) {
			h.logger.Warn("realtime: stream setup failed", "err", err)
		}
		// The head (with its retry:) still goes out before the close, so
		// that an EventSource retries after the jittered delay it names.
		c.setupFlush(h.onDelivered)
		h.closeConn(c)
		return
	}
	c.setupFlush(h.onDelivered)
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
		case ch.Kind == domain.ChannelSale:
			var head int64
			if head, err = h.sendSaleSnapshot(c, i, false); err == nil {
				err = h.finish(c, i, head, atHead)
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
