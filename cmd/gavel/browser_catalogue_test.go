package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gavel-auctions/gavel/domain"
)

// TestBrowserCatalogueGuestAndWatch: a visitor who never logged in opens a
// sale's catalogue and sees it live (a bid placed elsewhere shows on its
// row); rows show the lot's cover or a placeholder, and the sale's card on
// /sales its first lot's cover. The visitor's Watch
// button on a row leads to log in and back to the catalogue, where the
// watch from the row lands the lot on /me/watching. axe-core passes on
// the catalogue as a guest and as a bidder.
func TestBrowserCatalogueGuestAndWatch(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test")
	}
	requireChromium(t)
	n, _, _ := startBrowserNode(t)
	base := n.URL()
	api := base + "/api/v1"
	seller := mustClient(t, base, "house@example.com")
	bob := mustClient(t, base, "bob@example.com")
	if _, err := n.svc.CreateUser(context.Background(), "wendy@example.com", "wendy-password", "Wendy", false); err != nil {
		t.Fatal(err)
	}
	guest := startBrowser(t, "guest", 1280, 1000)

	// Three lots, the first closing well after the test: nothing closes.
	var sale domain.SaleView
	seller.json(http.MethodPost, api+"/sales", map[string]any{"title": "Tin toys", "currency": "EUR",
		"first_close_at": time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339), "gap_seconds": 20, "soft_close_seconds": 30},
		http.StatusCreated, &sale)
	saleAPI := fmt.Sprintf("%s/sales/%d", api, sale.ID)
	var lots []domain.AuctionView
	for i, title := range []string{"Tin robot", "Yo-yo", "Kite"} {
		var lot domain.AuctionView
		seller.json(http.MethodPost, saleAPI+"/lots", map[string]any{"lot_number": i + 1, "title": title, "start_price": 1000},
			http.StatusCreated, &lot)
		lots = append(lots, lot)
	}
	if a := seller.upload(fmt.Sprintf("%s/auctions/%d/photos", api, lots[0].ID), "robot.jpg", testPhoto(t, 640, 480)); a.status != http.StatusCreated {
		t.Fatalf("photo upload: %d %s", a.status, a.body)
	}
	seller.json(http.MethodPost, saleAPI+"/publish", nil, http.StatusOK, &sale)
	row := func(i int) string { return "document.getElementById('lot-" + strconv.FormatInt(lots[i].ID, 10) + "')" }

	// The sale's card shows its first lot's cover.
	guest.open(base+"/sales", ".sale-list")
	saleCover := `document.querySelector('.sale-card[data-sale-id="` + strconv.FormatInt(sale.ID, 10) + `"] img.cover')`
	guest.waitFor("the sale card's cover", loaded(saleCover), `document.querySelector('.sale-list').innerHTML`, 15*time.Second)
	if alt := guest.str(saleCover + `.alt`); alt != "Tin toys" {
		t.Errorf("the sale card's cover alt %q", alt)
	}

	// The guest's catalogue is live over the sale's one stream.
	page := fmt.Sprintf("%s/sales/%d", base, sale.ID)
	guest.open(page, "#catalogue")
	if got := guest.str(`document.body.dataset.stream`); got != fmt.Sprintf("/stream/sales/%d", sale.ID) {
		t.Fatalf("the guest's catalogue streams %q", got)
	}
	guest.waitFor("lot 1's cover", loaded(row(0)+`.querySelector('img.lot-thumb')`), row(0)+`.innerHTML`, 15*time.Second)
	if alt := guest.str(row(0) + `.querySelector('img.lot-thumb').alt`); alt != "Tin robot" {
		t.Errorf("lot 1's cover alt %q", alt)
	}
	if got := guest.str(`String(!!` + row(1) + `.querySelector('.lot-thumb-none') && !` + row(1) + `.querySelector('img'))`); got != "true" {
		t.Errorf("lot 2 (no photo) shows no placeholder: %s", guest.str(row(1)+`.innerHTML`))
	}
	// Two bids elsewhere: the first may reach the row in the stream's
	// snapshot, so the stream is open by then and the second arrives live.
	// The guest's catalogue rides the browser's shared connection, which
	// says so.
	guest.waitFor("the guest's connection to say live", `document.querySelector('#conn-status').dataset.state === 'live' || document.querySelector('#conn-status').textContent.trim().toLowerCase() === 'live'`,
		`document.querySelector('#conn-status').outerHTML`, 20*time.Second)
	carol := mustClient(t, base, "carol@example.com")
	for i, who := range []*client{bob, carol} {
		var r domain.Receipt
		who.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/bids", api, lots[1].ID), map[string]any{"amount": 1500 + 500*i}, http.StatusCreated, &r)
		guest.waitFor(fmt.Sprintf("bid %d on lot 2's row", i+1), rowCond(lots[1].ID,
			fmt.Sprintf(`tr.querySelector('.price .money').dataset.amount === '%d' && Number(tr.querySelector('.bid-count').textContent) >= %d`, r.CurrentPrice, i+1)),
			rowState(lots[1].ID), 15*time.Second)
	}
	guest.checkImagesHaveAlt("guest catalogue")
	guest.checkConsole("guest catalogue")
	guest.checkA11y("guest catalogue")

	// Watch from a row, as a guest: log in, back to the catalogue.
	kite := strconv.FormatInt(lots[2].ID, 10)
	button := `#lot-` + kite + ` .watch-button`
	guest.do("a guest watches lot 3", 30*time.Second, chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	if next := guest.str(`new URLSearchParams(location.search).get('next')`); next != fmt.Sprintf("/sales/%d", sale.ID) {
		t.Errorf("the login returns to %q", next)
	}
	guest.expectConsole("a guest's watch", "401")
	guest.fill("email", "wendy@example.com")
	guest.fill("password", "wendy-password")
	guest.do("log in from the watch", 60*time.Second, chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#catalogue")))
	guest.waitLive()
	guest.do("watch lot 3 from its row", 30*time.Second, chromedp.Click(chromedp.CSS(button)))
	guest.waitFor("lot 3 watched", `document.querySelector('`+button+`').dataset.watching === 'true' && document.querySelector('`+button+`').textContent === 'Unwatch'`,
		`document.querySelector('`+button+`').outerHTML`, 15*time.Second)
	guest.checkConsole("watch from a row")
	guest.checkA11y("a bidder's catalogue")

	guest.open(base+"/me/watching", "#auction-list")
	card := `document.querySelector('.auction-card[data-auction-id="` + kite + `"]')`
	guest.waitFor("lot 3 on /me/watching", card+` !== null && `+card+`.textContent.indexOf('Kite') >= 0`, `document.getElementById('auction-list').innerText`, 10*time.Second)
	guest.checkConsole("watching")
}
