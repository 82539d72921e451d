package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestDemoSale checks the demo's live sale: its first round publishes one
// open cascade sale of demoSaleLots lots closing 20 s apart, and later
// rounds bid on the next lots to close without starting another sale.
func TestDemoSale(t *testing.T) {
	ctx := context.Background()
	svc := bidding.New(testpg.DB(t), bidding.Options{PasswordCost: bcrypt.MinCost})
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	seller, err := svc.CreateUser(ctx, "demo-seller@example.com", "correct horse", "Demo Seller", false)
	if err != nil {
		t.Fatal(err)
	}
	var bots []domain.User
	for i := range 3 {
		u, err := svc.CreateUser(ctx, fmt.Sprintf("bot%d@example.com", i), "correct horse", fmt.Sprintf("Bot %d", i), false)
		if err != nil {
			t.Fatal(err)
		}
		bots = append(bots, u)
	}
	rng := rand.New(rand.NewPCG(1, 14))
	if err := demoSaleBid(ctx, svc, seller, bots, rng); err != nil {
		t.Fatalf("the first round: %v", err)
	}
	sales, err := svc.Sales(ctx, domain.SaleFilter{SellerID: seller.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(sales) != 1 || sales[0].Status != domain.SaleOpen || sales[0].SoftCloseMode != domain.SoftCloseCascade || sales[0].GapSeconds != 20 {
		t.Fatalf("demo sales %+v, want one open cascade sale 20 s apart", sales)
	}
	lots, err := svc.Lots(ctx, sales[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(lots) != 30 {
		t.Fatalf("%d lots, want 30", len(lots))
	}
	for i, a := range lots {
		if a.Status != domain.StatusOpen || a.LotNumber != i+1 {
			t.Fatalf("lot %d: number %d, %s", i+1, a.LotNumber, a.Status)
		}
		if i > 0 && a.EndsAt.Sub(lots[i-1].EndsAt) != 20*time.Second {
			t.Fatalf("lots %d and %d close %s apart, want 20s", i, i+1, a.EndsAt.Sub(lots[i-1].EndsAt))
		}
	}
	if left := time.Until(lots[0].EndsAt); left < time.Minute {
		t.Errorf("the first lot closes in %s: a newcomer would miss it", left)
	}

	// Later rounds bid on the next lots to close; no second sale starts.
	placed := 0
	for range 6 {
		if demoSaleBid(ctx, svc, seller, bots, rng) == nil {
			placed++
		}
	}
	if placed == 0 {
		t.Fatal("no demo bid was placed")
	}
	if sales, _ := svc.Sales(ctx, domain.SaleFilter{SellerID: seller.ID}); len(sales) != 1 {
		t.Fatalf("%d demo sales after bidding rounds, want 1", len(sales))
	}
	lots, _ = svc.Lots(ctx, sales[0].ID)
	bids := 0
	for _, a := range lots {
		if a.BidCount > 0 && a.LotNumber > 4 {
			t.Errorf("a demo bid on lot %d, not one of the next to close", a.LotNumber)
		}
		bids += a.BidCount
	}
	if bids == 0 {
		t.Error("no lot of the demo sale has a bid")
	}
}
