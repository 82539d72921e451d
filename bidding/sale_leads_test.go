package bidding

import (
	"context"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// TestLeadLots: each sale's first lots in lot order, withdrawn ones left
// out, for several sales in one read.
func TestLeadLots(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		c := newClock(t0)
		s := mustService(t, db, c)
		seller, admin := mustUser(t, s, false), mustUser(t, s, true)
		a, aLots := mustOpenSale(t, s, c, seller, domain.SoftCloseLot, 5, 30, 60)
		b, bLots := mustDraft(t, s, seller, domain.SoftCloseLot, 2, 30, 60)
		empty, err := s.CreateSale(ctx, seller, domain.SaleInput{Title: "Empty", Currency: "EUR", FirstCloseAt: saleFirstClose})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CancelAuction(ctx, admin, aLots[0].ID, "Withdrawn"); err != nil {
			t.Fatal(err)
		}
		got, err := s.LeadLots(ctx, []int64{a.ID, b.ID, empty.ID}, 3)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{aLots[1].ID, aLots[2].ID, aLots[3].ID}; !slices.Equal(got[a.ID], want) {
			t.Errorf("sale a: %v, want %v", got[a.ID], want)
		}
		if want := []int64{bLots[0].ID, bLots[1].ID}; !slices.Equal(got[b.ID], want) {
			t.Errorf("sale b: %v, want %v", got[b.ID], want)
		}
		if len(got[empty.ID]) != 0 || len(got) != 2 {
			t.Errorf("leads %v", got)
		}
		if got, err := s.LeadLots(ctx, nil, 3); err != nil || len(got) != 0 {
			t.Errorf("no sales: %v %v", got, err)
		}
	})
}
