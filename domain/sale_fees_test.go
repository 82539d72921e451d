package domain_test

import (
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

func TestSameFees(t *testing.T) {
	t.Parallel()
	vat := func(bps int64) *domain.Tax { return &domain.Tax{Label: "VAT", RateBPS: bps, On: domain.TaxOnPremium} }
	flat := func(bps int64) []domain.PremiumTier { return []domain.PremiumTier{{RateBPS: bps}} }
	tests := []struct {
		name string
		a, b *domain.Fees
		same bool
	}{
		{"nil and nil", nil, nil, true},
		{"nil and zero", nil, &domain.Fees{}, true},
		{"nil and a premium", nil, &domain.Fees{BuyersPremium: flat(2000)}, false},
		{"equal", &domain.Fees{BuyersPremium: flat(2000), Tax: vat(2100)}, &domain.Fees{BuyersPremium: flat(2000), Tax: vat(2100)}, true},
		{"rates differ", &domain.Fees{BuyersPremium: flat(2000)}, &domain.Fees{BuyersPremium: flat(2500)}, false},
		{"tax differs", &domain.Fees{Tax: vat(2100)}, &domain.Fees{Tax: vat(900)}, false},
		{"tax on one side", &domain.Fees{Tax: vat(2100)}, &domain.Fees{}, false},
		{"shipping differs", &domain.Fees{Shipping: []domain.ShippingOption{{Kind: domain.ShippingPickup, Where: "A"}}},
			&domain.Fees{Shipping: []domain.ShippingOption{{Kind: domain.ShippingPickup, Where: "B"}}}, false},
	}
	for _, tt := range tests {
		if got := domain.SameFees(tt.a, tt.b); got != tt.same {
			t.Errorf("%s: SameFees = %v", tt.name, got)
		}
		if got := domain.SameFees(tt.b, tt.a); got != tt.same {
			t.Errorf("%s (swapped): SameFees = %v", tt.name, got)
		}
	}
}

// TestSaleFeesOnLots: a lot takes its sale's fees when created or edited,
// and a reschedule gives them again to lots without bids only.
func TestSaleFeesOnLots(t *testing.T) {
	t.Parallel()
	fees := &domain.Fees{BuyersPremium: []domain.PremiumTier{{UpTo: 100000, RateBPS: 2500}, {RateBPS: 2000}}}
	s, err := domain.NewSale(7, validSale(func(in *domain.SaleInput) { in.Fees = fees }), t0)
	if err != nil {
		t.Fatal(err)
	}
	s.ID = 1
	a, err := domain.NewLot(s, domain.LotInput{LotNumber: 1, Title: "Clock", StartPrice: 1000}, t0)
	if err != nil || !domain.SameFees(a.Fees, fees) {
		t.Fatalf("new lot: %+v %v", a.Fees, err)
	}
	a.ID = 10
	b := a
	b.ID, b.LotNumber, b.BidCount = 11, 2, 1 // stands for a lot with bids
	next, err := domain.EditSale(s, validSale(func(in *domain.SaleInput) { in.Fees = &domain.Fees{} }), t0)
	if err != nil || next.Fees != nil {
		t.Fatalf("sale edited to no fees: %+v %v", next.Fees, err)
	}
	changed := domain.Schedule(next, []domain.Auction{a, b}, t0)
	if len(changed) != 2 || changed[0].Fees != nil || !domain.SameFees(changed[1].Fees, fees) {
		t.Fatalf("rescheduled: %d lots, fees %+v and %+v", len(changed), changed[0].Fees, changed[1].Fees)
	}
	if kept, err := domain.EditSale(s, validSale(), t0); err != nil || !domain.SameFees(kept.Fees, fees) {
		t.Fatalf("an edit without fees: %+v %v", kept.Fees, err)
	}
	bad := validSale(func(in *domain.SaleInput) { in.Fees = &domain.Fees{Tax: &domain.Tax{Label: "VAT"}} })
	if err := domain.ValidateSaleInput(bad, t0); domain.ErrorCode(err) != domain.CodeInvalid {
		t.Fatalf("a tax without a rate: %v", err)
	}
	edited, err := domain.EditLot(next, a, domain.LotInput{LotNumber: 1, Title: "Clock, boxed", StartPrice: 1000}, t0)
	if err != nil || edited.Fees != nil {
		t.Fatalf("a lot edited in a sale without fees: %+v %v", edited.Fees, err)
	}
}
