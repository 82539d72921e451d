package bidding

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

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

	ctx := context.Background()
	auctions := map[int64]domain.Auction{}
	st := newBatchState()
	onPgxConn(t, db, func(pc *pgx.Conn) error {
		defer rollback(ctx, pc)
		pipe := pgPipe{conn: pc}
		queueReads(&pipe, batchKeys{auctions: ids, users: []int64{x.ID}}, s.now(), false, auctions, st)
		_, err := pipe.send(ctx)
		return err
	})
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

// BenchmarkBatchReads measures phase 0 of a cascading bid's batch on
// PostgreSQL: begin, lock lot 1 of a 500-lot cascade-mode sale with its
// 499 later lots, read them and roll back. Its CPU profile shows the
// client's share (the scan of 500 rows):
//
//	go run ./internal/testpg/pgrun -- go test -run '^$' -bench BenchmarkBatchReads -benchmem -cpuprofile /tmp/reads.cpu ./bidding/
func BenchmarkBatchReads(b *testing.B) {
	db := testpg.DB(b)
	c := newClock(t0)
	s := mustService(b, db, c)
	seller, x := mustUser(b, s, false), mustUser(b, s, false)
	_, lots := mustOpenSale(b, s, c, seller, domain.SoftCloseCascade, 500, 1, 3600)
	ctx := context.Background()
	keys := batchKeys{auctions: []int64{lots[0].ID}, users: []int64{x.ID}, aliases: []aliasKey{{lots[0].ID, x.ID}}}
	b.ReportAllocs()
	onPgxConn(b, db, func(pc *pgx.Conn) error {
		pipe := pgPipe{conn: pc}
		for b.Loop() {
			auctions := make(map[int64]domain.Auction, 1)
			queueReads(&pipe, keys, s.now(), false, auctions, newBatchState())
			if _, err := pipe.send(ctx); err != nil {
				return err
			}
			if len(auctions) != 500 {
				b.Fatalf("read %d lots, want 500", len(auctions))
			}
			rollback(ctx, pc)
		}
		return nil
	})
}

// onPgxConn runs fn on the pgx connection under one of db's pooled
// connections, as a batch does, and fails tb if it fails.
func onPgxConn(tb testing.TB, db *gorm.DB, fn func(*pgx.Conn) error) {
	tb.Helper()
	sqlDB, err := db.DB()
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := sqlDB.Conn(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) }); err != nil {
		tb.Fatal(err)
	}
}
