package invoicing_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/invoicing"
)

// newSale inserts an open sale of seller's (the sales migration, issue
// #14, made the table) and returns its id; its lots are put in it by
// hand, which keeps this test to what invoicing does with them.
func newSale(t *testing.T, e *env, seller domain.User) int64 {
	t.Helper()
	now := e.clock.now()
	var id int64
	if err := e.db.Raw(`INSERT INTO sales (seller_id, title, currency, status, opens_at, first_close_at, gap_seconds,
		soft_close_seconds, soft_close_mode, created_at, updated_at) VALUES (?, ?, 'EUR', 'open', ?, ?, 60, 0, 'lot', ?, ?) RETURNING id`,
		seller.ID, "Spring sale", now, now.Add(time.Hour), now, now).Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("new sale: %d %v", id, err)
	}
	return id
}

// TestSaleInvoicesAndStatement: a sale's invoices wait for its last lot;
// then each buyer gets one invoice with their lots in lot order. The
// sale's statement counts sold, unsold and withdrawn lots and the money.
func TestSaleInvoicesAndStatement(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		inv := e.inv
		seller, alice, bob, stranger, admin := e.user(false), e.user(false), e.user(false), e.user(false), e.user(true)
		fees := &domain.Fees{BuyersPremium: []domain.PremiumTier{{RateBPS: 2000}}}
		sale := newSale(t, e, seller)
		mk := func(lot int, ends time.Duration, title string) domain.Auction {
			a := e.listing(seller, fees, func(in *domain.AuctionInput) {
				in.Title, in.EndsAt = title, e.clock.now().Add(ends)
			})
			if err := db.Exec("UPDATE auctions SET sale_id = ?, lot_number = ? WHERE id = ?", sale, lot, a.ID).Error; err != nil {
				t.Fatal(err)
			}
			return a
		}
		l3 := mk(3, time.Hour, "=cmd|' /C calc'!A0") // a hostile title, for the CSV
		l1 := mk(1, time.Hour, "Clock")
		l2 := mk(2, time.Hour, "Vase")
		l4 := mk(4, 3*time.Hour, "Chair") // closes last
		l5 := mk(5, time.Hour, "Rug")     // no bids
		l6 := mk(6, time.Hour, "Mirror")  // withdrawn
		if _, err := e.bid.CancelAuction(ctx, seller, l6.ID, "damaged"); err != nil {
			t.Fatal(err)
		}
		// A single listing closing while the sale runs is invoiced at once.
		solo := e.listing(seller, nil, func(in *domain.AuctionInput) { in.EndsAt = e.clock.now().Add(time.Hour) })
		e.placeBid(stranger, solo.ID, 1000, 0)
		e.placeBid(alice, l1.ID, 10000, 0)
		e.placeBid(bob, l2.ID, 20000, 0)
		e.placeBid(alice, l3.ID, 30000, 0)
		e.placeBid(bob, l4.ID, 40000, 0)
		e.clock.add(90 * time.Minute)
		if _, err := e.bid.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := inv.Settle(ctx); err != nil || n != 1 {
			t.Fatalf("settled %d invoices before the sale ended, want the single listing's only (%v)", n, err)
		}
		if got := e.invoices(stranger, domain.AsBuyer); len(got) != 1 || got[0].SaleID != 0 {
			t.Fatalf("the single listing's invoice: %+v", got)
		}
		e.closeAll()
		if n, err := inv.Settle(ctx); err != nil || n != 2 {
			t.Fatalf("settled %d invoices, want 2 (%v)", n, err)
		}
		al := e.invoices(alice, domain.AsBuyer)
		if len(al) != 1 || al[0].SaleID != sale || len(al[0].Lines) != 4 || al[0].Lines[0].AuctionID != l1.ID || al[0].Lines[2].AuctionID != l3.ID {
			t.Fatalf("alice's invoice %+v", al)
		}
		if al[0].Total != 48000 { // (100 + 300) × 1.2
			t.Errorf("alice's total %d", al[0].Total)
		}
		bl := e.invoices(bob, domain.AsBuyer)
		if len(bl) != 1 || bl[0].Total != 72000 {
			t.Fatalf("bob's invoices %+v", bl)
		}
		if list, err := inv.Invoices(ctx, seller, domain.InvoiceFilter{Role: domain.AsSeller, SaleID: sale}); err != nil || len(list) != 2 {
			t.Fatalf("seller's sale invoices %d %v", len(list), err)
		}
		// Bob does not pay; the credit note puts his lots back to unsold.
		if _, err := inv.CreditNote(ctx, seller, bl[0].ID, "Unpaid"); err != nil {
			t.Fatal(err)
		}
		if err := inv.SetCommission(ctx, admin, seller.ID, ptr64(1500)); err != nil {
			t.Fatal(err)
		}
		_, err := inv.SaleStatement(ctx, stranger, sale)
		wantCode(t, err, domain.CodeNotFound)
		st, err := inv.SaleStatement(ctx, seller, sale)
		if err != nil {
			t.Fatal(err)
		}
		// Commission is the rate on the invoice when issued (10%), not the
		// one set since.
		if st.Sold != 2 || st.Unsold != 3 || st.Withdrawn != 1 || st.Hammer != 40000 || st.Premium != 8000 ||
			st.Commission != 4000 || st.NetPayable != 44000 || st.Currency != "EUR" {
			t.Fatalf("statement %+v", st)
		}
		_ = l5
		data := invoicing.StatementCSV([]domain.Statement{st})
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1+6+1 {
			t.Fatalf("%d CSV rows", len(recs))
		}
		for _, r := range recs {
			for _, c := range r {
				if c != "" && strings.ContainsRune("=+@\t\r", rune(c[0])) {
					t.Errorf("CSV cell %q could run as a formula", c)
				}
			}
		}
		if !bytes.Contains(data, []byte("'=cmd")) || !bytes.Contains(data, []byte("440.00")) {
			t.Errorf("CSV:\n%s", data)
		}
		// Per period: everything that closed in the last day.
		sts, err := inv.PeriodStatements(ctx, seller, seller.ID, e.clock.now().Add(-24*time.Hour), e.clock.now())
		if err != nil || len(sts) != 1 || sts[0].Sold != 3 || sts[0].Withdrawn != 1 {
			t.Fatalf("period statements %+v %v", sts, err)
		}
		_, err = inv.PeriodStatements(ctx, stranger, seller.ID, e.clock.now().Add(-time.Hour), e.clock.now())
		wantCode(t, err, domain.CodeForbidden)
		// New invoices take the new rate.
		x := e.listing(seller, nil, nil)
		e.placeBid(alice, x.ID, 10000, 0)
		e.closeAll()
		e.settle()
		sts, _ = inv.PeriodStatements(ctx, seller, seller.ID, e.clock.now().Add(-time.Hour), e.clock.now().Add(time.Hour))
		if len(sts) != 1 || sts[0].Commission != 1500 {
			t.Errorf("commission at the new rate: %+v", sts)
		}
	})
}

func ptr64(v int64) *int64 { return &v }

func TestCSVCell(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+SUM(A1)": "'+SUM(A1)", "-2+3": "'-2+3", "@cmd": "'@cmd", "\tx": "'\tx", "\rx": "'\rx",
		"-12.50": "-12.50", "12": "12", "Clock": "Clock", "": "",
	} {
		if got := invoicing.CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCSVCell: whatever a seller types, the cell never starts with a
// formula character, unless it is a plain number.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"=1", "-1", "-1e5", "@", "+", "\t", "abc", "-0.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := invoicing.CSVCell(s)
		if got == "" {
			return
		}
		if strings.ContainsRune("=+@\t\r", rune(got[0])) {
			t.Fatalf("CSVCell(%q) = %q", s, got)
		}
		if got[0] == '-' && strings.Trim(got, "-0123456789.") != "" {
			t.Fatalf("CSVCell(%q) = %q starts with - and is not a number", s, got)
		}
	})
}

func TestInvoicePDF(t *testing.T) {
	t.Parallel()
	inv := domain.Invoice{ID: 1, Kind: domain.KindInvoice, Number: 42, Reference: "INV-00042", Status: domain.InvoiceIssued,
		Currency: "EUR", Seller: domain.Party{Name: "Veilinghuis Ödön", Email: "h@example.com"}, Buyer: domain.Party{Name: "Zoë", Email: "z@example.com"},
		IssuedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DueAt: time.Date(2026, 1, 16, 3, 4, 5, 0, time.UTC),
		Lines:           domain.LotLines(domain.LotSold{AuctionID: 1, Title: "Brass lamp €", Hammer: 120000, Fees: *standard()}, "EUR"),
		ShippingOptions: standard().Shipping, PaymentInstructions: "IBAN NL00"}
	inv.Total, _ = domain.SumLines(inv.Lines)
	a, err := invoicing.InvoicePDF(inv, "IBAN NL00", standard().Terms("EUR"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := invoicing.InvoicePDF(inv, "IBAN NL00", standard().Terms("EUR"))
	if !bytes.HasPrefix(a, []byte("%PDF-")) || !bytes.Equal(a, b) || len(a) < 1000 {
		t.Errorf("PDF of %d bytes, deterministic %v", len(a), bytes.Equal(a, b))
	}
}
