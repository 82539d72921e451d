package realtime

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// SaleLog is the part of the Log that sale streams need. A Log that does
// not implement it serves no sale streams.
type SaleLog interface {
	// SaleSnapshot returns a sale and the snapshot of every published lot,
	// in lot order, read together so that they agree with the sale's log
	// position (Sale.Seq). Unknown sale: domain.ErrSaleNotFound.
	SaleSnapshot(ctx context.Context, saleID int64) (domain.Sale, []domain.Event, error)
}

// A sale stream (domain.StreamSpec.SaleIDs) carries a sale's whole log:
// every lot's public events and the sale's own, by sale position
// (Event.SaleSeq), through one topic and one NATS subscription per node
// (gavel.sale.<sale>.>). It starts with a sale_snapshot of every lot; its
// cursor token is s<sale>:<sale seq>, so it resumes on any node with no
// gap and no duplicate. The lot events that a sale-level event stands for
// (a cascade's moves, a pause) are not in the sale's log: sale_extended,
// sale_paused and their kin carry them in one event.

// saleSnap is a sale's snapshot event and its frame, encoded once for
// every stream that asked for it in the same read.
type saleSnap struct {
	ev domain.Event
	f  *frame
}

// saleSnapper coalesces the snapshot reads of one sale's streams as
// snapBatcher does for auctions: a stream never joins a read already in
// flight (its topic must be attached before the read starts), but waits
// for the next, which serves every stream that arrived meanwhile. Two
// thousand catalogues opening at once cost a few reads and encodings of a
// 500-lot snapshot, not two thousand.
type saleSnapper struct {
	read func(id int64) (saleSnap, error)

	mu    sync.Mutex
	sales map[int64]*saleSnapQueue
}

// saleSnapQueue is one sale's pending read and whether one is running.
type saleSnapQueue struct {
	pending *saleSnapCall
	running bool
}

// saleSnapCall is one read and the streams waiting for it.
type saleSnapCall struct {
	done chan struct{}
	snap saleSnap // set before done closes
	err  error
}

// get returns the sale's snapshot from a read that starts after the call.
func (s *saleSnapper) get(id int64) (saleSnap, error) {
	s.mu.Lock()
	if s.sales == nil {
		s.sales = make(map[int64]*saleSnapQueue)
	}
	q := s.sales[id]
	if q == nil {
		q = &saleSnapQueue{}
		s.sales[id] = q
	}
	if q.pending == nil {
		q.pending = &saleSnapCall{done: make(chan struct{})}
	}
	call := q.pending
	if !q.running {
		q.running = true
		go s.loop(id, q)
	}
	s.mu.Unlock()
	<-call.done
	return call.snap, call.err
}

// loop reads the sale's pending snapshots until none is left.
func (s *saleSnapper) loop(id int64, q *saleSnapQueue) {
	for {
		s.mu.Lock()
		call := q.pending
		q.pending = nil
		if call == nil {
			q.running = false
			delete(s.sales, id)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		call.snap, call.err = s.read(id)
		close(call.done)
	}
}

// readSaleSnapshot reads and encodes a sale's snapshot.
func (h *Hub) readSaleSnapshot(id int64) (saleSnap, error) {
	ctx, cancel := context.WithTimeout(h.ctx, logTimeout)
	defer cancel()
	sale, lots, err := h.sales.SaleSnapshot(ctx, id)
	if err != nil {
		return saleSnap{}, err
	}
	ev := domain.SaleSnapshot(sale, lots)
	f, err := encodeEventIn(ev, domain.ChannelSale, string(appendToken(nil, domain.SaleChannel(id), ev.SaleSeq)), h.cfg.Now())
	if err != nil {
		return saleSnap{}, err
	}
	return saleSnap{ev: ev, f: f}, nil
}

// sendSaleSnapshot queues channel i's sale snapshot for c and returns its
// position in the sale's log. reset marks one sent because c's position
// could not be served (older than the retained log, or from elsewhere).
func (h *Hub) sendSaleSnapshot(c *conn, i int, reset bool) (int64, error) {
	snap, err := h.saleSnaps.get(c.chans[i].t.ch.ID)
	if err != nil {
		return 0, err
	}
	f := snap.f
	if reset {
		h.m.resets.Inc()
		ev := snap.ev
		ev.Reset = true
		if f, err = encodeEventIn(ev, domain.ChannelSale, c.chans[i].t.token(ev.SaleSeq), h.cfg.Now()); err != nil {
			return 0, err
		}
	}
	return snap.ev.SaleSeq, h.pushWait(c, i, f)
}

// saleResetSnapshot is a sale's snapshot for a topic whose gap the Log no
// longer holds: its watchers get every lot's state instead.
func (h *Hub) saleResetSnapshot(id int64) (*domain.Event, error) {
	snap, err := h.saleSnaps.get(id)
	if err != nil {
		return nil, err
	}
	ev := snap.ev
	ev.Reset = true
	return &ev, nil
}

// --- Watcher counts for a sale's seller -------------------------------------

// SaleWatchers is one sale's local watcher count: its sale streams on a node.
type SaleWatchers struct {
	SaleID   int64 `json:"sale_id"`
	Watchers int   `json:"watchers"`
}

// saleWatchersEvent is the data of a sale_watchers event.
type saleWatchersEvent struct {
	Type       domain.EventType `json:"type"`
	SaleID     int64            `json:"sale_id"`
	Watchers   int              `json:"watchers"`
	ServerTime time.Time        `json:"server_time"`
}

// sendSaleWatchers gives every local stream that asked for counts
// (StreamSpec.SaleWatchers) its sales' watchers over the cluster, from the
// nodes' latest stats. Like stats, the frames carry no id: a count is
// worth nothing on a replay.
func (h *Hub) sendSaleWatchers() {
	if h.saleCounters.Load() == 0 {
		return
	}
	total := map[int64]int{}
	for _, n := range h.clusterStats() {
		for _, s := range n.Sales {
			total[s.SaleID] += s.Watchers
		}
	}
	for _, t := range h.allTopics() {
		if t.ch.Kind != domain.ChannelSale {
			continue
		}
		data, err := json.Marshal(saleWatchersEvent{Type: domain.EventSaleWatchers, SaleID: t.ch.ID,
			Watchers: total[t.ch.ID], ServerTime: h.cfg.Now().UTC()})
		if err != nil {
			continue
		}
		b := appendEvent(nil, "", string(domain.EventSaleWatchers), data)
		t.offerCounts(b)
	}
}

// offerCounts queues b for the topic's watchers that asked for counts.
func (t *topic) offerCounts(b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead {
		return
	}
	for _, w := range t.watchers {
		c := w.c
		if !c.watchCounts {
			continue
		}
		c.mu.Lock()
		var wake, overflow bool
		if c.chans[w.i].live {
			wake, overflow = c.enqueue(item{data: b}, t.h.cfg.QueueLen)
		}
		c.mu.Unlock()
		if overflow {
			t.h.slowConsumer(c)
		}
		if wake {
			c.w.schedule(c)
		}
	}
}

// saleWatchers lists this node's sale topics with their watcher counts.
func (h *Hub) saleWatchers() []SaleWatchers {
	var out []SaleWatchers
	for _, t := range h.allTopics() {
		if t.ch.Kind == domain.ChannelSale {
			out = append(out, SaleWatchers{SaleID: t.ch.ID, Watchers: int(t.count.Load())})
		}
	}
	return out
}
