package realtime

import (
	"slices"
	"sort"

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

	// kind is the log whose positions the track follows: a lot's event
	// has one in its auction's log and one in its sale's.
	kind domain.ChannelKind
}

// hold keeps an event that cannot be delivered yet. An event that does not
// fit is not lost: want remembers it exists and the fill reads it back.
func (tr *track) hold(ev domain.Event) {
	seq := tr.seqOf(&ev)
	tr.want = max(tr.want, seq)
	if tr.last >= 0 && seq <= tr.last {
		return
	}
	i := sort.Search(len(tr.pending), func(i int) bool { return tr.seqOf(&tr.pending[i]) >= seq })
	if i < len(tr.pending) && tr.seqOf(&tr.pending[i]) == seq || len(tr.pending) >= maxPending {
		return
	}
	tr.pending = slices.Insert(tr.pending, i, ev)
}

// seqOf is ev's position in the track's log.
func (tr *track) seqOf(ev *domain.Event) int64 { return ev.SeqIn(tr.kind) }

// skipGap gives up on a gap the Log cannot fill: the track moves on to
// its first held event, or, holding none, forgets the events it was told of.
func (tr *track) skipGap() {
	if len(tr.pending) > 0 {
		tr.last = tr.seqOf(&tr.pending[0]) - 1
	} else {
		tr.want = tr.last
	}
}

// drain delivers the pending events that now follow tr.last without a gap
// and forgets those already delivered. The caller holds t.mu.
func (t *topic) drain(tr *track) {
	n := 0
	for ; n < len(tr.pending); n++ {
		seq := tr.seqOf(&tr.pending[n])
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
