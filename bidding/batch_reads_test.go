package bidding

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestBatchReadsAuctionsAsTheReaderDoes locks and reads, as a batch does
// on PostgreSQL, single listings and lots with and without a leader,
// interleaved in id order (the order of the rows), and checks each one
// against Service.Auction: the batch's scan reuses its destinations from
// row to row, so a value must never carry over from the row before.
func TestBatchReadsAuctionsAsTheReaderDoes(t *testing.T) {
	db := testpg.DB(t)
	c := newClock(t0)
	s := mustService(t, db, c)
	seller, x, y := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false)
	before := mustAuction(t, s, seller, nil)
	_, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 4, 10, 60)
	after := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.EndsAt = s.now().Add(2 * time.Hour) })
	lone := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.EndsAt = s.now().Add(3 * time.Hour) })
	mustBid(t, s, x, before.ID, 1000, 5000)
	mustBid(t, s, y, lots[0].ID, 1000, 0)
	mustBid(t, s, x, lots[2].ID, 1000, 0)
	mustBid(t, s, y, lone.ID, 1000, 0)
	// In id order: led listing, led lot, lot, led lot, lot, listing, led
	// listing.
	ids := []int64{before.ID, lots[0].ID, lots[1].ID, lots[2].ID, lots[3].ID, after.ID, lone.ID}

	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	auctions := map[int64]domain.Auction{}
	st := newBatchState()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		defer rollback(ctx, pc)
		pipe := pgPipe{conn: pc}
		queueReads(&pipe, batchKeys{auctions: ids, users: []int64{x.ID}}, s.now(), false, auctions, st)
		_, err := pipe.send(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(auctions) != len(ids) {
		t.Fatalf("read %d auctions, want %d", len(auctions), len(ids))
	}
	for _, id := range ids {
		want, err := s.Auction(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		// What the batch does not read: nothing it changes or sends.
		want.Description, want.CancelReason, want.LeaderName, want.PausedAt = "", "", "", time.Time{}
		if got := auctions[id]; !reflect.DeepEqual(got, want) {
			t.Errorf("auction %d (lot %d):\nbatch  %+v\nreader %+v", id, want.LotNumber, got, want)
		}
	}
}
