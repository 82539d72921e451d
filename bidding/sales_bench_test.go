package bidding

import (
	"context"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// BenchmarkSaleBids compares, on one database, a bid that cascades over
// the 499 later lots of a 500-lot sale with a bid in a cascade sale that
// moves nothing and a bid on a single listing; it reports each commit's
// p50 and p99. gavel bench sale measures the same under a live sale; this
// isolates the commit.
//
// The cascade runs twice. First on the fresh cluster as it is: PostgreSQL
// then creates each 16 MB WAL segment as the WAL reaches it, zero-filled
// and flushed, ~20 ms inside whichever commit crosses into it (one every
// ~125 cascades). Then again once the cluster's WAL is in the steady
// state of a server that has been running through checkpoints: segments
// are recycled, not created (recycleWAL).
//
//	go run ./internal/testpg/pgrun -durable -- go test -run '^$' -bench BenchmarkSaleBids -benchtime 200x ./bidding/
func BenchmarkSaleBids(b *testing.B) {
	db := testpg.DB(b)
	c := newClock(t0)
	s := mustService(b, db, c)
	seller := mustUser(b, s, false)
	bidders := []domain.User{mustUser(b, s, false), mustUser(b, s, false)}
	// Soft close an hour: every bid on lot 1 extends it by the clock's step.
	_, cascade := mustOpenSale(b, s, c, seller, domain.SoftCloseCascade, 500, 1, 3600)
	_, still := mustOpenSale(b, s, c, seller, domain.SoftCloseCascade, 500, 1, 0)
	single := mustAuction(b, s, seller, func(in *domain.AuctionInput) { in.EndsAt = s.now().Add(24 * time.Hour) })
	for _, bc := range []struct {
		name     string
		id       int64
		moves    bool
		recycled bool
	}{
		{"cascade-499-lots", cascade[0].ID, true, false},
		{"sale-lot-moving-nothing", still[0].ID, false, false},
		{"single-listing", single.ID, false, false},
		{"cascade-499-lots-recycled-wal", cascade[0].ID, true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			if bc.recycled {
				recycleWAL(b, db)
			}
			took := make([]time.Duration, 0, b.N)
			upd0, hot0 := auctionUpdates(b, db)
			for i := 0; b.Loop(); i++ {
				c.add(time.Second)
				a := mustGet(b, s, bc.id)
				began := time.Now()
				r, err := s.PlaceBid(ctx, bidders[i%2], bc.id, domain.BidInput{Amount: domain.MinNextBid(a)})
				took = append(took, time.Since(began))
				if err != nil {
					b.Fatal(err)
				}
				if moved := r.EndsAt.After(a.EndsAt); moved != bc.moves {
					b.Fatalf("bid %d moved the lot's end: %v, want %v", i, moved, bc.moves)
				}
			}
			slices.Sort(took)
			q := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000 }
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			if bc.moves {
				// Each bid updates its lot and the 499 it moves.
				upd, hot := waitAuctionUpdates(b, db, upd0+int64(len(took))*500)
				b.ReportMetric(100*float64(hot-hot0)/float64(max(upd-upd0, 1)), "hot-%")
			}
		})
	}
}

// recycleWAL brings a fresh cluster's WAL to a running server's steady
// state (database.RecycleWAL).
func recycleWAL(tb testing.TB, db *gorm.DB) {
	tb.Helper()
	if err := database.RecycleWAL(context.Background(), db); err != nil {
		tb.Fatal(err)
	}
}

// auctionUpdates reads PostgreSQL's count of updates of auctions rows, and
// how many of them were HOT (no index entry written).
func auctionUpdates(tb testing.TB, db *gorm.DB) (upd, hot int64) {
	tb.Helper()
	var r struct{ Upd, Hot int64 }
	if err := db.Raw(`SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables
		WHERE relid = 'auctions'::regclass`).Scan(&r).Error; err != nil {
		tb.Fatal(err)
	}
	return r.Upd, r.Hot
}

// waitAuctionUpdates polls auctionUpdates until it counts at least want
// updates: each backend reports its counts when it goes idle, up to a
// second or so later.
func waitAuctionUpdates(tb testing.TB, db *gorm.DB, want int64) (upd, hot int64) {
	tb.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if upd, hot = auctionUpdates(tb, db); upd >= want || time.Now().After(deadline) {
			if upd < want {
				tb.Fatalf("auctions: %d updates counted after 30 s, want %d", upd, want)
			}
			return upd, hot
		}
	}
}
