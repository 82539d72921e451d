package bidding

import (
	"maps"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// cascadeFixture is a 500-lot cascade-mode sale in memory, as a batch
// reads it on PostgreSQL: lot 1 is inside its soft-close window, so a bid
// on it extends it and moves the 499 later lots.
func cascadeFixture(n int) (domain.Sale, map[int64]domain.Auction, time.Time) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	sale := domain.Sale{ID: 9, SellerID: 1, Title: "Spring sale", Currency: "EUR", Status: domain.SaleOpen,
		OpensAt: now.Add(-time.Hour), FirstCloseAt: now.Add(time.Minute), GapSeconds: 1, SoftCloseSeconds: 3600,
		SoftCloseMode: domain.SoftCloseCascade, Seq: 1200}
	auctions := make(map[int64]domain.Auction, n)
	for i := range n {
		end := sale.FirstCloseAt.Add(time.Duration(i) * time.Second)
		a := domain.Auction{ID: int64(1000 + i), SellerID: 1, Title: "Lot", Currency: "EUR", StartPrice: 1000,
			StartsAt: sale.OpensAt, EndsAt: end, OriginalEndsAt: end, SoftCloseSeconds: 3600, MaxExtension: domain.DefaultMaxExtension,
			Status: domain.StatusOpen, Seq: 3, SaleID: sale.ID, LotNumber: i + 1, LowEstimate: 1500, HighEstimate: 2000,
			CreatedAt: sale.OpensAt, UpdatedAt: sale.OpensAt}
		if i == 0 {
			a.CurrentPrice, a.BidCount, a.LeaderID, a.LeaderMax, a.LeaderAlias, a.BidderCount = 1000, 1, 7, 1000, "Bidder 1", 1
		}
		auctions[a.ID] = a
	}
	return sale, auctions, now
}

// BenchmarkApplyCascade measures applyBatch, the in-memory judging of a
// batch (phase 1 of batchTxPG), for one bid on lot 1 of a 500-lot
// cascade-mode sale: the bid extends its lot and the cascade moves the
// 499 later lots, with one extended event each.
//
//	go test -run '^$' -bench BenchmarkApplyCascade -benchmem ./bidding/
func BenchmarkApplyCascade(b *testing.B) {
	sale, locked, now := cascadeFixture(500)
	batch := []*bidCall{{auctionID: 1000, bidder: domain.User{ID: 8}, in: domain.BidInput{Amount: 1100}, receivedAt: now}}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		auctions := maps.Clone(locked)
		st := newBatchState()
		st.sales[sale.ID] = sale
		st.laterFrom[sale.ID] = 1
		b.StartTimer()
		p := applyBatch(batch, auctions, st, now)
		if len(p.touched) != 500 || len(p.events) != 502 {
			b.Fatalf("%d lots touched, %d events; want 500 and 502", len(p.touched), len(p.events))
		}
	}
}
