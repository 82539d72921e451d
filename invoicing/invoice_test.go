package invoicing_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/invoicing"
)

// TestSettleSingleListings: a sold listing gets one invoice for its
// winner, with the lines its fees promised and a total equal to the
// estimate bidders were shown; unsold listings get none; settling again
// issues nothing more.
func TestSettleSingleListings(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		seller, alice, bob := e.user(false), e.user(false), e.user(false)
		if _, err := e.inv.PutSellerSettings(ctx, seller, domain.SellerSettings{PaymentInstructions: "IBAN NL00 BANK 0123 4567 89", DueDays: 7}); err != nil {
			t.Fatal(err)
		}
		sold := e.listing(seller, standard(), nil)
		reserve := e.listing(seller, standard(), func(in *domain.AuctionInput) { in.ReservePrice = 500000 })
		nobids := e.listing(seller, nil, nil)
		e.placeBid(alice, sold.ID, 120000, 0)
		e.placeBid(bob, reserve.ID, 2000, 0)
		e.closeAll()
		if n := e.settle(); n != 1 {
			t.Fatalf("settle issued %d invoices, want 1", n)
		}
		if n := e.settle(); n != 0 {
			t.Fatalf("a second settle issued %d more", n)
		}
		list := e.invoices(alice, domain.AsBuyer)
		if len(list) != 1 {
			t.Fatalf("alice has %d invoices", len(list))
		}
		inv := list[0]
		est := standard().Estimate(120000) // 1,200.00: premium 250.00 + 40.00, VAT 21% of that
		if inv.Total != est.Total || inv.Number != 1 || inv.Reference != "INV-00001" || inv.Status != domain.InvoiceIssued {
			t.Errorf("invoice %s #%d %s total %d, want INV-00001 issued total %d", inv.Reference, inv.Number, inv.Status, inv.Total, est.Total)
		}
		kinds := []domain.LineKind{}
		for _, l := range inv.Lines {
			kinds = append(kinds, l.Kind)
		}
		if !slices.Equal(kinds, []domain.LineKind{domain.LineHammer, domain.LinePremium, domain.LineTax}) {
			t.Errorf("lines %v", kinds)
		}
		if inv.Lines[1].Amount != 29000 || inv.Lines[2].Amount != 6090 {
			t.Errorf("premium %d, VAT %d; want 290.00 and 60.90", inv.Lines[1].Amount, inv.Lines[2].Amount)
		}
		if inv.PaymentInstructions != "IBAN NL00 BANK 0123 4567 89" || !inv.DueAt.Equal(inv.IssuedAt.AddDate(0, 0, 7)) {
			t.Errorf("instructions %q, due %v (issued %v)", inv.PaymentInstructions, inv.DueAt, inv.IssuedAt)
		}
		if len(inv.ShippingOptions) != 2 || inv.Seller.ID != seller.ID || inv.Buyer.Name != alice.Name {
			t.Errorf("options %v, seller %+v, buyer %+v", inv.ShippingOptions, inv.Seller, inv.Buyer)
		}
		if got := e.invoices(bob, domain.AsBuyer); len(got) != 0 {
			t.Errorf("bob (reserve not met) has %d invoices", len(got))
		}
		if got := e.invoices(seller, domain.AsSeller); len(got) != 1 {
			t.Errorf("the seller sees %d invoices", len(got))
		}
		var unsettled int64
		db.Raw("SELECT count(*) FROM auctions WHERE id IN ? AND settled_at IS NULL", []int64{sold.ID, reserve.ID, nobids.ID}).Scan(&unsettled)
		if unsettled != 0 {
			t.Errorf("%d closed lots left unsettled", unsettled)
		}
		if got := e.personal(alice); !slices.Equal(got, []string{"invoice:issued"}) {
			t.Errorf("alice's events %v", got)
		}
		if got := e.personal(seller); !slices.Equal(got, []string{"invoice:issued"}) {
			t.Errorf("seller's events %v", got)
		}
		// Others cannot see it, and are not told it exists.
		if _, err := e.inv.Invoice(ctx, bob, inv.ID); err != invoicing.ErrInvoiceNotFound {
			t.Errorf("a stranger reading the invoice: %v", err)
		}
	})
}

// TestInvoiceSteps walks an invoice through checkout, payment and
// collection, and a second through a credit note, checking the refusals
// on the way and the audit trail.
func TestInvoiceSteps(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		seller, alice, admin, stranger := e.user(false), e.user(false), e.user(true), e.user(false)
		a := e.listing(seller, standard(), nil)
		b := e.listing(seller, standard(), nil)
		e.placeBid(alice, a.ID, 10000, 0)
		e.placeBid(alice, b.ID, 10000, 0)
		e.closeAll()
		e.settle()
		list := e.invoices(alice, domain.AsBuyer)
		if len(list) != 2 {
			t.Fatalf("%d invoices", len(list))
		}
		first, second := list[1], list[0]
		if first.Number != 1 || second.Number != 2 {
			t.Fatalf("numbers %d, %d", first.Number, second.Number)
		}

		_, err := e.inv.MarkPaid(ctx, seller, first.ID, domain.Payment{})
		wantCode(t, err, domain.CodeConflict) // no checkout yet
		_, err = e.inv.MarkPaid(ctx, alice, first.ID, domain.Payment{})
		wantCode(t, err, domain.CodeForbidden)
		_, err = e.inv.MarkPaid(ctx, stranger, first.ID, domain.Payment{})
		wantCode(t, err, domain.CodeNotFound)
		_, err = e.inv.Checkout(ctx, alice, first.ID, 7)
		wantCode(t, err, domain.CodeInvalid)
		inv, err := e.inv.Checkout(ctx, alice, first.ID, 0) // collection
		if err != nil {
			t.Fatal(err)
		}
		if inv.Checkout == nil || inv.Checkout.Choice.Kind != domain.ShippingPickup || inv.Total != first.Total {
			t.Fatalf("after checkout: %+v total %d", inv.Checkout, inv.Total)
		}
		_, err = e.inv.Checkout(ctx, alice, first.ID, 1)
		wantCode(t, err, domain.CodeConflict)
		_, err = e.inv.MarkCollected(ctx, seller, first.ID, "")
		wantCode(t, err, domain.CodeConflict) // not paid
		if inv, err = e.inv.MarkPaid(ctx, seller, first.ID, domain.Payment{Method: "bank_transfer", Reference: "=HYPERLINK(x)"}); err != nil {
			t.Fatal(err)
		}
		if inv.Status != domain.InvoicePaid || inv.PaidAt == nil {
			t.Fatalf("after paid: %s", inv.Status)
		}
		_, err = e.inv.MarkShipped(ctx, seller, first.ID, "TRACK1")
		wantCode(t, err, domain.CodeConflict) // the buyer chose collection
		if inv, err = e.inv.MarkCollected(ctx, admin, first.ID, "slip 12"); err != nil {
			t.Fatal(err)
		}
		if inv.Status != domain.InvoiceCollected || inv.Tracking != "slip 12" {
			t.Fatalf("after collected: %s %q", inv.Status, inv.Tracking)
		}

		// Delivery: the charge becomes the last line and the total.
		inv, err = e.inv.Checkout(ctx, seller, second.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if last := inv.Lines[len(inv.Lines)-1]; last.Kind != domain.LineShipping || last.Amount != 2500 || inv.Total != second.Total+2500 {
			t.Fatalf("delivery line %+v total %d", last, inv.Total)
		}
		_, err = e.inv.CreditNote(ctx, seller, second.ID, "")
		wantCode(t, err, domain.CodeInvalid)
		cn, err := e.inv.CreditNote(ctx, seller, second.ID, "Buyer did not pay")
		if err != nil {
			t.Fatal(err)
		}
		if cn.Kind != domain.KindCreditNote || cn.Reference != "CN-00001" || cn.CreditFor != second.ID || cn.Total != -inv.Total {
			t.Fatalf("credit note %s for %d total %d, want CN-00001 for %d total %d", cn.Reference, cn.CreditFor, cn.Total, second.ID, -inv.Total)
		}
		again, err := e.inv.Invoice(ctx, alice, second.ID)
		if err != nil || again.Status != domain.InvoiceCancelled || again.CreditNoteID != cn.ID {
			t.Fatalf("cancelled invoice: %+v %v", again, err)
		}
		_, err = e.inv.MarkPaid(ctx, seller, second.ID, domain.Payment{})
		wantCode(t, err, domain.CodeConflict)
		_, err = e.inv.CreditNote(ctx, seller, second.ID, "twice")
		wantCode(t, err, domain.CodeConflict)

		var actions []string
		db.Raw("SELECT action FROM audit_log WHERE action LIKE 'invoice%' ORDER BY id").Scan(&actions)
		want := []string{"invoice_issued", "invoice_issued", "invoice_checkout", "invoice_paid", "invoice_collected", "invoice_checkout", "invoice_credit_note"}
		if !slices.Equal(actions, want) {
			t.Errorf("audit %v, want %v", actions, want)
		}
		got := e.personal(alice)
		want = []string{"invoice:issued", "invoice:issued", "invoice:checkout", "invoice:paid", "invoice:collected", "invoice:checkout", "invoice:cancelled", "invoice:issued"}
		if !slices.Equal(got, want) {
			t.Errorf("alice's events %v, want %v", got, want)
		}
	})
}

// TestImmutableInDatabase: the database itself refuses to change an
// issued invoice's lines or document columns, to delete it, to add a
// line, to change a checkout, and to revive a cancelled invoice; state
// columns still move.
func TestImmutableInDatabase(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		seller, alice := e.user(false), e.user(false)
		a := e.listing(seller, standard(), nil)
		e.placeBid(alice, a.ID, 10000, 0)
		e.closeAll()
		e.settle()
		inv := e.invoices(alice, domain.AsBuyer)[0]
		if _, err := e.inv.Checkout(ctx, alice, inv.ID, 1); err != nil {
			t.Fatal(err)
		}
		refused := []string{
			"UPDATE invoice_lines SET amount = 1 WHERE invoice_id = ?",
			"UPDATE invoice_lines SET description = 'x' WHERE invoice_id = ?",
			"DELETE FROM invoice_lines WHERE invoice_id = ?",
			"INSERT INTO invoice_lines (invoice_id, position, kind, description, amount) VALUES (?, 99, 'hammer', 'extra', 1)",
			"UPDATE invoices SET subtotal = subtotal - 1 WHERE id = ?",
			"UPDATE invoices SET buyer_name = 'Someone else' WHERE id = ?",
			"UPDATE invoices SET number = number + 100 WHERE id = ?",
			"UPDATE invoices SET due_at = issued_at WHERE id = ?",
			"DELETE FROM invoices WHERE id = ?",
			"UPDATE invoice_checkouts SET amount = 0 WHERE invoice_id = ?",
			"DELETE FROM invoice_checkouts WHERE invoice_id = ?",
		}
		for _, q := range refused {
			if err := db.Exec(q, inv.ID).Error; err == nil {
				t.Errorf("the database accepted: %s", q)
			}
		}
		if err := db.Exec("UPDATE invoices SET tracking = 'T1' WHERE id = ?", inv.ID).Error; err != nil {
			t.Errorf("a state column was refused: %v", err)
		}
		if _, err := e.inv.CreditNote(ctx, seller, inv.ID, "Damaged in transit"); err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("UPDATE invoices SET status = 'issued' WHERE id = ?", inv.ID).Error; err == nil {
			t.Error("the database revived a cancelled invoice")
		}
		got, err := e.inv.Invoice(ctx, alice, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != inv.Total+2500 || len(got.Lines) != len(inv.Lines)+1 {
			t.Errorf("the invoice changed: total %d, %d lines", got.Total, len(got.Lines))
		}
		if db.Name() == "postgres" {
			if err := db.Exec("TRUNCATE invoice_lines, invoice_checkouts, invoices").Error; err == nil {
				t.Error("TRUNCATE was accepted")
			}
		}
	})
}

// TestOverdue flags an unpaid invoice past its due date once, to its
// seller and buyer.
func TestOverdue(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		seller, alice := e.user(false), e.user(false)
		a := e.listing(seller, nil, nil)
		e.placeBid(alice, a.ID, 10000, 0)
		e.closeAll()
		e.settle()
		if n, err := e.inv.FlagOverdue(ctx); err != nil || n != 0 {
			t.Fatalf("flagged %d before the due date (%v)", n, err)
		}
		e.clock.add(15 * 24 * time.Hour)
		if n, err := e.inv.FlagOverdue(ctx); err != nil || n != 1 {
			t.Fatalf("flagged %d past the due date (%v)", n, err)
		}
		if n, _ := e.inv.FlagOverdue(ctx); n != 0 {
			t.Errorf("flagged again: %d", n)
		}
		list, err := e.inv.Invoices(ctx, seller, domain.InvoiceFilter{Role: domain.AsSeller, Status: "overdue"})
		if err != nil || len(list) != 1 || !list[0].Overdue {
			t.Fatalf("overdue list %+v %v", list, err)
		}
		if got := e.personal(seller); !slices.Equal(got, []string{"invoice:issued", "invoice:overdue"}) {
			t.Errorf("seller's events %v", got)
		}
	})
}

// TestSellerSettings: defaults apply to new listings in their currency;
// tiered defaults in another currency are refused with a clear message.
func TestSellerSettings(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		seller := e.user(false)
		_, err := e.inv.PutSellerSettings(ctx, seller, domain.SellerSettings{DueDays: 400})
		wantCode(t, err, domain.CodeInvalid)
		set, err := e.inv.PutSellerSettings(ctx, seller, domain.SellerSettings{Fees: *standard(), Currency: "eur", DueDays: 10})
		if err != nil {
			t.Fatal(err)
		}
		if set.Currency != "EUR" || set.DueDays != 10 || len(set.Fees.BuyersPremium) != 2 {
			t.Fatalf("saved %+v", set)
		}
		a := e.listing(seller, nil, nil)
		if got := a.Terms(); len(got.BuyersPremium) != 2 || got.Tax == nil {
			t.Errorf("a new listing got %+v", got)
		}
		_, err = e.bid.CreateAuction(ctx, seller, domain.AuctionInput{Title: "Vase", Currency: "JPY", StartPrice: 1000, EndsAt: e.clock.now().Add(time.Hour)})
		if de, ok := err.(*domain.Error); !ok || !strings.Contains(de.Message, "in EUR") {
			t.Errorf("a JPY listing under EUR tiers: %v", err)
		}
	})
}
