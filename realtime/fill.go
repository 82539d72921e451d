package realtime

import (
	"sync"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

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
