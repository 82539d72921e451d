package realtime

import (
	"bytes"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestResumeFrameShared: streams resuming on one topic within
// resumeFrameAge share one encoding of its newest event (a reconnect storm
// encodes it once, not once per stream); a later resume, or a newer event,
// gets a fresh one stamped with the node's time of now.
func TestResumeFrameShared(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	h := &Hub{cfg: Config{Now: func() time.Time { return now }}}
	tp := &topic{h: h, ch: domain.AuctionChannel(7)}
	tr := &tp.tr
	tr.kind, tr.last = domain.ChannelAuction, 57
	ev := goldenEvent()
	f1 := tp.resumeFrame(&ev, tr)
	if f1 == nil {
		t.Fatal("the newest event could not be encoded")
	}
	if !bytes.Contains(f1.full, []byte("id: 7:57\n")) {
		t.Fatalf("resume frame = %q, want the event with id 7:57", f1.full)
	}
	now = now.Add(resumeFrameAge / 2)
	if f2 := tp.resumeFrame(&ev, tr); f2 != f1 {
		t.Fatal("a resume within resumeFrameAge encoded the newest event again")
	}
	now = now.Add(resumeFrameAge)
	f3 := tp.resumeFrame(&ev, tr)
	if f3 == f1 || !bytes.Contains(f3.full, []byte(`"server_time":"2026-12-06T02:00:00.075Z"`)) {
		t.Fatalf("a resume after resumeFrameAge reused a stale server_time: %q", f3.full)
	}
	newer := ev
	if f4 := tp.resumeFrame(&newer, tr); f4 == f3 {
		t.Fatal("a newer event reused the previous event's frame")
	}
}
