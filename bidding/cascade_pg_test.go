package bidding

import (
	"maps"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// TestBatchStoresItsCascadesAsJudged commits batches whose bids cascade
// through the store, on both dialects, and compares every lot of the sale
// with a replay of the same bids through the pure rules (replayCascades).
// On PostgreSQL a batch's single cascade per sale is written as its shift
// (stmtShiftLots) and two in one sale as values (stmtSaveMoves), so the
// cases cover both, each with a shift in fractions of a microsecond, lots
// that reach their cap, a withdrawn lot, and later lots bid on in the same
// batch, before and after the cascade moved them.
func TestBatchStoresItsCascadesAsJudged(t *testing.T) {
	// The clock stands 10 s before lot 1's end (and 123 ns, so that every
	// shift has a part below the microsecond); lots 6 to 8 may extend by
	// 20 s in all, less than one shift.
	const before = 10*time.Second + 123*time.Nanosecond
	type bid struct {
		lot  int           // lot number
		user int           // index into the bidders
		ago  time.Duration // receipt, before the batch's time
	}
	cases := []struct {
		name string
		bids []bid
	}{
		{"one cascade", []bid{{1, 0, 25 * time.Second}}},
		{"one cascade, then a later lot bid on", []bid{{1, 0, 25 * time.Second}, {3, 1, 0}}},
		{"a later lot bid on, then one cascade", []bid{{3, 1, 30 * time.Second}, {1, 0, 25 * time.Second}}},
		{"two cascades in one sale", []bid{{1, 0, 25 * time.Second}, {1, 1, 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dialects(t, func(t *testing.T, db *gorm.DB) {
				c := newClock(t0)
				s := mustService(t, db, c)
				seller := mustUser(t, s, false)
				users := []domain.User{mustUser(t, s, false), mustUser(t, s, false)}
				sale, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 8, 600, 60)
				if err := db.Exec("UPDATE auctions SET max_extension_seconds = 20 WHERE sale_id = ? AND lot_number >= 6", sale.ID).Error; err != nil {
					t.Fatal(err)
				}
				if err := db.Exec("UPDATE auctions SET status = 'cancelled' WHERE sale_id = ? AND lot_number = 4", sale.ID).Error; err != nil {
					t.Fatal(err)
				}
				lots = mustLots(t, s, sale.ID)
				c.set(lots[0].EndsAt.Add(-before))
				now := c.now()
				locked := make(map[int64]domain.Auction, len(lots))
				for _, l := range lots {
					locked[l.ID] = l
				}
				batch := make([]*bidCall, len(tc.bids))
				for i, b := range tc.bids {
					a := lots[b.lot-1]
					batch[i] = &bidCall{auctionID: a.ID, bidder: users[b.user], receivedAt: now.Add(-b.ago),
						in: domain.BidInput{Amount: domain.MinNextBid(a) * int64(1+i)}}
				}
				_, _, want, _ := replayCascades(t, sale, maps.Clone(locked), batch, now)

				held := &heldConn{}
				defer held.release()
				for i, r := range s.commitBatch(batch, held) {
					if r.err != nil {
						t.Fatalf("bid %d: %v", i, r.err)
					}
				}
				// PostgreSQL keeps microseconds, SQLite the nanoseconds.
				stored := func(t time.Time) time.Time { return t }
				if db.Name() == "postgres" {
					stored = func(t time.Time) time.Time { return t.Truncate(time.Microsecond) }
				}
				moved := 0
				for _, got := range mustLots(t, s, sale.ID) {
					w := want[got.ID]
					if !got.EndsAt.Equal(stored(w.EndsAt)) || got.Seq != w.Seq ||
						!got.UpdatedAt.Equal(stored(w.UpdatedAt)) || got.Status != w.Status ||
						got.CurrentPrice != w.CurrentPrice || got.BidCount != w.BidCount || got.LeaderAlias != w.LeaderAlias {
						t.Errorf("lot %d stored end %v seq %d updated %v %s price %d bids %d leader %q;\n judged %v, %d, %v %s %d %d %q",
							got.LotNumber, got.EndsAt, got.Seq, got.UpdatedAt, got.Status, got.CurrentPrice, got.BidCount, got.LeaderAlias,
							w.EndsAt, w.Seq, w.UpdatedAt, w.Status, w.CurrentPrice, w.BidCount, w.LeaderAlias)
					}
					if got.LotNumber > 1 && got.EndsAt.After(locked[got.ID].EndsAt) {
						moved++
					}
				}
				// Lots 2, 3 and 5 to 8 moved (4 is withdrawn), lots 6 to 8
				// only to their cap: the case is the one described.
				if capped := want[lots[7].ID].EndsAt.Sub(lots[7].OriginalEndsAt); moved != 6 || capped != 20*time.Second {
					t.Fatalf("%d later lots moved, lot 8 by %v; want 6 and its 20 s cap", moved, capped)
				}
			})
		})
	}
}

// TestBatchForgetsTheLastBatchsLots: a batch's locked auctions are kept in
// a map its pipe reuses, and each batch starts it empty. A lot the last
// batch locked open and that has been withdrawn since is not locked again
// (only unclosed lots are), so a leftover entry would have a cascade move
// a withdrawn lot.
func TestBatchForgetsTheLastBatchsLots(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(t0)
		s := mustService(t, db, c)
		seller := mustUser(t, s, false)
		users := []domain.User{mustUser(t, s, false), mustUser(t, s, false)}
		sale, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 4, 600, 60)
		c.set(lots[0].EndsAt.Add(-10 * time.Second))
		bid := func(user int) {
			t.Helper()
			a := mustLots(t, s, sale.ID)[0]
			held := &heldConn{}
			defer held.release()
			batch := []*bidCall{{auctionID: a.ID, bidder: users[user], receivedAt: c.now(), in: domain.BidInput{Amount: domain.MinNextBid(a)}}}
			if r := s.commitBatch(batch, held)[0]; r.err != nil {
				t.Fatalf("bid by user %d: %v", user, r.err)
			}
		}
		bid(0)
		if err := db.Exec("UPDATE auctions SET status = 'cancelled' WHERE sale_id = ? AND lot_number = 3", sale.ID).Error; err != nil {
			t.Fatal(err)
		}
		withdrawn := mustLots(t, s, sale.ID)[2]
		c.set(c.now().Add(time.Second))
		bid(1)
		after := mustLots(t, s, sale.ID)
		if got := after[2]; !got.EndsAt.Equal(withdrawn.EndsAt) || got.Seq != withdrawn.Seq || got.Status != domain.StatusCancelled {
			t.Errorf("the withdrawn lot 3: end %v seq %d %s, want it left at %v seq %d", got.EndsAt, got.Seq, got.Status, withdrawn.EndsAt, withdrawn.Seq)
		}
		if !after[3].EndsAt.After(withdrawn.EndsAt) || !after[1].EndsAt.After(lots[1].EndsAt) {
			t.Errorf("lots 2 and 4 end at %v and %v; the cascades should have moved them", after[1].EndsAt, after[3].EndsAt)
		}
	})
}
