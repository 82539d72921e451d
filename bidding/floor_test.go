package bidding

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// The end floor (migration 00016): a lower bound of ends_at that the
// end-order indexes hold, left alone by a cascade's move so that the move
// is a HOT update on PostgreSQL.

type lotEnd struct {
	ID        int64
	EndsAt    time.Time
	EndsFloor time.Time
}

// mustEnds reads the end and end floor of each lot, by id.
func mustEnds(tb testing.TB, db *gorm.DB, ids ...int64) map[int64]lotEnd {
	tb.Helper()
	var rows []lotEnd
	if err := db.Raw("SELECT id, ends_at, ends_floor FROM auctions WHERE id IN ?", ids).Scan(&rows).Error; err != nil {
		tb.Fatal(err)
	}
	out := make(map[int64]lotEnd, len(rows))
	for _, r := range rows {
		r.EndsAt, r.EndsFloor = r.EndsAt.UTC(), r.EndsFloor.UTC()
		out[r.ID] = r
	}
	if len(out) != len(ids) {
		tb.Fatalf("read %d of %d lots", len(out), len(ids))
	}
	return out
}

func idsOf(lots []domain.Auction) []int64 {
	ids := make([]int64, len(lots))
	for i, a := range lots {
		ids[i] = a.ID
	}
	return ids
}

// A lot a cascade moves keeps its floor (its earlier end); a lot bid on,
// moved or not, gets its floor set to its end.
func TestCascadeKeepsTheFloorOfMovedLots(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(t0)
		s := mustService(t, db, c)
		seller, bidder := mustUser(t, s, false), mustUser(t, s, false)
		_, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 4, 60, 3600)
		before := mustEnds(t, db, idsOf(lots)...)
		for _, a := range lots {
			if got := before[a.ID]; !got.EndsFloor.Equal(got.EndsAt) {
				t.Fatalf("new lot %d: floor %v, end %v: want equal", a.LotNumber, got.EndsFloor, got.EndsAt)
			}
		}

		r := mustBid(t, s, bidder, lots[0].ID, 1000, 0)
		after := mustEnds(t, db, idsOf(lots)...)
		if first := after[lots[0].ID]; !first.EndsAt.Equal(r.EndsAt) || !first.EndsFloor.Equal(first.EndsAt) {
			t.Fatalf("lot bid on: end %v, floor %v; want both %v", first.EndsAt, first.EndsFloor, r.EndsAt)
		}
		for _, a := range lots[1:] {
			got := after[a.ID]
			if !got.EndsAt.After(before[a.ID].EndsAt) {
				t.Fatalf("lot %d did not move: %v", a.LotNumber, got.EndsAt)
			}
			if !got.EndsFloor.Equal(before[a.ID].EndsAt) {
				t.Errorf("moved lot %d: floor %v, want its end before the move %v", a.LotNumber, got.EndsFloor, before[a.ID].EndsAt)
			}
		}

		// A bid on a moved lot writes it like any bid: floor = end. Ten
		// minutes on, it extends that lot, which moves the last one again.
		c.add(10 * time.Minute)
		mustBid(t, s, bidder, lots[2].ID, 1000, 0)
		got := mustEnds(t, db, lots[2].ID)[lots[2].ID]
		if !got.EndsFloor.Equal(got.EndsAt) {
			t.Errorf("moved lot bid on: floor %v, end %v: want equal", got.EndsFloor, got.EndsAt)
		}
		// The lot after it moved again and keeps its first floor.
		last := mustEnds(t, db, lots[3].ID)[lots[3].ID]
		if !last.EndsAt.After(after[lots[3].ID].EndsAt) {
			t.Fatalf("the last lot did not move again: %v", last.EndsAt)
		}
		if !last.EndsFloor.Equal(before[lots[3].ID].EndsAt) {
			t.Errorf("lot moved twice: floor %v, want %v", last.EndsFloor, before[lots[3].ID].EndsAt)
		}
	})
}

// A resume shifts every lot's end by the pause and writes the lots: their
// floors, a moved lot's too, become their ends.
func TestResumeSetsTheFloorOfMovedLots(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		c := newClock(t0)
		s := mustService(t, db, c)
		seller, bidder, admin := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, true)
		sale, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 3, 60, 3600)
		mustBid(t, s, bidder, lots[0].ID, 1000, 0)
		if got := mustEnds(t, db, lots[2].ID)[lots[2].ID]; !got.EndsFloor.Before(got.EndsAt) {
			t.Fatalf("lot 3 after the cascade: floor %v, end %v: want the floor earlier", got.EndsFloor, got.EndsAt)
		}
		if _, err := s.PauseSale(ctx, admin, sale.ID, "Stream down"); err != nil {
			t.Fatal(err)
		}
		c.add(5 * time.Minute)
		if _, err := s.ResumeSale(ctx, admin, sale.ID, ""); err != nil {
			t.Fatal(err)
		}
		for id, got := range mustEnds(t, db, idsOf(lots)...) {
			if !got.EndsFloor.Equal(got.EndsAt) {
				t.Errorf("lot %d after the resume: floor %v, end %v: want equal", id, got.EndsFloor, got.EndsAt)
			}
		}
	})
}

// The scheduler finds lots by their floor: a moved lot whose floor has
// passed but whose end has not is not closed early, gets its floor folded
// up to its end, and closes on time; closing sets the floor to the end.
func TestSchedulerClosesAMovedLotOnTimeAndFoldsItsFloor(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(t0)
		s := mustService(t, db, c)
		seller, bidder := mustUser(t, s, false), mustUser(t, s, false)
		// Lots end at E, E+60 s, E+120 s; a bid in the last 120 s of a
		// lot extends it to 120 s after the bid.
		_, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 3, 60, 120)
		e := lots[0].EndsAt
		c.set(e.Add(-30 * time.Second))
		mustBid(t, s, bidder, lots[0].ID, 1000, 0) // every end moves 90 s later
		ends := mustEnds(t, db, idsOf(lots)...)
		second := ends[lots[1].ID]
		if want := e.Add(150 * time.Second); !second.EndsAt.Equal(want) || !second.EndsFloor.Equal(e.Add(60*time.Second)) {
			t.Fatalf("lot 2 after the cascade: end %v floor %v; want end %v floor %v", second.EndsAt, second.EndsFloor, want, e.Add(60*time.Second))
		}

		// Past lot 2's floor (and the grace), before its end and lot 1's.
		c.set(e.Add(70 * time.Second))
		if _, err := s.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, a := range lots {
			if st := mustGet(t, s, a.ID).Status; st != domain.StatusOpen {
				t.Fatalf("lot %d is %s at E+70 s, before its end", a.LotNumber, st)
			}
		}
		ends = mustEnds(t, db, idsOf(lots)...)
		if got := ends[lots[1].ID]; !got.EndsFloor.Equal(got.EndsAt) {
			t.Errorf("lot 2 found by its floor before its end: floor %v not folded to its end %v", got.EndsFloor, got.EndsAt)
		}
		if got := ends[lots[2].ID]; !got.EndsFloor.Equal(e.Add(120 * time.Second)) {
			t.Errorf("lot 3 (floor not passed): floor %v, want it left at %v", got.EndsFloor, e.Add(120*time.Second))
		}

		// On time: lots 1 and 2 close once their true ends (+ grace) pass.
		c.set(second.EndsAt.Add(s.opts.CloseGrace))
		if _, err := s.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		for i, want := range []domain.Status{domain.StatusClosed, domain.StatusClosed, domain.StatusOpen} {
			if st := mustGet(t, s, lots[i].ID).Status; st != want {
				t.Errorf("lot %d is %s at its end, want %s", i+1, st, want)
			}
		}
		c.set(ends[lots[2].ID].EndsAt.Add(s.opts.CloseGrace))
		if _, err := s.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		ends = mustEnds(t, db, idsOf(lots)...)
		for _, a := range lots {
			if st := mustGet(t, s, a.ID).Status; st != domain.StatusClosed {
				t.Errorf("lot %d is %s after every end", a.LotNumber, st)
			}
			if got := ends[a.ID]; !got.EndsFloor.Equal(got.EndsAt) {
				t.Errorf("closed lot %d: floor %v, end %v: want equal", a.LotNumber, got.EndsFloor, got.EndsAt)
			}
		}
	})
}

// On PostgreSQL a cascade's moves are HOT updates: no index holds a column
// they change, and the pages have room (fillfactor, migration 00016).
func TestCascadeMovesAreHOTUpdates(t *testing.T) {
	db := testpg.DB(t)
	c := newClock(t0)
	s := mustService(t, db, c)
	seller := mustUser(t, s, false)
	bidders := []domain.User{mustUser(t, s, false), mustUser(t, s, false)}
	_, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 60, 60, 3600)
	upd0, hot0 := waitAuctionUpdates(t, db, 120) // the 60 lots' publication and opening
	const bids = 5
	for i := range bids {
		c.add(time.Minute)
		a := mustGet(t, s, lots[0].ID)
		// Bidders take turns: a leader raising their own maximum extends
		// nothing.
		if r := mustBid(t, s, bidders[i%2], a.ID, domain.MinNextBid(a), 0); !r.EndsAt.After(a.EndsAt) {
			t.Fatalf("bid %d did not extend lot 1", i)
		}
	}
	// Each bid updates lot 1 (not HOT: its price is indexed) and moves 59.
	upd, hot := waitAuctionUpdates(t, db, upd0+bids*60)
	moves := int64(bids * 59)
	t.Logf("%d updates, %d HOT, for %d moves", upd-upd0, hot-hot0, moves)
	if hot-hot0 < moves*8/10 {
		t.Errorf("%d of %d updates were HOT, want at least 80%% of the %d moves", hot-hot0, upd-upd0, moves)
	}
}

// A cascade stores each lot it moves exactly as its `extended` event
// announces it: the new end (capped per lot), the next seq and the bid's
// time, with price, leader and counts untouched. On PostgreSQL those lots
// go through an UPDATE of their own, narrower than the lot bid on.
func TestCascadeStoresWhatItsMovesAnnounce(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		c := newClock(t0)
		s := mustService(t, db, c)
		seller, first, second := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false)
		_, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 5, 60, 3600)
		// A later lot with a price and a leader of its own, which the move
		// must keep.
		mustBid(t, s, second, lots[3].ID, 1500, 0)
		before := make(map[int64]domain.Auction, len(lots))
		for _, l := range lots {
			a, err := s.Auction(ctx, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			before[l.ID] = a
		}

		c.add(time.Minute)
		r := mustBid(t, s, first, lots[0].ID, 1000, 0)
		d := r.EndsAt.Sub(before[lots[0].ID].EndsAt)
		if d <= 0 {
			t.Fatalf("the bid did not extend lot 1 (end %v, was %v)", r.EndsAt, before[lots[0].ID].EndsAt)
		}
		for _, l := range lots[1:] {
			was := before[l.ID]
			want := was
			want.EndsAt = was.EndsAt.Add(d)
			if limit := was.OriginalEndsAt.Add(was.MaxExtension); want.EndsAt.After(limit) {
				want.EndsAt = limit
			}
			if want.EndsAt.After(was.EndsAt) {
				want.Seq, want.UpdatedAt = was.Seq+1, c.now()
			}
			got, err := s.Auction(ctx, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.EndsAt.Equal(want.EndsAt) || got.Seq != want.Seq || !got.UpdatedAt.Equal(want.UpdatedAt) {
				t.Errorf("lot %d: end %v seq %d updated %v; want %v, %d, %v", l.LotNumber,
					got.EndsAt, got.Seq, got.UpdatedAt, want.EndsAt, want.Seq, want.UpdatedAt)
			}
			if got.Status != was.Status || got.CurrentPrice != was.CurrentPrice || got.LeaderID != was.LeaderID ||
				got.LeaderAlias != was.LeaderAlias || got.BidCount != was.BidCount || got.BidderCount != was.BidderCount {
				t.Errorf("lot %d changed beyond its end: %+v, was %+v", l.LotNumber, got, was)
			}
		}
		if got := before[lots[3].ID]; got.LeaderID != second.ID || got.CurrentPrice == 0 {
			t.Fatalf("lot 4 before the cascade: leader %d price %d; want %d and a price", got.LeaderID, got.CurrentPrice, second.ID)
		}
	})
}
