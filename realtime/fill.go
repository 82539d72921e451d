package realtime

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// Bounds of gap filling.
const (
	maxPending    = 256 // early events a track keeps; beyond that the Log is read instead
	fillBatch     = 256 // events per Log.After call
	maxEmptyFills = 8   // Log reads that may come back empty before a gap is given up
)

// track follows one channel's sequence on a topic: what has been delivered,
// what is known to exist, and what arrived early. It is guarded by the
// topic's mutex.
type track struct {
	key     int64          // auction id on the admin topic; 0 otherwise
	last    int64          // last seq delivered to watchers; -1 until a baseline is known
	want    int64          // highest seq known to exist
	pending []domain.Event // events after a gap, sorted by seq, at most maxPending
	filling bool           // a fill worker owns this track's gap
	head    bool           // the fill worker must ask the Log for the head (after an outage)
}

// hold keeps an event that cannot be delivered yet. An event that does not
// fit is not lost: want remembers it exists and the fill reads it back.
func (tr *track) hold(ev domain.Event) {
	seq := ev.ChannelSeq()
	tr.want = max(tr.want, seq)
	if tr.last >= 0 && seq <= tr.last {
		return
	}
	i := sort.Search(len(tr.pending), func(i int) bool { return tr.pending[i].ChannelSeq() >= seq })
	if i < len(tr.pending) && tr.pending[i].ChannelSeq() == seq || len(tr.pending) >= maxPending {
		return
	}
	tr.pending = slices.Insert(tr.pending, i, ev)
}

// drain delivers the pending events that now follow tr.last without a gap
// and forgets those already delivered. The caller holds t.mu.
func (t *topic) drain(tr *track) {
	n := 0
	for ; n < len(tr.pending); n++ {
		seq := tr.pending[n].ChannelSeq()
		if seq <= tr.last {
			continue
		}
		if seq != tr.last+1 {
			break
		}
		t.deliver(tr, &tr.pending[n])
	}
	k := copy(tr.pending, tr.pending[n:])
	clear(tr.pending[k:])
	tr.pending = tr.pending[:k]
	if k == 0 {
		tr.pending = nil
	}
}

// setBaseline gives a track with no baseline its first position, read from
// the Log by the first joiner; held events after it are delivered or filled.
func (t *topic) setBaseline(tr *track, seq int64) {
	tr.last = seq
	t.drain(tr)
	if tr.want > tr.last || len(tr.pending) > 0 {
		t.startFill(tr)
	}
}

// startFill hands the track's gap to a fill worker, once. The caller holds t.mu.
func (t *topic) startFill(tr *track) {
	if tr.filling {
		return
	}
	tr.filling = true
	t.h.fills.push(fillReq{t: t, key: tr.key})
}

// catchUp makes the track ask the Log for its head and deliver whatever it
// missed, for when NATS may have lost messages silently (an outage, a full
// subscription channel). The caller holds t.mu.
func (t *topic) catchUp() {
	if t.multi != nil {
		for _, tr := range t.multi {
			if tr.last >= 0 {
				tr.head = true
				t.startFill(tr)
			}
		}
		return
	}
	if t.tr.last >= 0 {
		t.tr.head = true
		t.startFill(&t.tr)
	}
}

// fillReq names a track that has a gap.
type fillReq struct {
	t   *topic
	key int64
}

// fillQueue is an unbounded queue of fill requests: a topic pushes under its
// lock, so pushing must never block. Each track is queued at most once at a
// time (track.filling), so the queue is bounded by the number of tracks.
type fillQueue struct {
	mu     sync.Mutex
	q      []fillReq
	notify chan struct{}
}

func (q *fillQueue) push(r fillReq) {
	q.mu.Lock()
	q.q = append(q.q, r)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *fillQueue) pop() (fillReq, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.q) == 0 {
		return fillReq{}, false
	}
	r := q.q[0]
	q.q[0] = fillReq{}
	q.q = q.q[1:]
	if len(q.q) > 0 {
		// Wake another worker for the rest.
		select {
		case q.notify <- struct{}{}:
		default:
		}
	}
	if len(q.q) == 0 {
		q.q = nil
	}
	return r, true
}

// fillWorker runs fills until stop is closed. A few workers bound the load
// gap filling puts on the database, however many topics have gaps.
func (h *Hub) fillWorker(stop <-chan struct{}) {
	for {
		if r, ok := h.fills.pop(); ok {
			h.fill(r.t, r.key)
			continue
		}
		select {
		case <-stop:
			return
		case <-h.fills.notify:
		}
	}
}

// fill reads a track's missing events from the Log and delivers them, with
// any held live events, in order. Watchers see the gap closed as if NATS had
// lost nothing. If the Log no longer has the events (retention), auction
// watchers get a fresh snapshot with reset:true instead.
func (h *Hub) fill(t *topic, key int64) {
	ch := t.ch
	if t.all {
		ch = domain.AuctionChannel(key)
	}
	backoff := 20 * time.Millisecond
	empty := 0
	for {
		t.mu.Lock()
		tr := t.trackFor(key, false)
		if t.dead || tr == nil {
			t.mu.Unlock()
			return
		}
		t.drain(tr)
		from, askHead := tr.last, tr.head
		tr.head = false
		if !askHead && tr.want <= from && len(tr.pending) == 0 {
			tr.filling = false
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()

		if askHead {
			head, err := h.logHead(ch)
			t.mu.Lock()
			if tr := t.trackFor(key, false); tr != nil {
				if err != nil {
					tr.head = true
				} else {
					tr.want = max(tr.want, head)
				}
			}
			t.mu.Unlock()
			if err != nil && !h.pause(&backoff, "head", ch, err) {
				return
			}
			continue
		}

		evs, err := h.logAfter(ch, from, fillBatch)
		if err != nil {
			if !h.pause(&backoff, "after", ch, err) {
				return
			}
			continue
		}
		trimmed := len(evs) > 0 && evs[0].ChannelSeq() > from+1
		var reset *domain.Event
		if trimmed && ch.Kind == domain.ChannelAuction {
			reset, err = h.resetSnapshot(ch.ID)
			if err != nil {
				if !h.pause(&backoff, "snapshot", ch, err) {
					return
				}
				continue
			}
		}

		t.mu.Lock()
		tr = t.trackFor(key, false)
		if t.dead || tr == nil {
			t.mu.Unlock()
			return
		}
		if tr.last != from {
			t.mu.Unlock()
			continue
		}
		switch {
		case len(evs) == 0:
			empty++
			if empty < maxEmptyFills {
				t.mu.Unlock()
				if !h.pause(&backoff, "", ch, nil) {
					return
				}
				continue
			}
			// The Log keeps saying there is nothing after from, yet NATS
			// delivered later events: give up on the gap rather than stall
			// the channel forever.
			h.m.gapsSkipped.Inc()
			h.logger.Warn("realtime: gap not in the log; skipping", "channel", ch.Subject(), "after", from, "want", tr.want)
			if len(tr.pending) > 0 {
				tr.last = tr.pending[0].ChannelSeq() - 1
			} else {
				tr.want = tr.last
			}
		case reset != nil && reset.Seq > tr.last:
			// Watchers cannot be told what they missed: they get the
			// auction's current state, and the track moves on from it.
			h.m.resets.Inc()
			t.deliver(tr, reset)
		default:
			if trimmed {
				tr.last = evs[0].ChannelSeq() - 1
			}
			h.m.gapFills.Inc()
			for i := range evs {
				if evs[i].ChannelSeq() == tr.last+1 {
					t.deliver(tr, &evs[i])
				}
			}
		}
		if len(evs) > 0 {
			empty = 0
			backoff = 20 * time.Millisecond
		}
		t.mu.Unlock()
	}
}

// resetSnapshot reads an auction's state for a client (or topic) whose
// position is older than the retained log.
func (h *Hub) resetSnapshot(id int64) (*domain.Event, error) {
	// Through the batcher: watchers reconnecting with ids past the
	// retention all need one, at the same time.
	snaps, err := h.snaps.get([]int64{id})
	if err != nil {
		return nil, err
	}
	if ev, ok := snaps[id]; ok {
		ev.Type = domain.EventSnapshot
		ev.Reset = true
		return &ev, nil
	}
	return nil, domain.ErrAuctionNotFound
}

// pause waits before retrying a failed Log read, doubling the wait up to a
// second. It reports false once the hub is stopping.
func (h *Hub) pause(backoff *time.Duration, op string, ch domain.Channel, err error) bool {
	if err != nil {
		h.m.logErrors.Inc()
		h.logger.Warn("realtime: log read failed", "op", op, "channel", ch.Subject(), "err", err)
	}
	select {
	case <-h.ctx.Done():
		return false
	case <-time.After(*backoff):
	}
	*backoff = min(*backoff*2, time.Second)
	return true
}

// catchUpAll makes every topic check the Log for events NATS may have lost.
func (h *Hub) catchUpAll() {
	for _, t := range h.allTopics() {
		t.mu.Lock()
		if !t.dead {
			t.catchUp()
		}
		t.mu.Unlock()
	}
}

// checkDropped catches up topics whose subscription dropped messages
// (nats.go drops when a subscription's channel is full).
func (h *Hub) checkDropped() {
	for _, t := range h.allTopics() {
		d, err := t.sub.Dropped()
		if err != nil {
			continue
		}
		t.mu.Lock()
		if d != t.dropped && !t.dead {
			t.dropped = d
			t.catchUp()
		}
		t.mu.Unlock()
	}
}

// allTopics lists the live topics.
func (h *Hub) allTopics() []*topic {
	var out []*topic
	for _, s := range h.shards {
		s.mu.RLock()
		for _, t := range s.topics {
			out = append(out, t)
		}
		s.mu.RUnlock()
	}
	return out
}

// Log calls bounded by a timeout, so that a hung database cannot pin a
// worker or a joining connection forever.
const logTimeout = 5 * time.Second

func (h *Hub) logAfter(ch domain.Channel, after int64, limit int) ([]domain.Event, error) {
	ctx, cancel := context.WithTimeout(h.ctx, logTimeout)
	defer cancel()
	return h.log.After(ctx, ch, after, limit)
}

func (h *Hub) logHead(ch domain.Channel) (int64, error) {
	ctx, cancel := context.WithTimeout(h.ctx, logTimeout)
	defer cancel()
	return h.log.Head(ctx, ch)
}

func (h *Hub) logSnapshots(ids []int64) ([]domain.Event, error) {
	ctx, cancel := context.WithTimeout(h.ctx, logTimeout)
	defer cancel()
	return h.log.Snapshots(ctx, ids)
}

func (h *Hub) logRunning() ([]domain.Event, error) {
	ctx, cancel := context.WithTimeout(h.ctx, logTimeout)
	defer cancel()
	return h.log.Running(ctx)
}
