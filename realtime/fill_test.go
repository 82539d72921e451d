package realtime

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gavel-auctions/gavel/domain"
)

// fillHub is a hub with no NATS and no goroutines of its own: enough for a
// fill job to read log and deliver to a topic without watchers.
func fillHub(tb testing.TB, log Log) *Hub {
	tb.Helper()
	h := &Hub{log: log, logger: slog.New(slog.DiscardHandler), ctx: context.Background()}
	h.cfg.defaults()
	m, err := newMetrics(h, nil)
	if err != nil {
		tb.Fatal(err)
	}
	h.m = m
	h.fills.notify = make(chan struct{}, 1)
	h.snaps.read = h.logSnapshots
	return h
}

// fillTopic is a topic of ch on h whose single track stands at last.
func fillTopic(h *Hub, ch domain.Channel, last int64) *topic {
	t := &topic{h: h, ch: ch, all: ch == allChannel}
	t.tr.last = last
	return t
}

// counterValue reads a counter through a registry of its own.
func counterValue(tb testing.TB, c prometheus.Counter) float64 {
	tb.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil || len(families) != 1 {
		tb.Fatalf("gather: %v (%d families)", err, len(families))
	}
	return families[0].GetMetric()[0].GetCounter().GetValue()
}

// seqs makes the events seq from..to of auction 1.
func seqs(from, to int64) []domain.Event {
	var out []domain.Event
	for s := from; s <= to; s++ {
		out = append(out, auctionEvent(1, s, domain.EventPrice))
	}
	return out
}

func TestJudgeRead(t *testing.T) {
	t.Parallel()
	snap := func(seq int64) *domain.Event {
		ev := asSnapshot(auctionEvent(1, seq, domain.EventPrice))
		return &ev
	}
	tests := []struct {
		name  string
		last  int64
		from  int64
		rd    fillRead
		empty int
		want  fillOutcome
	}{
		{"track moved during the read", 7, 5, fillRead{evs: seqs(6, 9)}, 0, fillStale},
		{"stale wins over empty", 7, 5, fillRead{}, maxEmptyFills, fillStale},
		{"first empty read waits", 5, 5, fillRead{}, 0, fillWait},
		{"last patient empty read waits", 5, 5, fillRead{}, maxEmptyFills - 2, fillWait},
		{"one empty read too many skips", 5, 5, fillRead{}, maxEmptyFills - 1, fillSkip},
		{"events follow", 5, 5, fillRead{evs: seqs(6, 9)}, 3, fillDeliver},
		{"trimmed auction resets", 5, 5, fillRead{evs: seqs(9, 12), trimmed: true, reset: snap(12)}, 0, fillReset},
		{"reset not ahead of the track delivers", 5, 5, fillRead{evs: seqs(9, 12), trimmed: true, reset: snap(5)}, 0, fillDeliver},
		{"trimmed user channel delivers", 5, 5, fillRead{evs: seqs(9, 12), trimmed: true}, 0, fillDeliver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := &track{last: tt.last}
			if got := judgeRead(tr, tt.from, tt.rd, tt.empty); got != tt.want {
				t.Errorf("judgeRead = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestTrackSkipGap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		tr                 track
		wantLast, wantWant int64
	}{
		{"jumps to the first held event", track{last: 3, want: 9, pending: seqs(7, 9)}, 6, 9},
		{"forgets events it only heard of", track{last: 3, want: 9}, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := tt.tr
			tr.skipGap()
			if tr.last != tt.wantLast || tr.want != tt.wantWant {
				t.Errorf("last, want = %d, %d; want %d, %d", tr.last, tr.want, tt.wantLast, tt.wantWant)
			}
		})
	}
}

func TestNextFill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		tr          track
		dead        bool
		wantFrom    int64
		wantAskHead bool
		wantOK      bool
		wantLast    int64
		wantFilling bool
	}{
		{name: "topic gone", tr: track{last: 2, want: 5, filling: true}, dead: true, wantLast: 2, wantFilling: true},
		{name: "caught up frees the track", tr: track{last: 5, want: 5, filling: true}, wantLast: 5},
		{name: "gap to read", tr: track{last: 2, want: 5, filling: true}, wantFrom: 2, wantOK: true, wantLast: 2, wantFilling: true},
		{name: "head after an outage", tr: track{last: 5, want: 5, head: true, filling: true}, wantFrom: 5, wantAskHead: true, wantOK: true, wantLast: 5, wantFilling: true},
		{name: "held events close the gap", tr: track{last: 2, want: 4, pending: seqs(3, 4), filling: true}, wantLast: 4},
		{name: "held events after a gap", tr: track{last: 2, want: 6, pending: seqs(5, 6), filling: true}, wantFrom: 2, wantOK: true, wantLast: 2, wantFilling: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tp := fillTopic(fillHub(t, newFakeLog()), domain.AuctionChannel(1), 0)
			tp.tr, tp.dead = tt.tr, tt.dead
			from, askHead, ok := tp.nextFill(0)
			if from != tt.wantFrom || askHead != tt.wantAskHead || ok != tt.wantOK {
				t.Errorf("nextFill = %d, %v, %v; want %d, %v, %v", from, askHead, ok, tt.wantFrom, tt.wantAskHead, tt.wantOK)
			}
			if tp.tr.last != tt.wantLast || tp.tr.filling != tt.wantFilling || (ok && tp.tr.head) {
				t.Errorf("track last %d filling %v head %v; want last %d filling %v head false",
					tp.tr.last, tp.tr.filling, tp.tr.head, tt.wantLast, tt.wantFilling)
			}
		})
	}
}

func TestNoteHead(t *testing.T) {
	t.Parallel()
	tp := fillTopic(fillHub(t, newFakeLog()), domain.AuctionChannel(1), 3)
	tp.tr.want = 4
	tp.noteHead(0, 9, nil)
	if tp.tr.want != 9 || tp.tr.head {
		t.Errorf("after a head of 9: want %d head %v, want 9 false", tp.tr.want, tp.tr.head)
	}
	tp.noteHead(0, 2, nil)
	if tp.tr.want != 9 {
		t.Errorf("a lower head moved want to %d", tp.tr.want)
	}
	tp.noteHead(0, 0, errors.New("down"))
	if !tp.tr.head || tp.tr.want != 9 {
		t.Errorf("after a failed read: head %v want %d, want true 9", tp.tr.head, tp.tr.want)
	}
}

func TestFillApply(t *testing.T) {
	t.Parallel()
	reset := asSnapshot(auctionEvent(1, 20, domain.EventPrice))
	tests := []struct {
		name     string
		last     int64
		dead     bool
		rd       fillRead
		empty    int
		want     fillOutcome
		wantLast int64
		wantRing []int64 // seqs the topic remembers afterwards
		metric   string
	}{
		{name: "delivers in order", last: 2, rd: fillRead{evs: seqs(3, 5)}, want: fillDeliver, wantLast: 5, wantRing: []int64{3, 4, 5}, metric: "gapFills"},
		{name: "skips what the track has", last: 2, rd: fillRead{evs: seqs(1, 4)}, want: fillDeliver, wantLast: 4, wantRing: []int64{3, 4}, metric: "gapFills"},
		{name: "track moved during the read", last: 4, rd: fillRead{evs: seqs(3, 6)}, want: fillStale, wantLast: 4},
		{name: "trimmed user-style read starts at its first event", last: 2, rd: fillRead{evs: seqs(7, 8), trimmed: true}, want: fillDeliver, wantLast: 8, wantRing: []int64{7, 8}, metric: "gapFills"},
		{name: "reset snapshot moves the track", last: 2, rd: fillRead{evs: seqs(15, 20), trimmed: true, reset: &reset}, want: fillReset, wantLast: 20, metric: "resets"},
		{name: "empty read waits", last: 2, rd: fillRead{}, want: fillWait, wantLast: 2},
		{name: "empty reads give up", last: 2, rd: fillRead{}, empty: maxEmptyFills - 1, want: fillSkip, wantLast: 2, metric: "gapsSkipped"},
		{name: "dead topic stops", last: 2, dead: true, rd: fillRead{evs: seqs(3, 5)}, want: fillStop, wantLast: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := fillHub(t, newFakeLog())
			tp := fillTopic(h, domain.AuctionChannel(1), tt.last)
			tp.dead = tt.dead
			j := newFillJob(h, tp, 0)
			j.empty = tt.empty
			from := int64(2)
			if got := j.apply(from, tt.rd); got != tt.want {
				t.Fatalf("apply = %d, want %d", got, tt.want)
			}
			if tp.tr.last != tt.wantLast {
				t.Errorf("track at %d, want %d", tp.tr.last, tt.wantLast)
			}
			if len(tt.wantRing) > 0 {
				frames := tp.recent(tt.wantRing[0]-1, tt.wantRing[len(tt.wantRing)-1])
				if len(frames) != len(tt.wantRing) {
					t.Errorf("ring holds %d of seqs %v", len(frames), tt.wantRing)
				}
			}
			counts := map[string]float64{
				"gapFills":    counterValue(t, h.m.gapFills),
				"resets":      counterValue(t, h.m.resets),
				"gapsSkipped": counterValue(t, h.m.gapsSkipped),
			}
			for name, n := range counts {
				if want := map[bool]float64{true: 1}[name == tt.metric]; n != want {
					t.Errorf("%s = %v, want %v", name, n, want)
				}
			}
		})
	}
}

// TestFillAgainstLog runs whole fills against a Log: each ends with the
// track at the Log's head and free for the next gap.
func TestFillAgainstLog(t *testing.T) {
	t.Parallel()
	user := domain.UserChannel(7)
	tests := []struct {
		name      string
		ch        domain.Channel
		events    int64 // in the Log
		trimmedTo int64
		tr        track
		wantLast  int64
		wantReset bool
		wantHeads int
	}{
		{name: "gap closed from the Log", ch: domain.AuctionChannel(1), events: 9, tr: track{last: 3, want: 9}, wantLast: 9},
		{name: "held events after the gap", ch: domain.AuctionChannel(1), events: 9, tr: track{last: 3, want: 9, pending: seqs(8, 9)}, wantLast: 9},
		{name: "head asked after an outage", ch: domain.AuctionChannel(1), events: 6, tr: track{last: 3, want: 3, head: true}, wantLast: 6, wantHeads: 1},
		{name: "trimmed auction gets a reset", ch: domain.AuctionChannel(1), events: 9, trimmedTo: 6, tr: track{last: 3, want: 9}, wantLast: 9, wantReset: true},
		{name: "trimmed user channel jumps", ch: user, events: 9, trimmedTo: 6, tr: track{last: 3, want: 9}, wantLast: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := newFakeLog()
			for s := int64(1); s <= tt.events; s++ {
				if tt.ch.Kind == domain.ChannelUser {
					log.add(t, personalEvent(tt.ch.ID, s, 1))
				} else {
					log.add(t, auctionEvent(tt.ch.ID, s, domain.EventPrice))
				}
			}
			log.trim(tt.ch, tt.trimmedTo)
			h := fillHub(t, log)
			tp := fillTopic(h, tt.ch, 0)
			tp.tr = tt.tr
			tp.tr.filling = true
			done := make(chan struct{})
			go func() {
				h.fill(tp, 0)
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the fill did not finish")
			}
			if tp.tr.last != tt.wantLast || tp.tr.filling || len(tp.tr.pending) != 0 {
				t.Errorf("track last %d filling %v pending %d; want %d, false, 0",
					tp.tr.last, tp.tr.filling, len(tp.tr.pending), tt.wantLast)
			}
			if got := counterValue(t, h.m.resets) == 1; got != tt.wantReset {
				t.Errorf("reset sent: %v, want %v", got, tt.wantReset)
			}
			if got := log.count("Head"); got != tt.wantHeads {
				t.Errorf("Head read %d times, want %d", got, tt.wantHeads)
			}
		})
	}
}
