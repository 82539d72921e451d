package bidding

import (
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// BenchmarkJudgeBatch measures the in-memory part of a batch on one hot
// auction: decoding the locked row (its fee schedule included) and judging
// 256 bids through the pure rule, with the receipt's estimated total. The
// no_fees case is the baseline of the same run: the difference is what
// fees add to the judging path (the commit, ~1 ms, is not included).
//
//	go test -run '^$' -bench BenchmarkJudgeBatch -benchtime 2000x ./bidding/
func BenchmarkJudgeBatch(b *testing.B) {
	tiered := &domain.Fees{BuyersPremium: []domain.PremiumTier{{UpTo: 100000, RateBPS: 2500}, {UpTo: 500000, RateBPS: 2000}, {RateBPS: 1500}},
		Tax: &domain.Tax{Label: "VAT", RateBPS: 2100, On: domain.TaxOnPremium},
		Shipping: []domain.ShippingOption{{Kind: domain.ShippingPickup, Where: "Oudegracht 1, Utrecht", When: "Mon-Fri 10-17"},
			{Kind: domain.ShippingDelivery, Region: "EU", Amount: 2500}}}
	for _, tc := range []struct {
		name string
		fees *domain.Fees
	}{{"no_fees", nil}, {"tiered_fees", tiered}} {
		b.Run(tc.name, func(b *testing.B) {
			now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			a := domain.Auction{ID: 1, SellerID: 1, Title: "Lamp", Currency: "EUR", StartPrice: 1000, Status: domain.StatusOpen,
				StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour), OriginalEndsAt: now.Add(time.Hour),
				MaxExtension: time.Hour, Fees: tc.fees}
			row := auctionToRow(a)
			const n = 256
			batch := make([]*bidCall, n)
			for i := range batch {
				batch[i] = &bidCall{auctionID: 1, bidder: domain.User{ID: int64(2 + i%50)},
					in: domain.BidInput{Amount: 1000 + int64(i)*1000}, receivedAt: now}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				auctions := map[int64]domain.Auction{1: row.toDomain()}
				p := applyBatch(batch, auctions, newBatchState(), now)
				if len(p.accepted) == 0 {
					b.Fatal("no bid accepted")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/bid")
		})
	}
}
