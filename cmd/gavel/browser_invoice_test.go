package main

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestBrowserInvoice, in real browsers: a bidder sees what a bid will
// cost with the buyer's premium and VAT before bidding, wins, finds the
// invoice with exactly that total, chooses collection; the seller marks
// it paid, and the buyer's open invoice page shows "Paid" without a
// reload.
func TestBrowserInvoice(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test")
	}
	requireChromium(t)
	cfg := config.Default()
	cfg.Addr = freeAddr(t)
	cfg.DataDir, cfg.DatabaseURL, cfg.Demo, cfg.NodeName = t.TempDir(), testpg.URL(t), config.DemoOff, "browser-invoice"
	logs := &browserLogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	n, err := startNode(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("start node: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		_ = n.shutdown(context.Background())
		if t.Failed() {
			t.Logf("node log:\n%s", logs)
		}
	})
	base := n.URL()
	ctx := context.Background()
	seller, err := n.svc.CreateUser(ctx, "hammer@example.com", "house-password", "Hammer & Co", false)
	if err != nil {
		t.Fatal(err)
	}
	fees := domain.Fees{
		BuyersPremium: []domain.PremiumTier{{UpTo: 100000, RateBPS: 2000}, {RateBPS: 1500}},
		Tax:           &domain.Tax{Label: "VAT", RateBPS: 2500, On: domain.TaxOnPremium},
		Shipping: []domain.ShippingOption{{Kind: domain.ShippingPickup, Where: "Saleroom, Oudegracht 1, Utrecht", When: "Mon–Fri 10–17"},
			{Kind: domain.ShippingDelivery, Region: "EU", Amount: 2500}},
	}
	if _, err := n.inv.PutSellerSettings(ctx, seller, domain.SellerSettings{Fees: fees, Currency: "EUR",
		PaymentInstructions: "IBAN NL00 HAMR 0000 1111 22", DueDays: 7}); err != nil {
		t.Fatal(err)
	}

	buyer := startBrowser(t, "buyer", 1280, 900)
	house := buyer.newProfile("seller", 1280, 900)
	buyer.register(base, "Bea Buyer", "bea@example.com", "bea-password", "/", "#conn-status")
	lot, err := n.svc.CreateAuction(ctx, seller, domain.AuctionInput{Title: "Pewter jug", Currency: "EUR", StartPrice: 5000,
		EndsAt: time.Now().Add(15 * time.Second), SoftCloseSeconds: new(int)})
	if err != nil {
		t.Fatal(err)
	}
	lotURL := base + "/auctions/" + strconv.FormatInt(lot.ID, 10)

	// Before bidding: the terms, and the total for the amount typed,
	// computed in the page as the server computes it (100.00 + 20.00
	// premium + 5.00 VAT).
	buyer.open(lotURL, "#bid-form")
	buyer.checkA11y("lot page with its fees")
	if terms := buyer.text("fee-terms"); !strings.Contains(terms, "20% of the hammer price up to 1000.00 EUR, 15% above") || !strings.Contains(terms, "VAT: 25%") {
		t.Errorf("terms on the lot page: %q", terms)
	}
	want := fees.Estimate(10000).Total
	wantText := "125.00"
	if domain.FormatAmount(want, "EUR") != wantText {
		t.Fatalf("the test's own arithmetic: %d", want)
	}
	buyer.fill("bid-amount", "100.00")
	buyer.waitFor("estimate for 100.00", `document.getElementById('bid-estimate').textContent.indexOf('`+wantText+`') >= 0 &&
		document.getElementById('bid-estimate').textContent.indexOf('with buyer\'s premium and VAT') >= 0`,
		`document.getElementById('bid-estimate').textContent`, 30*time.Second)
	shown := buyer.text("bid-estimate")
	// And above the first tier: 2,000.00 → 200.00 + 150.00 premium, VAT 87.50.
	buyer.fill("bid-amount", "2000")
	buyer.waitFor("estimate for 2000", `document.getElementById('bid-estimate').textContent.indexOf('2,437.50') >= 0 ||
		document.getElementById('bid-estimate').textContent.indexOf('2437.50') >= 0`, `document.getElementById('bid-estimate').textContent`, 30*time.Second)
	buyer.bid("100.00")
	if r := buyer.text("bid-result"); !strings.Contains(r, wantText) {
		t.Errorf("the receipt does not carry the total: %q", r)
	}
	buyer.checkConsole("bidding")

	// The lot closes; its invoice is issued within a few seconds.
	buyer.waitFor("won", `document.getElementById('your-status').dataset.kind === 'won'`,
		`document.getElementById('your-status').textContent`, 40*time.Second)
	var invoiceURL string
	deadline := time.Now().Add(30 * time.Second)
	for invoiceURL == "" && time.Now().Before(deadline) {
		buyer.open(base+"/me/invoices", "#main")
		invoiceURL = buyer.str(`(function () { var a = document.querySelector('#invoice-list a'); return a ? a.href : ''; })()`)
		if invoiceURL == "" {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if invoiceURL == "" {
		t.Fatal("no invoice listed for the winner")
	}
	buyer.checkA11y("the buyer's invoices")
	buyer.open(invoiceURL, "#invoice")
	if total := buyer.text("invoice-total"); !strings.Contains(total, wantText) || !strings.Contains(shown, wantText) {
		t.Errorf("invoice total %q, the page showed %q before the bid", total, shown)
	}
	if st := buyer.text("invoice-status"); st != "Awaiting payment" {
		t.Errorf("status %q", st)
	}
	if how := buyer.text("how-to-pay"); !strings.Contains(how, "IBAN NL00 HAMR") {
		t.Errorf("payment instructions %q", how)
	}
	buyer.checkPrint()
	buyer.checkA11y("invoice awaiting payment, with checkout")

	// Collection: the total stays; the choice is shown.
	buyer.do("choose collection", 45*time.Second, chromedp.Click(chromedp.CSS("#option-0")), chromedp.Click(chromedp.CSS("#checkout-submit")),
		chromedp.WaitVisible(chromedp.CSS("#checkout-choice")))
	if got := buyer.text("checkout-choice"); !strings.Contains(got, "Collection from Saleroom") {
		t.Errorf("choice %q", got)
	}
	if total := buyer.text("invoice-total"); !strings.Contains(total, wantText) {
		t.Errorf("total after collection %q", total)
	}
	buyer.waitLive()
	buyer.checkConsole("invoice page")

	// The seller marks it paid; the buyer's open page follows.
	house.open(base+"/login?next="+strings.TrimPrefix(invoiceURL, base), "#login-form")
	house.fill("email", "hammer@example.com")
	house.fill("password", "house-password")
	house.do("seller logs in", 45*time.Second, chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#mark-paid")))
	house.checkA11y("the seller's invoice page")
	house.do("mark paid", 45*time.Second, chromedp.Click(chromedp.CSS("#mark-paid")), chromedp.WaitVisible(chromedp.CSS("#mark-collected")))
	took := buyer.waitFor("paid, live", `document.getElementById('invoice-status').textContent === 'Paid'`,
		`document.getElementById('invoice-status').textContent`, 45*time.Second)
	t.Logf("the buyer saw \"Paid\" %v after the seller's click returned", took)
	if note := buyer.text("invoice-live"); !strings.Contains(note, "marked paid") {
		t.Errorf("live note %q", note)
	}
	house.do("mark collected", 45*time.Second, chromedp.Click(chromedp.CSS("#mark-collected")))
	house.waitFor("the seller's page after collection", `document.getElementById('invoice-status') && document.getElementById('invoice-status').textContent === 'Collected'`,
		`document.title`, 45*time.Second)
	buyer.waitFor("collected, live", `document.getElementById('invoice-status').textContent === 'Collected'`,
		`document.getElementById('invoice-status').textContent`, 45*time.Second)
	house.checkConsole("seller steps")
	buyer.checkA11y("collected invoice")
	buyer.checkConsole("live status")

	// The PDF is served to the buyer.
	pdf := buyer.str(`(function () { var x = new XMLHttpRequest(); x.open('GET', '` + strings.TrimPrefix(invoiceURL, base) + `.pdf', false); x.send(); return x.status + ' ' + x.getResponseHeader('Content-Type'); })()`)
	if pdf != "200 application/pdf" {
		t.Errorf("PDF: %s", pdf)
	}
}

// checkPrint renders the open invoice as the printer sees it: the
// document (parties, lines, total, how to pay) without the site's header
// and footer, the checkout form or the links.
func (b *tab) checkPrint() {
	b.t.Helper()
	media := func(m string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
			return err
		})
	}
	b.do("print media", 30*time.Second, media("print"))
	defer b.do("screen media", 30*time.Second, media(""))
	shown := func(sel string) bool {
		return b.str(`(function () { var e = document.querySelector('`+sel+`'); return e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden' ? 'yes' : 'no'; })()`) == "yes"
	}
	for _, sel := range []string{".site-header", ".site-footer", "#checkout-form", "#invoice-pdf"} {
		if shown(sel) {
			b.t.Errorf("%s is printed", sel)
		}
	}
	for _, sel := range []string{"#invoice-total", "#how-to-pay", ".invoice-parties", ".invoice-lines"} {
		if !shown(sel) {
			b.t.Errorf("%s is not printed", sel)
		}
	}
}
