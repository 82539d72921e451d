package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/smtptest"
)

// verifiedClient registers and logs in a user on a node that requires
// verification, and follows the emailed link.
func verifiedClient(t *testing.T, base string, srv *smtptest.Server, email string) *client {
	t.Helper()
	c := mustClient(t, base, email)
	link := mailTo(t, srv, email, "verify", base+"/verify?token=", 0)
	if code, body := c.get(link); code != http.StatusOK {
		t.Fatalf("verifying %s: %d\n%s", email, code, body)
	}
	return c
}

// personalEvents collects one user's /stream/me events of a type.
type personalEvents struct {
	t   *testing.T
	in  <-chan sseEvent
	got []domain.Event
}

// wait reads the stream until an event satisfies ok, for up to 30 s.
func (p *personalEvents) wait(what string, ok func(domain.Event) bool) domain.Event {
	p.t.Helper()
	for _, e := range p.got {
		if ok(e) {
			return e
		}
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case e, open := <-p.in:
			if !open {
				p.t.Fatalf("/stream/me ended before %s", what)
			}
			p.got = append(p.got, e.ev)
			if ok(e.ev) {
				return e.ev
			}
		case <-deadline:
			p.t.Fatalf("no %s on /stream/me; got %d events", what, len(p.got))
		}
	}
}

func invoiceChange(id int64, change string) func(domain.Event) bool {
	return func(e domain.Event) bool {
		return e.Type == domain.EventInvoice && e.Invoice != nil && e.Invoice.ID == id && e.Invoice.Change == change
	}
}

// sumLines is what an invoice's total must be.
func sumLines(inv domain.Invoice) int64 {
	var n int64
	for _, l := range inv.Lines {
		n += l.Amount
	}
	return n
}

// TestInvoicingOverHTTP drives the after-the-hammer API of issue #17
// end to end on one node (PostgreSQL, NATS, a real SMTP server): seller
// defaults and a lot's own fees, estimated_total on the auction and the
// receipt, the invoice issued when the lot closes (live on /stream/me and
// by email), its views and who may see them, checkout, paid, shipped, a
// credit note, a second-chance offer to the runner-up, a reserve offer,
// gap-free numbering, the audit log and the seller's statement as CSV.
func TestInvoicingOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	n, srv := startMailNode(t)
	base := n.URL()
	api := base + "/api/v1"
	seller := verifiedClient(t, base, srv, "house@example.com")
	buyer := verifiedClient(t, base, srv, "bea@example.com")
	runner := verifiedClient(t, base, srv, "rex@example.com")
	stranger := verifiedClient(t, base, srv, "sid@example.com")
	if _, err := n.svc.CreateUser(context.Background(), "ada@example.com", "correct horse", "Ada Admin", true); err != nil {
		t.Fatal(err)
	}
	admin := newJarClient(t)
	admin.json(http.MethodPost, api+"/session", map[string]any{"email": "ada@example.com", "password": "correct horse"}, http.StatusOK, nil)
	seller.json(http.MethodPut, api+"/admin/commission", map[string]any{"rate_bps": 1000}, http.StatusForbidden, nil)
	admin.json(http.MethodPut, api+"/admin/commission", map[string]any{"rate_bps": 1000}, http.StatusOK, nil)

	var set struct {
		Terms []string `json:"terms"`
	}
	seller.json(http.MethodPut, api+"/me/seller-settings", map[string]any{
		"buyers_premium": []map[string]any{{"up_to": 100000, "rate_bps": 2000}, {"rate_bps": 1500}},
		"tax":            map[string]any{"label": "VAT", "rate_bps": 2500, "on": "premium"},
		"shipping": []map[string]any{{"kind": "pickup", "where": "Saleroom, Utrecht", "when": "Mon-Fri"},
			{"kind": "delivery", "region": "EU", "amount": 2500}},
		"currency": "EUR", "payment_instructions": "IBAN NL00 HAMR 0000 1111 22", "due_days": 7,
	}, http.StatusOK, &set)
	if len(set.Terms) == 0 || !strings.Contains(strings.Join(set.Terms, " "), "20% of the hammer price up to 1000.00 EUR") {
		t.Errorf("terms of the seller's defaults: %q", set.Terms)
	}
	// A schedule whose middle tier has no bound is refused, by field.
	bad := map[string]any{"buyers_premium": []map[string]any{{"rate_bps": 2000}, {"rate_bps": 1500}}, "currency": "EUR"}
	if code := seller.json(http.MethodPut, api+"/me/seller-settings", bad, 0, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("tiers without bounds: %d, want 422", code)
	}

	// The verification takes up to the one-second user cache to show.
	ends := time.Now().Add(12 * time.Second).UTC().Format(time.RFC3339)
	var jug, clock domain.AuctionView
	waitFor(t, "the verified seller may list", func() bool {
		return seller.json(http.MethodPost, api+"/auctions", map[string]any{"title": "Pewter jug", "currency": "EUR",
			"start_price": 5000, "ends_at": ends, "soft_close_seconds": 0}, 0, &jug) == http.StatusCreated
	})
	// A lot with its own fees, and a reserve nobody will meet. Its title
	// would run as a formula in a spreadsheet.
	seller.json(http.MethodPost, api+"/auctions", map[string]any{"title": "=HYPERLINK(\"x\") clock", "currency": "EUR",
		"start_price": 10000, "reserve_price": 50000, "ends_at": ends, "soft_close_seconds": 0,
		"buyers_premium": []map[string]any{{"rate_bps": 1000}}, "tax": map[string]any{"label": "Sales tax", "rate_bps": 1000, "on": "hammer_and_premium"},
	}, http.StatusCreated, &clock)
	if jug.EstimatedTotal != 6250 || jug.Estimate.Premium != 1000 || jug.Estimate.Tax != 250 {
		t.Errorf("jug at its start price: estimated_total %d %+v, want 62.50 = 50.00 + 10.00 + 2.50", jug.EstimatedTotal, jug.Estimate)
	}
	var got domain.AuctionView
	buyer.json(http.MethodGet, fmt.Sprintf("%s/auctions/%d", api, clock.ID), nil, http.StatusOK, &got)
	if got.EstimatedTotal != 12100 || got.Tax == nil || got.Tax.Label != "Sales tax" || len(got.BuyersPremium) != 1 {
		t.Errorf("clock: estimated_total %d, fees %+v %+v; want 121.00 = (100.00 + 10.00) × 1.10", got.EstimatedTotal, got.BuyersPremium, got.Tax)
	}

	me := &personalEvents{t: t, in: buyer.stream(base+"/stream/me", "")}
	rex := &personalEvents{t: t, in: runner.stream(base+"/stream/me", "")}
	var r domain.Receipt
	runner.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/bids", api, jug.ID), map[string]any{"amount": 6000}, http.StatusCreated, &r)
	buyer.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/bids", api, jug.ID), map[string]any{"amount": 10000}, http.StatusCreated, &r)
	if r.EstimatedTotal != 12500 || r.Estimate == nil || r.Estimate.Premium != 2000 || r.Estimate.Tax != 500 {
		t.Errorf("receipt: estimated_total %d %+v, want 125.00", r.EstimatedTotal, r.Estimate)
	}
	buyer.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/bids", api, clock.ID), map[string]any{"amount": 20000, "max_amount": 30000}, http.StatusCreated, &r)

	// The jug closes sold: its invoice is issued, live and by email.
	issued := me.wait("the invoice being issued", func(e domain.Event) bool {
		return e.Type == domain.EventInvoice && e.Invoice != nil && e.Invoice.Change == "issued"
	})
	id := issued.Invoice.ID
	invURL := fmt.Sprintf("%s/invoices/%d", api, id)
	var inv domain.Invoice
	buyer.json(http.MethodGet, invURL, nil, http.StatusOK, &inv)
	if inv.Reference != "INV-00001" || inv.Number != 1 || inv.Status != domain.InvoiceIssued || inv.Total != 12500 ||
		inv.Total != sumLines(inv) || len(inv.Lines) != 3 || inv.Lines[0].Kind != domain.LineHammer || inv.Lines[0].Amount != 10000 {
		t.Fatalf("the jug's invoice: %+v", inv)
	}
	if inv.PaymentInstructions != "IBAN NL00 HAMR 0000 1111 22" || len(inv.ShippingOptions) != 2 || inv.DueAt.Sub(inv.IssuedAt) != 7*24*time.Hour {
		t.Errorf("instructions %q, options %d, due after %v", inv.PaymentInstructions, len(inv.ShippingOptions), inv.DueAt.Sub(inv.IssuedAt))
	}
	mailTo(t, srv, "bea@example.com", "invoice", fmt.Sprintf("%s/invoices/%d", base, id), 0)
	var list struct{ Invoices []domain.Invoice }
	buyer.json(http.MethodGet, api+"/me/invoices", nil, http.StatusOK, &list)
	if len(list.Invoices) != 1 || list.Invoices[0].ID != id {
		t.Errorf("the buyer's invoices: %+v", list.Invoices)
	}
	stranger.json(http.MethodGet, invURL, nil, http.StatusNotFound, nil)
	if code, body := buyer.get(fmt.Sprintf("%s/invoices/%d", base, id)); code != http.StatusOK || !strings.Contains(body, "INV-00001") {
		t.Errorf("invoice page: %d", code)
	}
	if code, body := buyer.get(fmt.Sprintf("%s/invoices/%d.pdf", base, id)); code != http.StatusOK || !strings.HasPrefix(body, "%PDF-") {
		t.Errorf("invoice PDF: %d %.20q", code, body)
	}
	if code, _ := stranger.get(fmt.Sprintf("%s/invoices/%d.pdf", base, id)); code != http.StatusNotFound {
		t.Errorf("a stranger's PDF: %d, want 404", code)
	}

	// Checkout, payment and shipping; the buyer may not take the seller's
	// steps, and payment waits for the choice.
	buyer.json(http.MethodPost, invURL+"/paid", nil, http.StatusForbidden, nil)
	seller.json(http.MethodPost, invURL+"/paid", nil, http.StatusConflict, nil)
	buyer.json(http.MethodPost, invURL+"/checkout", map[string]any{"option": 1}, http.StatusOK, &inv)
	if inv.Total != 15000 || inv.Total != sumLines(inv) || inv.Checkout == nil || inv.Checkout.Choice.Region != "EU" {
		t.Errorf("after choosing delivery: total %d, checkout %+v", inv.Total, inv.Checkout)
	}
	buyer.json(http.MethodPost, invURL+"/checkout", map[string]any{"option": 0}, http.StatusConflict, nil)
	seller.json(http.MethodPost, invURL+"/paid", map[string]any{"method": "bank_transfer", "reference": "TX-1"}, http.StatusOK, &inv)
	me.wait("paid, live", invoiceChange(id, "paid"))
	seller.json(http.MethodPost, invURL+"/collected", nil, http.StatusConflict, nil)
	mails := len(srv.Messages())
	seller.json(http.MethodPost, invURL+"/shipped", map[string]any{"tracking": "3SABC123"}, http.StatusOK, &inv)
	if inv.Status != domain.InvoiceShipped || inv.Tracking != "3SABC123" {
		t.Errorf("shipped: %s %q", inv.Status, inv.Tracking)
	}
	me.wait("shipped, live", invoiceChange(id, "shipped"))
	mailTo(t, srv, "bea@example.com", "invoice", fmt.Sprintf("%s/invoices/%d", base, id), mails)

	// Returned: a credit note cancels it, and the runner-up is offered the
	// jug at their own highest bid.
	seller.json(http.MethodPost, invURL+"/credit-note", map[string]any{}, http.StatusUnprocessableEntity, nil)
	var cn domain.Invoice
	seller.json(http.MethodPost, invURL+"/credit-note", map[string]any{"reason": "returned damaged"}, http.StatusCreated, &cn)
	if cn.Reference != "CN-00001" || cn.CreditFor != id || cn.Total != -15000 || cn.Total != sumLines(cn) {
		t.Errorf("credit note: %s for %d, total %d", cn.Reference, cn.CreditFor, cn.Total)
	}
	me.wait("cancelled, live", invoiceChange(id, "cancelled"))
	seller.json(http.MethodPost, invURL+"/credit-note", map[string]any{"reason": "again"}, http.StatusConflict, nil)
	var offer domain.Offer
	buyer.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/offers", api, jug.ID), nil, http.StatusForbidden, nil)
	seller.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/offers", api, jug.ID), map[string]any{"expires_in_hours": 24}, http.StatusCreated, &offer)
	if offer.Kind != domain.OfferSecondChance || offer.BuyerID == 0 || offer.Amount != 6000 || offer.Estimate.Total != 7500 {
		t.Errorf("second-chance offer: %+v", offer)
	}
	rex.wait("the offer, live", func(e domain.Event) bool {
		return e.Type == domain.EventOffer && e.Offer != nil && e.Offer.ID == offer.ID
	})
	mailTo(t, srv, "rex@example.com", "offer", base+"/me/offers", 0)
	offerURL := fmt.Sprintf("%s/offers/%d", api, offer.ID)
	buyer.json(http.MethodPost, offerURL+"/accept", nil, http.StatusNotFound, nil)
	runner.json(http.MethodPost, offerURL+"/accept", nil, http.StatusOK, &offer)
	runner.json(http.MethodPost, offerURL+"/accept", nil, http.StatusConflict, nil)
	var second domain.Invoice
	runner.json(http.MethodGet, fmt.Sprintf("%s/invoices/%d", api, offer.InvoiceID), nil, http.StatusOK, &second)
	if second.Reference != "INV-00002" || second.Total != 7500 || second.Total != sumLines(second) {
		t.Errorf("the second-chance invoice: %s total %d", second.Reference, second.Total)
	}

	// The clock closed under its reserve: offered to the top bidder at
	// their maximum, with the clock's own fees.
	// (409 until invoicing has settled the closed lot, a moment after it
	// closed.)
	waitFor(t, "the reserve offer", func() bool {
		return seller.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/offers", api, clock.ID), nil, 0, &offer) == http.StatusCreated
	})
	if offer.Kind != domain.OfferReserve || offer.Amount != 30000 || offer.Estimate.Total != 36300 {
		t.Errorf("reserve offer: %+v", offer)
	}
	buyer.json(http.MethodPost, fmt.Sprintf("%s/offers/%d/accept", api, offer.ID), nil, http.StatusOK, &offer)
	var third domain.Invoice
	buyer.json(http.MethodGet, fmt.Sprintf("%s/invoices/%d", api, offer.InvoiceID), nil, http.StatusOK, &third)
	if third.Reference != "INV-00003" || third.Total != 36300 || len(third.ShippingOptions) != 0 {
		t.Errorf("the reserve offer's invoice: %s total %d", third.Reference, third.Total)
	}

	// Every step is in the audit log.
	var actions []string
	if err := n.db.Raw("SELECT action FROM audit_log WHERE action LIKE 'invoice_%' OR action LIKE 'offer_%' ORDER BY id").
		Scan(&actions).Error; err != nil {
		t.Fatal(err)
	}
	const want = "invoice_issued invoice_checkout invoice_paid invoice_shipped invoice_credit_note " +
		"offer_made invoice_issued offer_accepted offer_made invoice_issued offer_accepted"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit log:\n%s\nwant\n%s", got, want)
	}

	// The seller's statement: both lots sold (each on its standing
	// invoice), and the formula-like title defused in the CSV.
	var sts struct{ Statements []domain.Statement }
	seller.json(http.MethodGet, api+"/me/statement", nil, http.StatusOK, &sts)
	if len(sts.Statements) != 1 {
		t.Fatalf("statements: %+v", sts.Statements)
	}
	st := sts.Statements[0]
	if st.Sold != 2 || st.Hammer != 36000 || st.Premium != 1200+3000 || st.Commission != 600+3000 || st.NetPayable != st.Hammer+st.Premium-st.Commission {
		t.Errorf("statement: %+v", st)
	}
	code, csv := seller.get(api + "/me/statement.csv")
	if code != http.StatusOK || !strings.Contains(csv, `'=HYPERLINK`) || strings.Contains(csv, `,=HYPERLINK`) || strings.Contains(csv, `"=HYPERLINK`) {
		t.Errorf("statement CSV: %d\n%s", code, csv)
	}
	buyer.json(http.MethodGet, api+"/me/statement?seller=1", nil, http.StatusForbidden, nil)
}
