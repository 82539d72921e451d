package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestBrowserGuestWatchesLive: a visitor who never logs in sees prices
// move on an auction page and on the list of auctions (a guest session
// carries the streams), and the seller's My listings counts that visitor
// as watching, live, without counting the seller's own page.
func TestBrowserGuestWatchesLive(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test")
	}
	requireChromium(t)
	n, _, _ := startBrowserNode(t)
	base := n.URL()
	ctx := context.Background()
	mk := func(email, name string) domain.User {
		u, err := n.svc.CreateUser(ctx, email, "correct horse", name, false)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	seller, bea, oli := mk("sam@example.com", "Sam Seller"), mk("bea@example.com", "Bea Bidder"), mk("oli@example.com", "Oli Other")
	a, err := n.svc.CreateAuction(ctx, seller, domain.AuctionInput{Title: "Brass ship's clock", Description: "Ticks.",
		Currency: "EUR", StartPrice: 1000, EndsAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(a.ID, 10)
	bid := func(bidder domain.User, amount int64) {
		t.Helper()
		if _, err := n.svc.PlaceBid(ctx, bidder, a.ID, domain.BidInput{Amount: amount}); err != nil {
			t.Fatal(err)
		}
	}
	watching := `document.querySelector('[data-auction-id="` + id + `"] [data-viewers]').textContent`

	sam := startBrowser(t, "seller", 1280, 900)
	sam.login(base, "sam@example.com", "correct horse", "/me/listings", "#conn-status")
	sam.waitFor("nobody but the seller watching", watching+` === '0'`, watching, 30*time.Second)

	guest := sam.newProfile("guest", 1280, 900)
	guest.open(base+"/auctions/"+id, "#bid-history")
	guest.waitLive()
	bid(bea, 2500)
	guest.waitFor("the guest sees the bid", showsPrice(2500, "25.00", 1), `document.getElementById('price').textContent`, 15*time.Second)
	sam.waitFor("the seller sees the guest watching", watching+` === '1'`, watching, 30*time.Second)

	guest.open(base+"/", "#auction-list")
	guest.waitLive()
	if guest.str(`String(!!document.getElementById('live-note'))`) != "false" {
		t.Error("the home page still tells visitors that prices do not move")
	}
	bid(oli, 3000)
	card := `document.querySelector('[data-auction-id="` + id + `"] .price').textContent`
	guest.waitFor("the guest's list shows the bid", card+`.includes('30.00')`, card, 15*time.Second)
	guest.checkConsole("guest")
	sam.checkConsole("seller")
}
