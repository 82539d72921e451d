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
	j := newFillJob(h, t, key)
	for j.step() {
	}
}

// fillStart is the first wait after a failed or empty Log read; it doubles
// up to a second.
const fillStart = 20 * time.Millisecond

// fillJob is one fill worker's pass over a track's gap: which track, the
// channel its Log is read on, and how patient to be with the Log.
type fillJob struct {
	h       *Hub
	t       *topic
	key     int64
	ch      domain.Channel // the admin topic reads each auction's own channel
	backoff time.Duration
	empty   int // Log reads in a row that found nothing after the track
}

func newFillJob(h *Hub, t *topic, key int64) *fillJob {
	ch := t.ch
	if t.all {
		ch = domain.AuctionChannel(key)
	}
	return &fillJob{h: h, t: t, key: key, ch: ch, backoff: fillStart}
}

// step does one round of the fill: settle what the track holds, then ask
// the Log for the head or for the events after the track. It reports false
// when the fill is over: the gap is closed, the topic is gone, or the hub
// is stopping.
func (j *fillJob) step() bool {
	from, askHead, ok := j.t.nextFill(j.key)
	switch {
	case !ok:
		return false
	case askHead:
		return j.readHead()
	}
	return j.readAfter(from)
}

// nextFill delivers the held events that now follow the track and says what
// the fill must read next: the head (after an outage), or the events after
// from. ok is false when there is nothing left to fill (the track is then
// free for another fill) or the track is gone.
func (t *topic) nextFill(key int64) (from int64, askHead, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr := t.trackFor(key, false)
	if t.dead || tr == nil {
		return 0, false, false
	}
	t.drain(tr)
	askHead, tr.head = tr.head, false
	if !askHead && tr.want <= tr.last && len(tr.pending) == 0 {
		tr.filling = false
		return 0, false, false
	}
	return tr.last, askHead, true
}

// readHead learns how far the channel goes, so that the next round reads
// up to there. A failure asks again after a pause.
func (j *fillJob) readHead() bool {
	head, err := j.h.logHead(j.ch)
	j.t.noteHead(j.key, head, err)
	if err != nil {
		return j.h.pause(&j.backoff, "head", j.ch, err)
	}
	return true
}

// noteHead records the Log's head as an event known to exist, or keeps
// the head to ask for when the read failed.
func (t *topic) noteHead(key, head int64, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr := t.trackFor(key, false); tr != nil {
		if err != nil {
			tr.head = true
		} else {
			tr.want = max(tr.want, head)
		}
	}
}

// fillRead is what one Log read found after a track's position.
type fillRead struct {
	evs     []domain.Event
	trimmed bool          // the Log no longer starts right after the position
	reset   *domain.Event // an auction's state, when trimmed
}

// readAfter reads the events after from and applies them, pacing itself
// while the Log errs or has nothing yet.
func (j *fillJob) readAfter(from int64) bool {
	rd, op, err := j.read(from)
	if err != nil {
		return j.h.pause(&j.backoff, op, j.ch, err)
	}
	switch j.apply(from, rd) {
	case fillStop:
		return false
	case fillStale:
		return true
	case fillWait:
		j.empty++
		return j.h.pause(&j.backoff, "", j.ch, nil)
	case fillSkip:
		j.empty++
	}
	if len(rd.evs) > 0 {
		j.empty = 0
		j.backoff = fillStart
	}
	return true
}

// read asks the Log for a batch after from and, if retention trimmed an
// auction's older events, for its current state. op names the failed call.
func (j *fillJob) read(from int64) (rd fillRead, op string, err error) {
	rd.evs, err = j.h.logAfter(j.ch, from, fillBatch)
	if err != nil {
		return rd, "after", err
	}
	rd.trimmed = len(rd.evs) > 0 && rd.evs[0].SeqIn(j.ch.Kind) > from+1
	switch {
	case rd.trimmed && j.ch.Kind == domain.ChannelAuction:
		if rd.reset, err = j.h.resetSnapshot(j.ch.ID); err != nil {
			return rd, "snapshot", err
		}
	case rd.trimmed && j.ch.Kind == domain.ChannelSale:
		if rd.reset, err = j.h.saleResetSnapshot(j.ch.ID); err != nil {
			return rd, "snapshot", err
		}
	}
	return rd, "", nil
}

// fillOutcome is what a fill does with one Log read.
type fillOutcome uint8

const (
	fillStop    fillOutcome = iota // the topic or track is gone
	fillStale                      // the track moved while the Log was read: read again
	fillWait                       // nothing after the track yet: wait, read again
	fillSkip                       // nothing after the track, too often: give up on the gap
	fillReset                      // trimmed: deliver the auction's state instead
	fillDeliver                    // deliver the events that follow the track
)

// judgeRead decides what a Log read taken at from means for the track now.
// empty counts the reads before it that found nothing.
func judgeRead(tr *track, from int64, rd fillRead, empty int) fillOutcome {
	switch {
	case tr.last != from:
		return fillStale
	case len(rd.evs) == 0 && empty+1 < maxEmptyFills:
		return fillWait
	case len(rd.evs) == 0:
		return fillSkip
	case rd.reset != nil && tr.seqOf(rd.reset) > tr.last:
		return fillReset
	}
	return fillDeliver
}

// apply judges a Log read under the topic's lock and delivers what it can.
func (j *fillJob) apply(from int64, rd fillRead) fillOutcome {
	t := j.t
	t.mu.Lock()
	defer t.mu.Unlock()
	tr := t.trackFor(j.key, false)
	if t.dead || tr == nil {
		return fillStop
	}
	out := judgeRead(tr, from, rd, j.empty)
	switch out {
	case fillSkip:
		// The Log keeps saying there is nothing after from, yet NATS
		// delivered later events: give up on the gap rather than stall
		// the channel forever.
		j.h.m.gapsSkipped.Inc()
		j.h.logger.Warn("realtime: gap not in the log; skipping", "channel", j.ch.Subject(), "after", from, "want", tr.want)
		tr.skipGap()
	case fillReset:
		// Watchers cannot be told what they missed: they get the
		// auction's current state, and the track moves on from it.
		j.h.m.resets.Inc()
		t.deliver(tr, rd.reset)
	case fillDeliver:
		j.h.m.gapFills.Inc()
		t.deliverRead(tr, rd)
	}
	return out
}

// deliverRead delivers the events of a read that follow the track, in
// order; a trimmed read moves the track to just before its first event.
// The caller holds t.mu.
func (t *topic) deliverRead(tr *track, rd fillRead) {
	if rd.trimmed {
		tr.last = tr.seqOf(&rd.evs[0]) - 1
	}
	for i := range rd.evs {
		if tr.seqOf(&rd.evs[i]) == tr.last+1 {
			t.deliver(tr, &rd.evs[i])
		}
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
