package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// login signs in through the login form and waits for wantSel.
func (b *tab) login(base, email, password, next, wantSel string) {
	b.t.Helper()
	b.open(base+"/login?next="+next, "#login-form")
	b.fill("email", email)
	b.fill("password", password)
	b.submit("log in "+email, "#login-submit", "/login", wantSel, 60*time.Second)
}

// TestBrowserPagesAccessible opens every page of the site, as a visitor,
// a bidder, a seller and an administrator, in the states people meet them
// in (running with automatic bids, sold, cancelled, not found), and runs
// axe-core on each: no serious or critical violation anywhere.
func TestBrowserPagesAccessible(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test")
	}
	requireChromium(t)
	n, cfg, log := startBrowserNode(t)
	base := n.URL()
	ctx := context.Background()
	if err := createUser(ctx, cfg, log, "ada@example.com", "ada-admin-password", "Ada Admin", true); err != nil {
		t.Fatal(err)
	}
	mk := func(email, name string) domain.User {
		u, err := n.svc.CreateUser(ctx, email, "correct horse", name, false)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	seller, bidder, other := mk("sam@example.com", "Sam Seller"), mk("bea@example.com", "Bea Bidder"), mk("oli@example.com", "Oli Other")
	auction := func(title string, d time.Duration, buyNow int64) domain.Auction {
		a, err := n.svc.CreateAuction(ctx, seller, domain.AuctionInput{Title: title, Description: "Described.", Currency: "EUR",
			StartPrice: 1000, BuyNowPrice: buyNow, EndsAt: time.Now().Add(d)})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	bid := func(u domain.User, a domain.Auction, amount, max int64) {
		if _, err := n.svc.PlaceBid(ctx, u, a.ID, domain.BidInput{Amount: amount, MaxAmount: max}); err != nil {
			t.Fatalf("bid: %v", err)
		}
	}
	running := auction("Brass ship's clock", time.Hour, 0)
	bid(bidder, running, 1000, 5000)
	bid(other, running, 2000, 0)
	fresh := auction("Signed first edition", time.Hour, 90000)
	cancelled := auction("Mid-century armchair", time.Hour, 0)
	if _, err := n.svc.CancelAuction(ctx, seller, cancelled.ID, "Withdrawn by the seller."); err != nil {
		t.Fatal(err)
	}
	sold := auction("Vintage film camera", time.Hour, 0)
	bid(bidder, sold, 1200, 0)
	if _, err := n.svc.PlaceBid(ctx, other, fresh.ID, domain.BidInput{BuyNow: true}); err != nil {
		t.Fatal(err)
	}
	page := func(a domain.Auction) string { return base + "/auctions/" + strconv.FormatInt(a.ID, 10) }

	visitor := startBrowser(t, "visitor", 1280, 900)
	check := func(b *tab, url, sel string) {
		t.Helper()
		b.open(url, sel)
		b.checkA11y(url)
		b.checkConsole(url)
	}
	for _, p := range []struct{ url, sel string }{
		{base + "/", "#main"},
		{base + "/?status=closed", "#main"},
		{base + "/login", "#login-form"},
		{base + "/register", "#register-form"},
		{base + "/forgot", "#forgot-form"},
		{base + "/reset?token=nonsense", "#main"},
		{base + "/verify?token=nonsense", "#main"},
		{page(running), "#bid-history"},
		{page(fresh), "#result"},
		{page(cancelled), "#result"},
		{base + "/auctions/999999", ".error-page"},
	} {
		if p.url == base+"/reset?token=nonsense" || p.url == base+"/verify?token=nonsense" || p.url == base+"/auctions/999999" {
			// These answer 4xx on purpose; the console notes it.
			visitor.open(p.url, p.sel)
			visitor.checkA11y(p.url)
			visitor.mu.Lock()
			visitor.seen = len(visitor.problems)
			visitor.mu.Unlock()
			continue
		}
		check(visitor, p.url, p.sel)
	}

	bea := visitor.newProfile("bidder", 1280, 900)
	bea.login(base, "bea@example.com", "correct horse", "/", "#conn-status")
	bea.checkA11y("home, logged in")
	for _, p := range []struct{ url, sel string }{
		{page(running), "#bid-form"},
		{page(sold), "#bid-form"},
		{base + "/me/bids", "#main"},
		{base + "/me/listings", "#main"},
		{base + "/sell", "#sell-form"},
		{base + "/me/notifications", "#main"},
	} {
		check(bea, p.url, p.sel)
	}

	sam := visitor.newProfile("seller", 1280, 900)
	sam.login(base, "sam@example.com", "correct horse", "/me/listings", "#conn-status")
	sam.checkA11y("my listings")
	edit := auction("Hand-thrown tea set", time.Hour, 0)
	check(sam, page(edit)+"/edit", "#main")
	check(sam, page(running), "#bid-history")

	ada := visitor.newProfile("admin", 1280, 900)
	ada.login(base, "ada@example.com", "ada-admin-password", "/admin", "#admin-auctions")
	ada.waitFor("charts drawn", `document.querySelectorAll('#charts canvas').length >= 2`, `document.getElementById('charts').outerHTML.slice(0, 500)`, 15*time.Second)
	ada.checkA11y("admin monitor")
	check(ada, page(running), "#bid-history")
	check(ada, base+"/admin/mail", "#mailbox-heading")
	ada.checkConsole("admin")
}
