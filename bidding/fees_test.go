package bidding

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// TestFeesSnapshotAndReceipt checks that a listing keeps the fee schedule
// it was created with (its own, or the seller's default), that an edit
// without fees keeps it, and that a receipt carries the estimated total
// judged with it.
func TestFeesSnapshotAndReceipt(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := mustService(t, db, newClock(t0))
		def := &domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: 1000}}}
		s.opts.DefaultFees = func(_ context.Context, _ int64, currency string) (*domain.Fees, error) {
			return def, nil
		}
		seller, bidder := mustUser(t, s, false), mustUser(t, s, false)
		own := &domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: 2000}},
			Tax: &domain.Tax{Label: "VAT", RateBPS: 2500, On: domain.TaxOnPremium}}
		a := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.Fees = own })
		if got := mustGet(t, s, a.ID).Terms(); got.Estimate(10000).Total != 12500 {
			t.Fatalf("stored fees %+v", got)
		}
		in := domain.AuctionInput{Title: "Lamp 2", Currency: "EUR", StartPrice: 1000, EndsAt: a.EndsAt}
		if _, err := s.UpdateAuction(context.Background(), seller, a.ID, in); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, s, a.ID).Terms(); got.Tax == nil || got.Tax.RateBPS != 2500 {
			t.Fatalf("an edit without fees changed them to %+v", got)
		}
		r := mustBid(t, s, bidder, a.ID, 10000, 0)
		if r.EstimatedTotal != 12500 || r.Estimate == nil || r.Estimate.Premium != 2000 || r.Estimate.Tax != 500 {
			t.Errorf("receipt estimate %d %+v, want 12500 = 100.00 + 20.00 + 5.00", r.EstimatedTotal, r.Estimate)
		}
		b := mustAuction(t, s, seller, nil)
		if got := mustGet(t, s, b.ID).Terms(); len(got.BuyersPremium) != 1 || got.BuyersPremium[0].RateBPS != 1000 {
			t.Errorf("a listing without fees got %+v, want the seller's default", got)
		}
		r = mustBid(t, s, bidder, b.ID, 1000, 0)
		if r.EstimatedTotal != 1100 {
			t.Errorf("receipt with the default: %d, want 1100", r.EstimatedTotal)
		}
		// Fees are fixed once bidding starts: edits are refused.
		if _, err := s.UpdateAuction(context.Background(), seller, b.ID, in); err == nil {
			t.Error("an edit after the first bid was accepted")
		}
	})
}
