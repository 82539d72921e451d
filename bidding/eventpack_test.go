package bidding

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// packEvents returns n covered extended events of sale 7's lots 100.. and,
// if cover, the sale_extended event that stands for them.
func packEvents(n int, cover bool) []domain.Event {
	var evs []domain.Event
	for i := range n {
		e := domain.StateEvent(domain.EventExtended, domain.Auction{ID: int64(100 + i), SaleID: 7, Seq: 3, Title: "Lot\twith a tab"}, t0)
		e.Covered = true
		evs = append(evs, e)
	}
	if cover {
		evs = append(evs, domain.SaleEvent(domain.EventSaleExtended, domain.Sale{ID: 7}, t0))
	}
	return evs
}

func TestPackCovered(t *testing.T) {
	price := domain.StateEvent(domain.EventPrice, domain.Auction{ID: 5, SaleID: 7, Seq: 9}, t0)
	other := packEvents(packMin, false)
	for i := range other {
		other[i].SaleID = 8 // covered events of another sale: not the cover's
	}
	for _, tt := range []struct {
		name   string
		events []domain.Event
		want   []string // each row's channel kind, or "pack/<events>"
	}{
		{"a short run stays rows", slices.Concat([]domain.Event{price}, packEvents(packMin-1, true)),
			append(append([]string{"auction"}, slices.Repeat([]string{"auction"}, packMin-1)...), "sale")},
		{"a long run before its cover is one pack", slices.Concat([]domain.Event{price}, packEvents(packMin, true), []domain.Event{price}),
			[]string{"auction", "pack/32", "sale", "auction"}},
		{"two runs, two packs", slices.Concat(packEvents(40, true), packEvents(50, true)),
			[]string{"pack/40", "sale", "pack/50", "sale"}},
		{"a run without a cover stays rows", packEvents(packMin, false), slices.Repeat([]string{"auction"}, packMin)},
		{"another sale's cover does not cover", slices.Concat(other, packEvents(0, true)),
			append(slices.Repeat([]string{"auction"}, packMin), "sale")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := eventRows(tt.events, nil, map[int64]int64{7: 11, 8: 1})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				k := r.ChannelKind
				if k == packKind {
					n := 0
					if err := unpack(r.Payload, func(packedEvent) bool { n++; return true }); err != nil {
						t.Fatal(err)
					}
					k = "pack/" + strconv.Itoa(n)
				}
				got = append(got, k)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("rows %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPackRoundTrip: the relay publishes exactly the subject, id and bytes
// each row would have had, and the pack's key is its cover's position.
func TestPackRoundTrip(t *testing.T) {
	evs := packEvents(40, true)
	plain, err := eventRows(evs[:40], nil, nil) // no cover: rows as they were
	if err != nil {
		t.Fatal(err)
	}
	rows, err := eventRows(evs, nil, map[int64]int64{7: 11})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ChannelKind != packKind || rows[0].ChannelID != 7 || rows[0].Seq != 11 {
		t.Fatalf("rows %+v, want a pack of sale 7 keyed 11 and its cover", rows)
	}
	var got []eventRow
	if err := unpack(rows[0].Payload, func(e packedEvent) bool {
		got = append(got, eventRow{Subject: e.Subject, EventID: e.EventID, Payload: e.Payload})
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(plain) {
		t.Fatalf("%d events unpacked, want %d", len(got), len(plain))
	}
	for i := range plain {
		if got[i].Subject != plain[i].Subject || got[i].EventID != plain[i].EventID || got[i].Payload != plain[i].Payload {
			t.Fatalf("event %d unpacked as %+v, want %+v", i, got[i], plain[i])
		}
	}
}

func FuzzUnpack(f *testing.F) {
	f.Add("gavel.auction.1\ta1-1\t{}\n")
	f.Add("gavel.auction.1\ta1-1\n")
	f.Add("x\ty\tz\nx\ty")
	f.Fuzz(func(t *testing.T, payload string) {
		var n int
		err := unpack(payload, func(e packedEvent) bool {
			if e.Subject == "" || e.EventID == "" || e.Payload == "" || strings.ContainsAny(e.Subject+e.EventID, "\t\n") {
				t.Fatalf("unpacked %+v", e)
			}
			n++
			return true
		})
		if err == nil && n != strings.Count(payload, "\n") {
			t.Fatalf("%d events from %d lines", n, strings.Count(payload, "\n"))
		}
	})
}

func TestDoneRows(t *testing.T) {
	rows := []pendingEvent{{ID: 10}, {ID: 11}, {ID: 12}}
	// Row 11 is a pack of three events.
	msgs := []relayMsg{{row: 0, first: true}, {row: 1, first: true}, {row: 1}, {row: 1}, {row: 2, first: true}}
	for _, tt := range []struct {
		msgs    []relayMsg
		done    int
		ids     []int64
		partial bool
	}{
		{msgs, 0, []int64{}, false},
		{msgs, 1, []int64{10}, false},
		{msgs, 2, []int64{10}, true},
		{msgs, 4, []int64{10, 11}, false},
		{msgs, 5, []int64{10, 11, 12}, false},
		{msgs[2:], 0, []int64{10}, true}, // the pack's first event was in the stream
		{msgs[2:], 2, []int64{10, 11}, false},
	} {
		ids, partial := doneRows(rows, tt.msgs, tt.done)
		if !slices.Equal(ids, tt.ids) || partial != tt.partial {
			t.Errorf("doneRows(%d of %d) = %v, %v; want %v, %v", tt.done, len(tt.msgs), ids, partial, tt.ids, tt.partial)
		}
	}
}

// packedSale opens an 80-lot cascade sale (its opening is a pack) and bids
// so that cascades pack the later lots' extended events, with own events
// of some lots in between.
func packedSale(t *testing.T, s *Service, c *clock) []domain.Auction {
	t.Helper()
	seller := mustUser(t, s, false)
	x, y := mustUser(t, s, false), mustUser(t, s, false)
	_, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 80, 1, 3600)
	// A minute between bids: a lot's bid extends it (and cascades) only
	// inside its soft-close window, which a cascade just moved away.
	for i, k := range []int{0, 0, 39, 0, 39, 40, 0, 79} {
		c.add(time.Minute)
		cur := mustGet(t, s, lots[k].ID)
		mustBid(t, s, []domain.User{x, y}[i%2], cur.ID, domain.MinNextBid(cur), 0)
	}
	var packs int64
	if err := s.db.Raw("SELECT count(*) FROM events WHERE channel_kind = ?", packKind).Scan(&packs).Error; err != nil {
		t.Fatal(err)
	}
	if packs < 5 {
		t.Fatalf("%d packs written, want the opening's and at least 4 cascades'", packs)
	}
	return lots
}

// TestLotReplayReadsPacks: a lot's log replays from every position with no
// gap and no duplicate, its events in packs included, whole or in pages.
func TestLotReplayReadsPacks(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(t0)
		s := mustService(t, db, c)
		lots := packedSale(t, s, c)
		ctx := context.Background()
		for _, k := range []int{0, 1, 39, 40, 41, 79} {
			lot := mustGet(t, s, lots[k].ID)
			ch := domain.AuctionChannel(lot.ID)
			for after := range lot.Seq {
				for _, limit := range []int{0, 2} {
					evs, err := s.After(ctx, ch, after, limit)
					if err != nil {
						t.Fatal(err)
					}
					want := lot.Seq - after
					if limit > 0 {
						want = min(want, int64(limit))
					}
					if int64(len(evs)) != want {
						t.Fatalf("lot %d after %d (limit %d): %d events, want %d", lot.LotNumber, after, limit, len(evs), want)
					}
					for i, e := range evs {
						if e.ID != domain.MakeID(ch, after+1+int64(i)) || e.AuctionID != lot.ID {
							t.Fatalf("lot %d after %d: event %d is %s of auction %d", lot.LotNumber, after, i, e.ID, e.AuctionID)
						}
					}
					if limit == 0 && !evs[len(evs)-1].EndsAt.Equal(lot.EndsAt) {
						t.Fatalf("lot %d: last event ends at %v, the lot at %v", lot.LotNumber, evs[len(evs)-1].EndsAt, lot.EndsAt)
					}
				}
			}
		}
	})
}

// TestLotReplayPastTheReadBound: when a replay reaches its bound on packs
// read, what it returns still never skips an event: a run from after+1
// with no gap, or, if after+1 itself was not found, events from later on
// that the caller takes for a trimmed log (and answers with a snapshot).
func TestLotReplayPastTheReadBound(t *testing.T) {
	defer func(n int) { packReadsMax = n }(packReadsMax)
	packReadsMax = 1
	c := newClock(t0)
	s := mustService(t, testpg.DB(t), c)
	lots := packedSale(t, s, c)
	ctx := context.Background()
	short := 0
	for _, k := range []int{1, 40, 79} {
		lot := mustGet(t, s, lots[k].ID)
		ch := domain.AuctionChannel(lot.ID)
		for after := range lot.Seq {
			evs, err := s.After(ctx, ch, after, 0)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(evs)) < lot.Seq-after {
				short++
			}
			for i := 1; i < len(evs); i++ {
				if evs[i].Seq != evs[i-1].Seq+1 {
					t.Fatalf("lot %d after %d: seq %d follows %d", lot.LotNumber, after, evs[i].Seq, evs[i-1].Seq)
				}
			}
		}
	}
	if short == 0 {
		t.Fatal("no replay reached the bound: the test does not exercise it")
	}
}

// TestRelayPublishesPackedEvents: every event of every pack reaches the
// stream once, in its lot's order, as its own message.
func TestRelayPublishesPackedEvents(t *testing.T) {
	c := newClock(t0)
	e := newRelayEnvFor(t, mustService(t, testpg.DB(t), c), time.Minute)
	packedSale(t, e.s, c)
	e.drain(NewRelay(e.s, e.js, RelayOptions{Batch: 100}))
	e.checkStream()
}

// TestRelayFinishesAPackCutOffPartWay: a relay published the first ten
// events of a pack, then died before marking it; the Duplicates window has
// passed. The next turn finds those ten in the
// stream and publishes only the rest.
func TestRelayFinishesAPackCutOffPartWay(t *testing.T) {
	c := newClock(t0)
	e := newRelayEnvFor(t, mustService(t, testpg.DB(t), c), 200*time.Millisecond)
	packedSale(t, e.s, c)
	var rows []pendingEvent
	e.s.db.Raw("SELECT id, channel_kind, subject, event_id, payload FROM events ORDER BY id").Scan(&rows)
	ctx := context.Background()
	publish := func(subject, id, payload string) {
		t.Helper()
		if _, err := e.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: []byte(payload)}, jetstream.WithMsgID(id)); err != nil {
			t.Fatal(err)
		}
	}
	// A relay's round of one event per row up to the pack: it publishes
	// and marks exactly the rows before it.
	cut := slices.IndexFunc(rows, func(r pendingEvent) bool { return r.ChannelKind == packKind })
	if n, err := NewRelay(e.s, e.js, RelayOptions{Batch: cut}).Once(ctx); err != nil || n != cut {
		t.Fatalf("the first round published %d events (%v), want the %d before the pack", n, err, cut)
	}
	n := 0
	if err := unpack(rows[cut].Payload, func(p packedEvent) bool {
		publish(p.Subject, p.EventID, p.Payload)
		n++
		return n < 10
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	e.drain(NewRelay(e.s, e.js, RelayOptions{}))
	e.checkStream()
}

// TestPacksCompressWithLZ4: on a server built with lz4 (migration 00017),
// packs are stored lz4-compressed, which costs the bid's backend a fraction
// of pglz's CPU; elsewhere they stay pglz. A pack that was stored
// uncompressed would mean it no longer reaches TOAST's threshold, and
// this test's premise is gone.
func TestPacksCompressWithLZ4(t *testing.T) {
	db := testpg.DB(t)
	c := newClock(t0)
	s := mustService(t, db, c)
	packedSale(t, s, c)
	var lz4 bool
	if err := db.Raw(`SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression'
		AND 'lz4' = ANY (enumvals))`).Scan(&lz4).Error; err != nil {
		t.Fatal(err)
	}
	want := "pglz"
	if lz4 {
		want = "lz4"
	}
	var got []string
	if err := db.Raw("SELECT DISTINCT COALESCE(pg_column_compression(payload), 'none') FROM events WHERE channel_kind = ?",
		packKind).Scan(&got).Error; err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("packs compressed with %v, want only %s (server has lz4: %v)", got, want, lz4)
	}
}
