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

// rowCond is a condition on the catalogue row of an auction.
func rowCond(id int64, cond string) string {
	return `(function (tr) { return !!tr && (` + cond + `); })(document.getElementById('lot-` + strconv.FormatInt(id, 10) + `'))`
}

// rowState describes a catalogue row for failure messages.
func rowState(id int64) string {
	return `(function (tr) { if (!tr) { return 'no row'; } return tr.dataset.status + ' | ' + tr.textContent.replace(/\s+/g, ' ').trim() +
		' | class ' + tr.className; })(document.getElementById('lot-` + strconv.FormatInt(id, 10) + `'))`
}

// TestBrowserSaleCatalogue opens a sale's live catalogue in real browsers
// against a real node: a bid placed elsewhere shows on its row, a bid
// placed from a row shows its result in the row, and when a lot closes the
// next one is highlighted as the lot closing now. An admin's pause and
// resume, and a lot withdrawn, show live; a bid while paused is refused in
// its row. The sale's fees are stated, and a row's bid form shows the
// total with the premium as the bidder types. The seller's dashboard
// counts the watchers. A phone-sized tab
// shows the catalogue without horizontal scroll.
func TestBrowserSaleCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test of about a minute")
	}
	requireChromium(t)
	n, _, _ := startBrowserNode(t)
	base := n.URL()
	api := base + "/api/v1"
	seller := mustClient(t, base, "house@example.com")
	other := mustClient(t, base, "bob@example.com")

	// The browsers and their accounts first: on a loaded machine that
	// takes a while, and the sale's clock must not run meanwhile.
	alice := startBrowser(t, "alice", 1280, 1000)
	phone := alice.newProfile("phone", 375, 812)
	house := alice.newProfile("house", 1280, 900)
	alice.register(base, "Alice", "alice@example.com", "alice-password", "/", "#conn-status")
	phone.register(base, "Pat", "pat@example.com", "pat-password", "/", "#conn-status")
	house.open(base+"/login?next=/", "#login-form")
	house.fill("email", "house@example.com")
	house.fill("password", "correct horse")
	house.do("the seller logs in", 15*time.Second, chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#conn-status")))
	if _, err := n.svc.CreateUser(context.Background(), "admin@example.com", "correct horse", "Admin", true); err != nil {
		t.Fatal(err)
	}
	admin := loginClient(t, base, "admin@example.com", "correct horse")

	// Three lots 8 s apart; the first closes 40 s from now.
	firstClose := time.Now().Add(40 * time.Second).UTC()
	var sale domain.SaleView
	seller.json(http.MethodPost, api+"/sales", map[string]any{"title": "Toy sale", "currency": "EUR",
		"first_close_at": firstClose.Format(time.RFC3339), "gap_seconds": 8, "soft_close_seconds": 2, "soft_close_mode": "cascade",
		"buyers_premium": []map[string]any{{"rate_bps": 2000}}},
		http.StatusCreated, &sale)
	saleURL := fmt.Sprintf("%s/sales/%d", api, sale.ID)
	var lots []domain.AuctionView
	for i, title := range []string{"Tin robot", "Yo-yo", "Kite"} {
		var lot domain.AuctionView
		seller.json(http.MethodPost, saleURL+"/lots", map[string]any{"lot_number": i + 1, "title": title, "start_price": 1000,
			"low_estimate": 1500, "high_estimate": 2500}, http.StatusCreated, &lot)
		lots = append(lots, lot)
	}
	seller.json(http.MethodPost, saleURL+"/publish", nil, http.StatusOK, &sale)
	if sale.Status != domain.SaleOpen {
		t.Fatalf("sale is %s after publishing with no opening time", sale.Status)
	}

	page := fmt.Sprintf("%s/sales/%d", base, sale.ID)
	alice.open(page, "#catalogue")
	alice.waitLive()
	if got := alice.str(`document.body.dataset.stream`); got != fmt.Sprintf("/stream/sales/%d", sale.ID) {
		t.Fatalf("the catalogue streams %q, want its sale's one stream", got)
	}
	alice.waitFor("lot 1 is the lot closing now", rowCond(lots[0].ID, `tr.classList.contains('closing-now')`), rowState(lots[0].ID), 5*time.Second)

	// A bid placed elsewhere shows on its row.
	other.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/bids", api, lots[1].ID), map[string]any{"amount": 1200}, http.StatusCreated, nil)
	alice.waitFor("another bidder's bid on lot 2", rowCond(lots[1].ID,
		`tr.querySelector('.price .money').dataset.amount === '1200' && tr.querySelector('.bid-count').textContent.trim() === '1'`),
		rowState(lots[1].ID), 5*time.Second)

	// The sale's fees are stated, and the row's form shows what a bid
	// costs in all as it is typed.
	alice.waitFor("the sale's fee terms", `document.getElementById('sale-fee-terms').textContent.indexOf("Buyer's premium: 20% of the hammer price.") >= 0`,
		`document.getElementById('sale-fee-terms').textContent`, 5*time.Second)
	id := strconv.FormatInt(lots[0].ID, 10)
	alice.fill("bid-"+id, "11")
	alice.waitFor("the row's estimate for 11.00", rowCond(lots[0].ID,
		`/^Your bid .*11\.00.* → .*13\.20.* with buyer's premium$/.test(tr.querySelector('.row-estimate').textContent)`), rowState(lots[0].ID), 5*time.Second)
	// A bid from a row: its result shows in the row, in the lot page's
	// words, with the total.
	alice.do("bid from lot 1's row", 10*time.Second, chromedp.Click(chromedp.CSS("#lot-"+id+" .row-bid button")))
	alice.waitFor("lot 1's bid result", rowCond(lots[0].ID,
		`tr.querySelector('.row-result').textContent.indexOf('You are the highest bidder.') >= 0 && tr.querySelector('.you').dataset.kind === 'leading'`+
			` && /\(.*13\.20.* with buyer's premium\)/.test(tr.querySelector('.row-result').textContent)`),
		rowState(lots[0].ID), 10*time.Second)
	alice.fill("bid-"+id, "11")
	alice.do("a bid too low from the row", 10*time.Second, chromedp.Click(chromedp.CSS("#lot-"+id+" .row-bid button")))
	alice.waitFor("lot 1's refusal", rowCond(lots[0].ID,
		`tr.querySelector('.row-result').dataset.kind === 'error' && tr.querySelector('.row-result').textContent.indexOf('You are already the highest bidder') >= 0`),
		rowState(lots[0].ID), 10*time.Second)
	alice.expectConsole("a refused bid", "409")
	// Outbid from elsewhere, the row says so.
	other.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/bids", api, lots[0].ID), map[string]any{"amount": 5000}, http.StatusCreated, nil)
	alice.waitFor("outbid on lot 1", rowCond(lots[0].ID, `tr.querySelector('.you').dataset.kind === 'outbid' && tr.querySelector('.you').textContent === 'Outbid'`),
		rowState(lots[0].ID), 5*time.Second)
	alice.checkConsole("bids")

	// The seller's dashboard counts the catalogue's watchers: Alice's
	// catalogue and the dashboard itself.
	house.open(fmt.Sprintf("%s/sales/%d/dashboard", base, sale.ID), "#dashboard")
	house.waitLive()
	house.waitFor("the dashboard counts 2 watchers", `document.getElementById('dash-watchers').textContent === '2'`,
		`document.getElementById('dash-watchers').textContent`, 15*time.Second)
	house.checkConsole("dashboard")

	// An admin pauses the sale: the catalogue shows it at once, the clocks
	// stop, and a bid from a row is refused in the row with the reason.
	admin.json(http.MethodPost, saleURL+"/pause", map[string]any{"reason": "Checking lot 2"}, http.StatusOK, nil)
	lot2 := strconv.FormatInt(lots[1].ID, 10)
	alice.waitFor("the pause shows live", `!document.getElementById('paused-banner').hidden && `+
		rowCond(lots[0].ID, `tr.querySelector('.countdown').textContent.indexOf('Paused') === 0`), rowState(lots[0].ID), 10*time.Second)
	alice.fill("bid-"+lot2, "20")
	alice.do("a bid from lot 2's row while paused", 10*time.Second, chromedp.Click(chromedp.CSS("#lot-"+lot2+" .row-bid button")))
	alice.waitFor("the paused refusal in lot 2's row", rowCond(lots[1].ID,
		`tr.querySelector('.row-result').dataset.kind === 'error' && tr.querySelector('.row-result').textContent.indexOf('paused by the auction house') >= 0`),
		rowState(lots[1].ID), 10*time.Second)
	alice.expectConsole("a bid while paused", "409")
	admin.json(http.MethodPost, saleURL+"/resume", nil, http.StatusOK, nil)
	alice.waitFor("the resume shows live", `document.getElementById('paused-banner').hidden && `+
		rowCond(lots[0].ID, `tr.querySelector('.countdown').textContent.indexOf('Paused') < 0`), rowState(lots[0].ID), 10*time.Second)
	// An admin withdraws lot 3: its row says so, and its Watch button goes.
	admin.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/cancel", api, lots[2].ID), map[string]any{"reason": "Consignor withdrew"}, http.StatusOK, nil)
	alice.waitFor("lot 3 withdrawn live", rowCond(lots[2].ID, `tr.dataset.status === 'cancelled' && tr.querySelector('.you').textContent === 'Withdrawn' && tr.querySelector('.watch-form').hidden`),
		rowState(lots[2].ID), 10*time.Second)
	alice.checkConsole("pause and withdraw")

	// Lot 1 closes (its end plus the close grace): the next lot is the one
	// closing now.
	// The pause moved it: its end is read again.
	first, err := n.svc.Auction(context.Background(), lots[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	wait := time.Until(first.EndsAt) + 15*time.Second
	alice.waitFor("lot 1 closed", rowCond(lots[0].ID, `tr.dataset.status === 'closed' && tr.querySelector('.you').textContent === 'Lost'`),
		rowState(lots[0].ID), wait)
	alice.waitFor("lot 2 is highlighted next", rowCond(lots[1].ID, `tr.classList.contains('closing-now')`)+
		` && !document.getElementById('lot-`+id+`').classList.contains('closing-now') && document.getElementById('closing-now').textContent.indexOf('lot 2') >= 0`,
		rowState(lots[1].ID), 5*time.Second)
	alice.checkConsole("close")
	// The seller's dashboard counted it live: lot 1 sold at 50.00 and lot 3
	// withdrawn; lot 2 (12.00) still to close, or sold too if the machine
	// is slow enough for its close to come first.
	house.waitFor("the dashboard counts the close", `(function (n) { var sold = n('sold'); `+
		`return n('withdrawn') === 1 && n('unsold') === 0 && sold + n('open') === 2 && sold >= 1 && `+
		`document.querySelector('#dash-hammer .money').dataset.amount === (sold === 1 ? '5000' : '6200'); })`+
		`(function (k) { return Number(document.getElementById('dash-' + k).textContent); })`,
		`['sold','unsold','open','withdrawn','bpm'].map(function (k) { return k + ' ' + document.getElementById('dash-' + k).textContent; }).join(', ') + `+
			`' hammer ' + document.getElementById('dash-hammer').textContent`, 10*time.Second)
	house.checkConsole("dashboard after the close")
	// Last, with the sale's clock no longer watched: axe-core on each page.
	alice.checkA11y("catalogue")
	house.checkA11y("dashboard")
	// The sale form with its fee fields (shared with the seller settings).
	house.open(base+"/sales/new", "#tier0_rate")
	house.checkA11y("the sale form")
	house.checkConsole("the sale form")

	phone.open(page, "#catalogue")
	phone.checkNoHorizontalScroll("catalogue on a phone")
	phone.checkConsole("catalogue on a phone")
	phone.checkA11y("catalogue on a phone")
	phone.open(fmt.Sprintf("%s/auctions/%d", base, lots[1].ID), "#auction")
	phone.checkA11y("a lot's page")
}
