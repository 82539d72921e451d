package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// fakeInvoicing holds one invoice (id 1) of buyer and seller and records
// the steps asked of it; the rules are the domain's own.
type fakeInvoicing struct {
	inv      domain.Invoice
	settings domain.SellerSettings
	steps    []string
}

var _ Invoicing = (*fakeInvoicing)(nil)

func (f *fakeInvoicing) Invoice(_ context.Context, viewer domain.User, id int64) (domain.Invoice, error) {
	if id != f.inv.ID || (viewer.ID != f.inv.Buyer.ID && viewer.ID != f.inv.Seller.ID && !viewer.Admin) {
		return domain.Invoice{}, errInvoiceNotFound
	}
	return f.inv, nil
}
func (f *fakeInvoicing) Invoices(_ context.Context, viewer domain.User, flt domain.InvoiceFilter) ([]domain.Invoice, error) {
	if flt.Role == domain.AsAdmin && !viewer.Admin {
		return nil, domain.ErrNotAdmin
	}
	return []domain.Invoice{f.inv}, nil
}
func (f *fakeInvoicing) LotInvoice(context.Context, domain.User, int64) (domain.Invoice, bool, error) {
	return domain.Invoice{}, false, nil
}
func (f *fakeInvoicing) Checkout(_ context.Context, _ domain.User, _ int64, option int) (domain.Invoice, error) {
	if err := domain.CheckStep(f.inv, domain.StepCheckout); err != nil {
		return f.inv, err
	}
	if option < 0 || option >= len(f.inv.ShippingOptions) {
		return f.inv, domain.Invalid("option", "Choose one of the invoice's options.")
	}
	f.inv.Checkout = &domain.Checkout{Option: option, Choice: f.inv.ShippingOptions[option]}
	f.steps = append(f.steps, "checkout")
	return f.inv, nil
}
func (f *fakeInvoicing) MarkPaid(_ context.Context, u domain.User, _ int64, p domain.Payment) (domain.Invoice, error) {
	if u.ID != f.inv.Seller.ID {
		return f.inv, domain.ErrNotSeller
	}
	if err := domain.CheckStep(f.inv, domain.StepPaid); err != nil {
		return f.inv, err
	}
	f.inv.Status, f.inv.PaymentMethod = domain.InvoicePaid, p.Method
	f.steps = append(f.steps, "paid:"+p.Method)
	return f.inv, nil
}
func (f *fakeInvoicing) MarkShipped(_ context.Context, _ domain.User, _ int64, tr string) (domain.Invoice, error) {
	f.steps = append(f.steps, "shipped:"+tr)
	return f.inv, domain.CheckStep(f.inv, domain.StepShipped)
}
func (f *fakeInvoicing) MarkCollected(context.Context, domain.User, int64, string) (domain.Invoice, error) {
	return f.inv, domain.CheckStep(f.inv, domain.StepCollected)
}
func (f *fakeInvoicing) CreditNote(_ context.Context, _ domain.User, _ int64, reason string) (domain.Invoice, error) {
	if reason == "" {
		return f.inv, domain.Invalid("reason", "Say why.")
	}
	cn := f.inv
	cn.ID, cn.Kind, cn.Reference, cn.CreditFor = 2, domain.KindCreditNote, "CN-00001", f.inv.ID
	return cn, nil
}
func (f *fakeInvoicing) PaymentInstructions(inv domain.Invoice) string {
	return inv.PaymentInstructions
}
func (f *fakeInvoicing) CheckoutURL(context.Context, domain.Invoice) (string, error) {
	return "", nil
}
func (f *fakeInvoicing) PDF(domain.Invoice) ([]byte, error) { return []byte("%PDF-1.3 fake"), nil }
func (f *fakeInvoicing) MakeOffer(context.Context, domain.User, int64, int) (domain.Offer, error) {
	return domain.Offer{}, domain.Errorf(domain.CodeConflict, "No bidder to offer it to.")
}
func (f *fakeInvoicing) AcceptOffer(context.Context, domain.User, int64) (domain.Offer, error) {
	return domain.Offer{}, domain.ErrOfferExpired
}
func (f *fakeInvoicing) DeclineOffer(context.Context, domain.User, int64) (domain.Offer, error) {
	return domain.Offer{}, domain.ErrOfferNotFound
}
func (f *fakeInvoicing) Offers(context.Context, domain.User, bool, int64) ([]domain.Offer, error) {
	return []domain.Offer{}, nil
}
func (f *fakeInvoicing) SellerSettings(context.Context, int64) (domain.SellerSettings, error) {
	return f.settings, nil
}
func (f *fakeInvoicing) PutSellerSettings(_ context.Context, _ domain.User, in domain.SellerSettings) (domain.SellerSettings, error) {
	if err := domain.ValidateSellerSettings(in); err != nil {
		return domain.SellerSettings{}, err
	}
	f.settings = in
	return in, nil
}
func (f *fakeInvoicing) PlatformCommission(context.Context) (int64, error) { return 1000, nil }
func (f *fakeInvoicing) SetCommission(context.Context, domain.User, int64, *int64) error {
	return nil
}
func (f *fakeInvoicing) SaleStatement(context.Context, domain.User, int64) (domain.Statement, error) {
	return domain.Statement{}, errSaleNotFound
}
func (f *fakeInvoicing) PeriodStatements(_ context.Context, _ domain.User, seller int64, from, to time.Time) ([]domain.Statement, error) {
	return []domain.Statement{{SellerID: seller, Currency: "EUR", Lots: []domain.StatementLot{{Title: "=HYPERLINK()", Outcome: domain.OutcomeSold}}}}, nil
}
func (f *fakeInvoicing) StatementCSV(sts []domain.Statement) []byte {
	return []byte("currency,title\nEUR,'" + sts[0].Lots[0].Title + "\n")
}

func newInvoiceEnv(t *testing.T) (*testEnv, *fakeInvoicing, string, string, string) {
	t.Helper()
	fi := &fakeInvoicing{}
	e := newEnv(t, func(_ *Config, d *Deps) { d.Invoicing = fi })
	seller := e.mustUser("seller@example.com", "Sam Seller", false)
	buyer := e.mustUser("buyer@example.com", "Bea Buyer", false)
	e.mustUser("other@example.com", "Olly Other", false)
	fi.inv = domain.Invoice{ID: 1, Kind: domain.KindInvoice, Number: 1, Reference: "INV-00001", Status: domain.InvoiceIssued,
		Currency: "EUR", Seller: domain.Party{ID: seller.ID, Name: seller.Name}, Buyer: domain.Party{ID: buyer.ID, Name: buyer.Name},
		ShippingOptions: []domain.ShippingOption{{Kind: domain.ShippingPickup, Where: "Utrecht"}},
		Lines:           []domain.InvoiceLine{{Kind: domain.LineHammer, AuctionID: 9, Description: "Lamp", Amount: 10000}}, Total: 10000,
		PaymentInstructions: "IBAN NL00"}
	return e, fi, e.mustLogin("seller@example.com"), e.mustLogin("buyer@example.com"), e.mustLogin("other@example.com")
}

func TestInvoiceAPI(t *testing.T) {
	t.Parallel()
	e, fi, seller, buyer, other := newInvoiceEnv(t)

	e.do(req{method: "GET", path: "/api/v1/invoices/1"}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
	e.do(req{method: "GET", path: "/api/v1/invoices/1", cookie: other}).wantProblem(t, http.StatusNotFound, domain.CodeNotFound)
	e.do(req{method: "GET", path: "/api/v1/invoices/x1", cookie: buyer}).wantProblem(t, http.StatusNotFound, domain.CodeNotFound)
	m := e.do(req{method: "GET", path: "/api/v1/invoices/1", cookie: buyer}).wantStatus(t, http.StatusOK).json(t)
	if m["number"] != float64(1) || m["status"] != "issued" || m["total"] != float64(10000) || m["how_to_pay"] != "IBAN NL00" {
		t.Errorf("invoice JSON %v", m)
	}
	if lines, _ := m["lines"].([]any); len(lines) != 1 {
		t.Errorf("lines %v", m["lines"])
	}

	// Paying before the buyer's choice is a conflict the seller can read.
	p := e.do(req{method: "POST", path: "/api/v1/invoices/1/paid", cookie: seller}).wantProblem(t, http.StatusConflict, domain.CodeConflict)
	if !strings.Contains(p["detail"].(string), "not chosen delivery or collection") {
		t.Errorf("detail %v", p["detail"])
	}
	e.do(req{method: "POST", path: "/api/v1/invoices/1/checkout", body: `{}`, cookie: buyer}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	e.do(req{method: "POST", path: "/api/v1/invoices/1/checkout", body: `{"option": 3}`, cookie: buyer}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	e.do(req{method: "POST", path: "/api/v1/invoices/1/checkout", body: `{"option": "0"}`, cookie: buyer}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	e.do(req{method: "POST", path: "/api/v1/invoices/1/checkout", body: `{"option": 0}`, cookie: buyer}).wantStatus(t, http.StatusOK)
	e.do(req{method: "POST", path: "/api/v1/invoices/1/paid", body: `{"method":"cash"}`, cookie: buyer}).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)
	e.do(req{method: "POST", path: "/api/v1/invoices/1/paid", body: `{"method":"cash","extra":1}`, cookie: seller}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	m = e.do(req{method: "POST", path: "/api/v1/invoices/1/paid", body: `{"method":"cash"}`, cookie: seller}).wantStatus(t, http.StatusOK).json(t)
	if m["status"] != "paid" {
		t.Errorf("after paid: %v", m["status"])
	}
	e.do(req{method: "POST", path: "/api/v1/invoices/1/shipped", body: `{"tracking":"3S123"}`, cookie: seller}).wantProblem(t, http.StatusConflict, domain.CodeConflict)
	e.do(req{method: "POST", path: "/api/v1/invoices/1/credit-note", body: `{}`, cookie: seller}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	r := e.do(req{method: "POST", path: "/api/v1/invoices/1/credit-note", body: `{"reason":"damaged"}`, cookie: seller}).wantStatus(t, http.StatusCreated)
	if r.header.Get("Location") != "/api/v1/invoices/2" || r.json(t)["kind"] != "credit_note" {
		t.Errorf("credit note: %s %s", r.header.Get("Location"), r.body)
	}
	if strings.Join(fi.steps, " ") != "checkout paid:cash shipped:3S123" {
		t.Errorf("steps %v", fi.steps)
	}

	e.do(req{method: "GET", path: "/api/v1/me/invoices?role=all", cookie: buyer}).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)
	e.do(req{method: "GET", path: "/api/v1/me/invoices?role=boss", cookie: buyer}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	e.do(req{method: "GET", path: "/api/v1/me/invoices?status=lost", cookie: buyer}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	e.do(req{method: "GET", path: "/api/v1/me/invoices?role=seller&sale=3", cookie: seller}).wantStatus(t, http.StatusOK)

	e.do(req{method: "POST", path: "/api/v1/offers/5/accept", cookie: buyer}).wantProblem(t, http.StatusGone, domain.CodeGone)
	e.do(req{method: "POST", path: "/api/v1/auctions/5/offers", body: `{"expires_in_hours": 24}`, cookie: seller}).wantProblem(t, http.StatusConflict, domain.CodeConflict)
	e.do(req{method: "PUT", path: "/api/v1/admin/commission", body: `{"rate_bps": 500}`, cookie: seller}).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)
}

func TestInvoicePagesAndExports(t *testing.T) {
	t.Parallel()
	e, _, seller, buyer, other := newInvoiceEnv(t)
	r := e.do(req{method: "GET", path: "/invoices/1.pdf", cookie: buyer}).wantStatus(t, http.StatusOK)
	if r.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(r.body), "%PDF") {
		t.Errorf("PDF: %s %q", r.header.Get("Content-Type"), r.body)
	}
	e.do(req{method: "GET", path: "/invoices/1.pdf", cookie: other}).wantStatus(t, http.StatusNotFound)
	page := e.do(req{method: "GET", path: "/invoices/1", cookie: buyer}).wantStatus(t, http.StatusOK)
	for _, want := range []string{"INV-00001", "checkout-form", "IBAN NL00", "Awaiting payment"} {
		if !strings.Contains(string(page.body), want) {
			t.Errorf("the buyer's invoice page lacks %q", want)
		}
	}
	if strings.Contains(string(page.body), "mark-paid") {
		t.Error("the buyer is offered the seller's steps")
	}
	if s := string(e.do(req{method: "GET", path: "/invoices/1", cookie: seller}).body); !strings.Contains(s, "Seller actions") {
		t.Error("the seller's page has no steps")
	}
	// A refused form re-renders the page with the reason and a 4xx.
	f := e.do(req{method: "POST", path: "/invoices/1/paid", body: "method=cash", contentType: "application/x-www-form-urlencoded", cookie: seller})
	if f.status != http.StatusConflict || !strings.Contains(string(f.body), "not chosen delivery or collection") {
		t.Errorf("refused form: %d %s", f.status, f.body)
	}
	csv := e.do(req{method: "GET", path: "/api/v1/me/statement.csv?from=2026-01-01&to=2026-02-01", cookie: seller}).wantStatus(t, http.StatusOK)
	if ct := csv.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.Contains(csv.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("CSV headers %v", csv.header)
	}
	e.do(req{method: "GET", path: "/api/v1/me/statement?from=yesterday", cookie: seller}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	e.do(req{method: "GET", path: "/api/v1/sales/4/statement", cookie: seller}).wantProblem(t, http.StatusNotFound, domain.CodeNotFound)
	e.do(req{method: "GET", path: "/me/seller-settings", cookie: seller}).wantStatus(t, http.StatusOK)
	bad := e.do(req{method: "POST", path: "/me/seller-settings", body: "currency=EUR&tier0_rate=abc&due_days=14",
		contentType: "application/x-www-form-urlencoded", cookie: seller})
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(string(bad.body), "Enter a percentage") {
		t.Errorf("bad settings form: %d", bad.status)
	}
}

// TestSellerSettingsAndListingFees: the settings round-trip as JSON, bad
// schedules are 422 with a field, and a listing's fees reach the bidder
// service and come back with estimated_total.
func TestSellerSettingsAndListingFees(t *testing.T) {
	t.Parallel()
	e, fi, seller, _, _ := newInvoiceEnv(t)
	body := `{"buyers_premium":[{"up_to":100000,"rate_bps":2500},{"rate_bps":2000}],"tax":{"label":"VAT","rate_bps":2000,"on":"premium"},
		"shipping":[{"kind":"pickup","where":"Utrecht"}],"currency":"EUR","payment_instructions":"IBAN","due_days":10}`
	m := e.do(req{method: "PUT", path: "/api/v1/me/seller-settings", body: body, cookie: seller}).wantStatus(t, http.StatusOK).json(t)
	if m["commission_bps"] != float64(1000) || m["commission_is_default"] != true || fi.settings.DueDays != 10 {
		t.Errorf("settings %v", m)
	}
	p := e.do(req{method: "PUT", path: "/api/v1/me/seller-settings", body: `{"buyers_premium":[{"up_to":5,"rate_bps":100}],"due_days":10}`, cookie: seller}).
		wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	if errs, _ := p["errors"].(map[string]any); errs["buyers_premium"] == nil {
		t.Errorf("no field error: %v", p)
	}
	id := e.mustAuction(seller, `,"buyers_premium":[{"rate_bps":2000}],"tax":{"label":"VAT","rate_bps":2500,"on":"premium"}`)
	a := e.do(req{method: "GET", path: "/api/v1/auctions/" + strconv.FormatInt(id, 10)}).wantStatus(t, http.StatusOK).json(t)
	if a["estimated_total"] != float64(1250) { // start price 10.00 + 2.00 + 0.50
		t.Errorf("estimated_total %v", a["estimated_total"])
	}
	e.do(req{method: "POST", path: "/api/v1/auctions", cookie: seller, body: `{"title":"X","currency":"EUR","start_price":100,"ends_at":"` +
		testNow.Add(time.Hour).Format(time.RFC3339) + `","tax":{"label":"","rate_bps":2000,"on":"premium"}}`}).
		wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
}
