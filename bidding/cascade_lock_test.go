package bidding

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// openCascadeSale opens a cascade-mode sale of 4 lots, 1 s apart with a
// 60 s soft close, and leaves the clock at its opening, 59 minutes before
// lot 1's end.
func openCascadeSale(t *testing.T) (*gorm.DB, *Service, *clock, domain.User, []domain.Auction) {
	t.Helper()
	db := testpg.DB(t)
	c := newClock(t0)
	s := mustService(t, db, c)
	seller, bidder := mustUser(t, s, false), mustUser(t, s, false)
	_, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 4, 1, 60)
	return db, s, c, bidder, lots
}

// holdTx begins a transaction that may sit idle while the test holds its
// locks: sessions end after 2 s idle in a transaction otherwise
// (database.Timeouts), which would release them early.
func holdTx(t *testing.T, db *gorm.DB) *gorm.DB {
	t.Helper()
	tx := db.Begin()
	t.Cleanup(func() { tx.Rollback() })
	if err := tx.Exec("SET LOCAL idle_in_transaction_session_timeout = 0").Error; err != nil {
		t.Fatal(err)
	}
	return tx
}

// lockStatementMark begins only the batch's locking statement
// (stmtLockAuctions). pg_stat_activity keeps a statement's first 1024
// bytes (track_activity_query_size), so the mark must come early.
const lockStatementMark = "WITH b AS MATERIALIZED"

// waitForLockWait polls until a backend waits on a row lock in a statement
// containing query, so that a test knows a batch has reached its lock.
func waitForLockWait(t *testing.T, db *gorm.DB, query string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var n int64
		if err := db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND strpos(query, ?) > 0`,
			query).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no statement with %q waited on a lock within a minute", query)
}

// TestSaleBidOutsideSoftCloseLocksNoLaterLot holds a later lot of a
// cascade-mode sale locked while a bid far from lot 1's end commits: a bid
// that cannot extend its lot must not wait for, nor lock, the lots a
// cascade would move.
func TestSaleBidOutsideSoftCloseLocksNoLaterLot(t *testing.T) {
	db, s, _, bidder, lots := openCascadeSale(t)
	tx := holdTx(t, db)
	if err := tx.Exec("SELECT id FROM auctions WHERE id = ? FOR UPDATE", lots[2].ID).Error; err != nil {
		t.Fatal(err)
	}
	// A bid that waited on the held lot would fail at its session's
	// lock_timeout (5 s), or at this generous deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := s.PlaceBid(ctx, bidder, lots[0].ID, domain.BidInput{Amount: 1000})
	if err != nil {
		t.Fatalf("bid outside the soft close, with a later lot locked elsewhere: %v", err)
	}
	if !r.EndsAt.Equal(lots[0].EndsAt) {
		t.Fatalf("the bid moved its lot's end from %v to %v", lots[0].EndsAt, r.EndsAt)
	}
}

// TestCascadeAfterAWrongGuessLocksLaterLots makes the batch's guess wrong:
// when its locking statement starts, lot 1's soft close (60 s) cannot
// reach the bid, so no later lot is locked; while it waits for lot 1's
// lock, another transaction widens lot 1's soft close to an hour and
// commits, so the bid does extend lot 1. The batch must run again with
// the later lots locked and move every one of them, not commit the bid
// without its cascade.
func TestCascadeAfterAWrongGuessLocksLaterLots(t *testing.T) {
	db, s, _, bidder, lots := openCascadeSale(t)
	tx := holdTx(t, db)
	if err := tx.Exec("UPDATE auctions SET soft_close_seconds = 3600 WHERE id = ?", lots[0].ID).Error; err != nil {
		t.Fatal(err)
	}
	r := bidWhileLot1Changes(t, db, tx, s, bidder, lots[0].ID, 1000)
	checkCascaded(t, s, lots, r)
}

// TestRefusedSaleBidInSoftCloseLocksNoLaterLot holds a later lot locked
// while, inside lot 1's soft close, a bid no larger than lot 1's price is
// refused: it cannot extend lot 1, so it must not lock (nor wait for) the
// lots a cascade would move. The sale's second snipe at the same amount as
// the first is such a bid; before, it locked ~500 lots only to be refused.
func TestRefusedSaleBidInSoftCloseLocksNoLaterLot(t *testing.T) {
	db, s, c, bidder, lots := openCascadeSale(t)
	mustBid(t, s, mustUser(t, s, false), lots[0].ID, 1000, 0)
	c.set(lots[0].EndsAt.Add(-30 * time.Second))
	tx := holdTx(t, db)
	if err := tx.Exec("SELECT id FROM auctions WHERE id = ? FOR UPDATE", lots[2].ID).Error; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.PlaceBid(ctx, bidder, lots[0].ID, domain.BidInput{Amount: 1000})
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.CodeConflict || de.Fields["amount"] == "" {
		t.Fatalf("bid at the price inside the soft close, a later lot locked elsewhere: %v (after %v), want too low", err, time.Since(start))
	}
}

// TestCascadeAfterALoweredPriceLocksLaterLots makes the price part of the
// batch's guess wrong: when its locking statement starts, lot 1's price is
// above the bid, so the bid cannot extend it and no later lot is locked;
// while it waits for lot 1's lock, another transaction lowers the price
// (as striking the leading bid does) and commits, so the bid leads and
// extends lot 1. The batch must run again with the later lots locked and
// move every one of them.
func TestCascadeAfterALoweredPriceLocksLaterLots(t *testing.T) {
	db, s, c, bidder, lots := openCascadeSale(t)
	mustBid(t, s, mustUser(t, s, false), lots[0].ID, 2000, 0)
	c.set(lots[0].EndsAt.Add(-30 * time.Second))
	tx := holdTx(t, db)
	if err := tx.Exec("UPDATE auctions SET current_price = 1000, leader_max = 1000 WHERE id = ?", lots[0].ID).Error; err != nil {
		t.Fatal(err)
	}
	r := bidWhileLot1Changes(t, db, tx, s, bidder, lots[0].ID, 1500)
	if !r.Leading {
		t.Fatalf("the bid of 1500 over a lowered price of 1000 does not lead: %+v", r)
	}
	checkCascaded(t, s, lots, r)
}

// bidWhileLot1Changes places a bid on lot while tx, which has changed
// lot, holds its lock; once the bid's locking statement waits on it, tx
// commits. It returns the bid's receipt.
func bidWhileLot1Changes(t *testing.T, db, tx *gorm.DB, s *Service, bidder domain.User, lot, amount int64) domain.Receipt {
	t.Helper()
	type result struct {
		r   domain.Receipt
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := s.PlaceBid(context.Background(), bidder, lot, domain.BidInput{Amount: amount})
		done <- result{r, err}
	}()
	waitForLockWait(t, db, lockStatementMark)
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the bid did not commit within a minute")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	return res.r
}

// checkCascaded checks that r extended lot 1 and moved every later lot
// by as much.
func checkCascaded(t *testing.T, s *Service, lots []domain.Auction, r domain.Receipt) {
	t.Helper()
	shift := r.EndsAt.Sub(lots[0].EndsAt)
	if shift <= 0 {
		t.Fatalf("the bid did not extend lot 1 (ends %v, was %v)", r.EndsAt, lots[0].EndsAt)
	}
	for i, l := range mustLots(t, s, lots[0].SaleID)[1:] {
		if got, want := l.EndsAt, lots[i+1].EndsAt.Add(shift); !got.Equal(want) {
			t.Errorf("lot %d ends %v, want %v (moved by lot 1's %v)", l.LotNumber, got, want, shift)
		}
	}
}
