package invoicing_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/salecsv"
)

// saleInput is a sale of e's clock whose lots close a minute apart from
// an hour on, with fees.
func saleInput(e *env, fees *domain.Fees) domain.SaleInput {
	gap, soft := 60, 0
	return domain.SaleInput{Title: "Autumn sale", Currency: "EUR", FirstCloseAt: e.clock.now().Add(time.Hour),
		GapSeconds: &gap, SoftCloseSeconds: &soft, Fees: fees}
}

func lotIn(n int, title string) domain.LotInput {
	return domain.LotInput{LotNumber: n, Title: title, StartPrice: 1000}
}

// wantLotFees checks every lot of a sale carries want.
func wantLotFees(t *testing.T, e *env, saleID int64, want *domain.Fees) []domain.Auction {
	t.Helper()
	lots, err := e.bid.Lots(context.Background(), saleID)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lots {
		if !domain.SameFees(l.Fees, want) {
			t.Errorf("lot %d carries %+v, want %+v", l.LotNumber, l.Fees, want)
		}
	}
	return lots
}

// TestSaleFeesReachTheInvoice: a sale's premium, tax and shipping are
// copied to its lots, whether added one by one or from a CSV file, and a
// lot sold in the sale is invoiced under them.
func TestSaleFeesReachTheInvoice(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		seller, buyer := e.user(false), e.user(false)
		fees := standard()
		sale, err := e.bid.CreateSale(ctx, seller, saleInput(e, fees))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e.bid.Sale(ctx, sale.ID); err != nil || !domain.SameFees(got.Fees, fees) {
			t.Fatalf("stored sale fees %+v (%v), want %+v", got.Fees, err, fees)
		}
		for _, li := range []domain.LotInput{lotIn(1, "Clock"), lotIn(2, "Vase")} {
			if _, err := e.bid.AddLots(ctx, seller, sale.ID, []domain.LotInput{li}); err != nil {
				t.Fatal(err)
			}
		}
		file := salecsv.Parse([]byte("lot_number,title,description,start_price,reserve,low_estimate,high_estimate,buy_now\n"+
			"3,Chair,,10.00,,,,\n4,Rug,,10.00,,,,\n"), "EUR")
		if !file.OK() {
			t.Fatalf("CSV: %+v", file.Problems)
		}
		var rows []domain.LotInput
		for _, l := range file.Lots {
			rows = append(rows, l.LotInput)
		}
		if _, err := e.bid.AddLots(ctx, seller, sale.ID, rows); err != nil {
			t.Fatal(err)
		}
		lots := wantLotFees(t, e, sale.ID, fees)
		if len(lots) != 4 {
			t.Fatalf("%d lots", len(lots))
		}
		// An edited lot keeps the sale's fees.
		if _, err := e.bid.UpdateLot(ctx, seller, sale.ID, lots[1].ID, lotIn(2, "Blue vase")); err != nil {
			t.Fatal(err)
		}
		wantLotFees(t, e, sale.ID, fees)
		if _, err := e.bid.PublishSale(ctx, seller, sale.ID); err != nil {
			t.Fatal(err)
		}
		// The receipt already estimates with the sale's fees.
		r, err := e.bid.PlaceBid(ctx, buyer, lots[0].ID, domain.BidInput{Amount: 120000})
		if err != nil {
			t.Fatal(err)
		}
		if r.EstimatedTotal != 155090 {
			t.Errorf("receipt estimated_total %d, want 1550.90 (docs/INVOICING.md's worked example)", r.EstimatedTotal)
		}
		e.placeBid(buyer, lots[2].ID, 10000, 0)
		e.closeAll()
		if n := e.settle(); n != 1 {
			t.Fatalf("settled %d invoices, want 1", n)
		}
		got := e.invoices(buyer, domain.AsBuyer)
		if len(got) != 1 {
			t.Fatalf("buyer's invoices: %+v", got)
		}
		inv := got[0]
		type line struct {
			kind   domain.LineKind
			lot    int
			amount int64
		}
		want := []line{
			{domain.LineHammer, 1, 120000}, {domain.LinePremium, 1, 29000}, {domain.LineTax, 1, 6090},
			{domain.LineHammer, 3, 10000}, {domain.LinePremium, 3, 2500}, {domain.LineTax, 3, 525},
		}
		var lines []line
		for _, l := range inv.Lines {
			lines = append(lines, line{l.Kind, l.LotNumber, l.Amount})
		}
		if len(lines) != len(want) {
			t.Fatalf("invoice lines %+v, want %+v", lines, want)
		}
		for i := range want {
			if lines[i] != want[i] {
				t.Errorf("line %d: %+v, want %+v", i, lines[i], want[i])
			}
		}
		if inv.SaleID != sale.ID || inv.Total != 168115 || inv.Total != lineSum(inv) {
			t.Errorf("invoice of sale %d total %d (lines %d), want sale %d, 1,681.15", inv.SaleID, inv.Total, lineSum(inv), sale.ID)
		}
		if len(inv.ShippingOptions) != 2 {
			t.Errorf("the sale's shipping options on the invoice: %+v", inv.ShippingOptions)
		}
	})
}

// TestSaleFeesDefaultsAndEdits: a sale sent without fees takes the
// seller's defaults; an edit of its fees is copied again to its lots that
// have no bid, and an edit without fees keeps them.
func TestSaleFeesDefaultsAndEdits(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		seller := e.user(false)
		defaults := domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: 1500}}}
		if _, err := e.inv.PutSellerSettings(ctx, seller, domain.SellerSettings{Currency: "EUR", Fees: defaults, DueDays: 14}); err != nil {
			t.Fatal(err)
		}
		in := saleInput(e, nil)
		sale, err := e.bid.CreateSale(ctx, seller, in)
		if err != nil {
			t.Fatal(err)
		}
		if !domain.SameFees(sale.Fees, &defaults) {
			t.Fatalf("a sale without fees: %+v, want the seller's defaults", sale.Fees)
		}
		if _, err := e.bid.AddLots(ctx, seller, sale.ID, []domain.LotInput{lotIn(1, "Clock"), lotIn(2, "Vase"), lotIn(3, "Rug")}); err != nil {
			t.Fatal(err)
		}
		lots := wantLotFees(t, e, sale.ID, &defaults)
		// A lot with a bid keeps its fees. A sale that has not opened
		// takes no bid, so the row is set by hand to stand for one.
		if err := db.Exec("UPDATE auctions SET bid_count = 1 WHERE id = ?", lots[1].ID).Error; err != nil {
			t.Fatal(err)
		}
		in.Fees = standard()
		if _, err := e.bid.UpdateSale(ctx, seller, sale.ID, in); err != nil {
			t.Fatal(err)
		}
		after, err := e.bid.Lots(ctx, sale.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range after {
			want := standard()
			if l.ID == lots[1].ID {
				want = &defaults
			}
			if !domain.SameFees(l.Fees, want) {
				t.Errorf("after the edit lot %d (bids %d) carries %+v, want %+v", l.LotNumber, l.BidCount, l.Fees, want)
			}
		}
		// An edit that sends no fees keeps them; an empty schedule removes them.
		in.Fees, in.Title = nil, "Autumn sale (renamed)"
		if s, err := e.bid.UpdateSale(ctx, seller, sale.ID, in); err != nil || !domain.SameFees(s.Fees, standard()) {
			t.Fatalf("edit without fees: %+v %v", s.Fees, err)
		}
		in.Fees = &domain.Fees{}
		if s, err := e.bid.UpdateSale(ctx, seller, sale.ID, in); err != nil || s.Fees != nil {
			t.Fatalf("edit to no fees: %+v %v", s.Fees, err)
		}
		if got, err := e.bid.Sale(ctx, sale.ID); err != nil || got.Fees != nil {
			t.Fatalf("stored after removing the fees: %+v %v", got.Fees, err)
		}
		if l, err := e.bid.Auction(ctx, lots[0].ID); err != nil || l.Fees != nil {
			t.Fatalf("lot 1 after removing the fees: %+v %v", l.Fees, err)
		}
		// A bad schedule is refused by field.
		in.Fees = &domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: 2000}, {RateBPS: 1500}}}
		_, err = e.bid.UpdateSale(ctx, seller, sale.ID, in)
		wantCode(t, err, domain.CodeInvalid)
		// Defaults with tiers in another currency are no default for a USD sale.
		tiered := domain.Fees{BuyersPremium: []domain.PremiumTier{{UpTo: 100000, RateBPS: 2500}, {RateBPS: 2000}}}
		if _, err := e.inv.PutSellerSettings(ctx, seller, domain.SellerSettings{Currency: "EUR", Fees: tiered, DueDays: 14}); err != nil {
			t.Fatal(err)
		}
		usd := saleInput(e, nil)
		usd.Currency = "USD"
		_, err = e.bid.CreateSale(ctx, seller, usd)
		wantCode(t, err, domain.CodeInvalid)
	})
}

func lineSum(inv domain.Invoice) int64 {
	var n int64
	for _, l := range inv.Lines {
		n += l.Amount
	}
	return n
}
