package realtime

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gavel-auctions/gavel/domain"
)

// allChannel keys the admin topic, which carries every auction's events
// through one wildcard subscription.
var allChannel = domain.Channel{Kind: "all"}

// Ring sizes: how many recent encoded events a topic keeps so that a client
// resuming after a short break is served without touching the Log.
const (
	auctionRing = 128
	userRing    = 16
	// A sale's log carries every lot's bids: a longer ring serves the
	// same break.
	saleRing = 512
)

// topic is one channel on this node: its NATS subscriptions, the
// position it has delivered up to, a ring of recent frames, and its local
// watchers. It exists while it has watchers.
type topic struct {
	h     *Hub
	shard *shard
	ch    domain.Channel
	all   bool          // the admin topic; fixed at creation, so read without mu
	ready chan struct{} // closed once the subscription is known to the server
	refs  int           // under shard.mu
	// subs: one subscription, or two for an auction (its own subject and
	// its sale's) or the admin topic.
	subs  []*nats.Subscription
	count atomic.Int32 // len(watchers), readable without the lock for stats

	// mu orders everything delivered on the channel: events are encoded,
	// remembered and fanned out under it, so every watcher sees them in seq
	// order. It is never held across a Log call or a socket write.
	mu       sync.Mutex
	dead     bool
	watchers []watcher
	tr       track
	multi    map[int64]*track // admin topic: one track per auction
	ring     []*frame         // ring[seq%len]; nil until the first event
	lastEv   *domain.Event    // the event of the newest ring frame
	resumed  resumeFrame      // lastEv re-encoded for resuming streams (resumeframe.go)
	batch    [][]*conn        // per writer: connections to wake after a fan-out
	dropped  int              // sub.Dropped() when last checked
}

// watcher is one connection's membership: c.chans[i] describes it.
type watcher struct {
	c *conn
	i int32
}

// acquire returns the channel's topic with a reference taken, creating it
// and its NATS subscription for the first local watcher.
func (h *Hub) acquire(ch domain.Channel) (*topic, error) {
	s := h.shardFor(ch)
	s.mu.Lock()
	t := s.topics[ch]
	created := false
	if t == nil {
		t = &topic{h: h, shard: s, ch: ch, all: ch == allChannel, ready: make(chan struct{}), batch: make([][]*conn, len(h.writers))}
		t.tr.last, t.tr.kind = -1, ch.Kind
		if ch == allChannel {
			t.multi = make(map[int64]*track)
		}
		if err := t.subscribe(); err != nil {
			s.mu.Unlock()
			return nil, err
		}
		s.topics[ch] = t
		created = true
		h.topics.Add(1)
	}
	t.refs++
	s.mu.Unlock()
	if created && t.all {
		h.kickStats()
	}

	if created {
		// A SUB is sent asynchronously. Make sure the server knows about it
		// before anyone reads the Log, or an event published in between
		// would be seen by neither. When NATS is down the reconnect catch-up
		// covers this instead.
		if h.nc.IsConnected() {
			_ = h.nc.FlushTimeout(time.Second)
		}
		close(t.ready)
	} else {
		select {
		case <-t.ready:
		case <-time.After(2 * time.Second):
		}
	}
	return t, nil
}

// release drops a reference; the last one removes the topic and its NATS
// subscription, so a node only listens to channels someone here watches.
func (h *Hub) release(t *topic) {
	s := t.shard
	s.mu.Lock()
	t.refs--
	last := t.refs == 0
	if last {
		delete(s.topics, t.ch)
	}
	s.mu.Unlock()
	if !last {
		return
	}
	t.mu.Lock()
	t.dead = true
	t.ring, t.multi, t.tr.pending, t.lastEv = nil, nil, nil, nil
	t.resumed = resumeFrame{}
	t.mu.Unlock()
	t.unsubscribe()
	h.topics.Add(-1)
}

// subjects are the NATS subjects a channel's events are published on.
func subjects(ch domain.Channel) []string {
	switch {
	case ch == allChannel:
		return []string{domain.AuctionSubjectsAll, domain.LotSubjectsAll}
	case ch.Kind == domain.ChannelAuction:
		return domain.AuctionSubjects(ch.ID)
	case ch.Kind == domain.ChannelSale:
		return []string{domain.SaleSubjects(ch.ID)}
	}
	return []string{ch.Subject()}
}

// subscribe subscribes the topic to its channel's subjects. The admin
// topic carries every auction, so it gets its own delivery goroutine
// (inside nats.go) instead of a shard's bounded channel.
func (t *topic) subscribe() error {
	for _, subj := range subjects(t.ch) {
		var sub *nats.Subscription
		var err error
		if t.all {
			sub, err = t.h.nc.Subscribe(subj, t.onMsg)
		} else {
			sub, err = t.h.nc.ChanSubscribe(subj, t.shard.msgs)
		}
		if err != nil {
			t.unsubscribe()
			return fmt.Errorf("subscribe %s: %w", subj, err)
		}
		t.subs = append(t.subs, sub)
	}
	return nil
}

func (t *topic) unsubscribe() {
	for _, sub := range t.subs {
		_ = sub.Unsubscribe()
	}
}

// onMsg receives the admin topic's messages.
func (t *topic) onMsg(m *nats.Msg) {
	ev, ok := decodeEvent(m)
	if !ok || ev.Type.Personal() {
		t.h.m.badMessages.Inc()
		return
	}
	t.onEvent(&ev)
}

// onEvent takes a live event from NATS: duplicates are dropped, the next
// event is delivered, and anything after a gap waits for the Log to fill it.
func (t *topic) onEvent(ev *domain.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead {
		return
	}
	tr := t.trackFor(ev.AuctionID, true)
	seq := tr.seqOf(ev)
	if tr.last < 0 && t.all {
		// The admin topic takes the first event it sees of an auction
		// as its baseline: admins get snapshots, not resumes.
		tr.last = seq - 1
	}
	switch {
	case tr.last < 0:
		// No baseline yet: the first joiner's Log read sets it.
		tr.hold(*ev)
	case seq <= tr.last:
		t.h.m.duplicates.Inc()
	case seq == tr.last+1 && !tr.filling:
		t.deliver(tr, ev)
	default:
		tr.hold(*ev)
		t.startFill(tr)
	}
}

// trackFor returns the track an event of auction id belongs to.
func (t *topic) trackFor(id int64, create bool) *track {
	if t.multi == nil {
		return &t.tr
	}
	tr := t.multi[id]
	if tr == nil && create {
		tr = &track{key: id, last: -1, kind: domain.ChannelAuction}
		t.multi[id] = tr
	}
	return tr
}

// token is the id of a frame of this topic as seen by a single-channel stream.
func (t *topic) token(seq int64) string {
	// t.all, not t.multi: callers may not hold t.mu, and release clears
	// t.multi under it when the last watcher leaves.
	if t.all {
		return ""
	}
	return string(appendToken(nil, t.ch, seq))
}

// deliver encodes the next event once and fans it out. The caller holds t.mu
// and has checked that ev is tr.last+1 (or a reset snapshot).
func (t *topic) deliver(tr *track, ev *domain.Event) {
	seq := tr.seqOf(ev)
	tr.last = seq
	f, err := encodeEventIn(*ev, tr.kind, t.token(seq), t.h.cfg.Now())
	if err != nil {
		t.h.logger.Error("realtime: drop unencodable event", "channel", t.ch.Subject(), "seq", seq, "err", err)
		return
	}
	if ev.Type != domain.EventSnapshot && ev.Type != domain.EventSaleSnapshot && !t.all {
		t.remember(f)
		last := *ev
		t.lastEv = &last
	}
	t.fanout(f)
	if t.all && (ev.Type == domain.EventClosed || ev.Type == domain.EventCancelled) &&
		!tr.filling && len(tr.pending) == 0 {
		// A finished auction sends nothing more; keep the admin topic's
		// map to the auctions still running.
		delete(t.multi, tr.key)
	}
}

// remember keeps f in the ring of recent frames.
func (t *topic) remember(f *frame) {
	if t.all {
		return
	}
	if t.ring == nil {
		n := auctionRing
		switch t.ch.Kind {
		case domain.ChannelUser:
			n = userRing
		case domain.ChannelSale:
			n = saleRing
		}
		t.ring = make([]*frame, n)
	}
	t.ring[f.seq%int64(len(t.ring))] = f
}

// recent returns the ring's frames for seqs from+1..to, or nil when the ring
// does not hold all of them.
func (t *topic) recent(from, to int64) []*frame {
	if to-from > int64(len(t.ring)) {
		return nil
	}
	out := make([]*frame, 0, to-from)
	for s := from + 1; s <= to; s++ {
		f := t.ring[s%int64(len(t.ring))]
		if f == nil || f.seq != s {
			return nil
		}
		out = append(out, f)
	}
	return out
}

// fanout offers f to every watcher and wakes their writers once per writer.
// The caller holds t.mu.
func (t *topic) fanout(f *frame) {
	h := t.h
	for _, w := range t.watchers {
		c := w.c
		c.mu.Lock()
		wake, overflow := c.offer(int(w.i), f, h.cfg.QueueLen)
		c.mu.Unlock()
		if overflow {
			h.slowConsumer(c)
		}
		if wake {
			t.batch[c.w.idx] = append(t.batch[c.w.idx], c)
		}
	}
	for i, list := range t.batch {
		if len(list) > 0 {
			h.writers[i].schedule(list...)
			clear(list)
			t.batch[i] = list[:0]
		}
	}
}

// attach adds c as a watcher; it receives nothing until its position is
// settled (see Hub.finish).
func (t *topic) attach(c *conn, i int) {
	t.mu.Lock()
	c.chans[i].widx = int32(len(t.watchers))
	t.watchers = append(t.watchers, watcher{c: c, i: int32(i)})
	t.mu.Unlock()
	t.count.Add(1)
	t.h.watchers.Add(1)
}

// detach removes c's watcher in O(1) by moving the last watcher into its slot.
func (t *topic) detach(c *conn, i int) {
	t.mu.Lock()
	k := int(c.chans[i].widx)
	if k < 0 || k >= len(t.watchers) || t.watchers[k].c != c {
		t.mu.Unlock()
		return
	}
	last := len(t.watchers) - 1
	if k != last {
		moved := t.watchers[last]
		t.watchers[k] = moved
		moved.c.chans[moved.i].widx = int32(k)
	}
	t.watchers[last] = watcher{}
	t.watchers = t.watchers[:last]
	c.chans[i].widx = -1
	t.mu.Unlock()
	t.count.Add(-1)
	t.h.watchers.Add(-1)
}
