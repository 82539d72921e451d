package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/gavel-auctions/gavel/domain"
)

// waitStreams waits until the node holds want streams.
func waitStreams(t *testing.T, n *node, step string, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for n.hub.Stats().Connections != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the node holds %d streams, want %d", step, n.hub.Stats().Connections, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leaders lists the tabs that hold the elected connection.
func leaders(tabs []*tab) []*tab {
	var out []*tab
	for _, b := range tabs {
		if b.str(`String(window.Gavel && Gavel.tabLeading === true)`) == "true" {
			out = append(out, b)
		}
	}
	return out
}

// TestBrowserTabsElectALeader: without SharedWorker (deleted by an init
// script, as on Chrome on Android), seven tabs of seven auctions elect one
// tab with Web Locks to hold the one stream and relay over
// BroadcastChannel: the node counts ONE stream and each tab shows a bid
// placed elsewhere. An eighth tab joins after the bids. When the leader
// tab closes, another takes over with the connection's last event id:
// bids placed while no tab led still show everywhere, and no tab, the
// late one included, starts again with a snapshot.
func TestBrowserTabsElectALeader(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test")
	}
	requireChromium(t)
	n, _, _ := startBrowserNode(t)
	base := n.URL()
	ctx := context.Background()
	seller, err := n.svc.CreateUser(ctx, "sam@example.com", "correct horse", "Sam Seller", false)
	if err != nil {
		t.Fatal(err)
	}
	bidders := make([]domain.User, 2)
	for i := range bidders {
		if bidders[i], err = n.svc.CreateUser(ctx, fmt.Sprintf("b%d@example.com", i), "correct horse", fmt.Sprintf("Bidder %d", i), false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.svc.CreateUser(ctx, "bea@example.com", "correct horse", "Bea", false); err != nil {
		t.Fatal(err)
	}
	const count = 7
	var lots []domain.Auction
	for i := range count + 1 {
		a, err := n.svc.CreateAuction(ctx, seller, domain.AuctionInput{Title: fmt.Sprintf("Lot %d", i+1), Description: "A lot.",
			Currency: "EUR", StartPrice: 1000, EndsAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		lots = append(lots, a)
	}
	url := func(a domain.Auction) string { return base + "/auctions/" + strconv.FormatInt(a.ID, 10) }
	round := 0
	// bidAll places one bid on each auction of tabs (bidders take turns,
	// so each raises the price) and waits until every tab shows its own.
	bidAll := func(step string, tabs []*tab, auctions []domain.Auction) {
		t.Helper()
		round++
		amount := int64(1000 + 500*round)
		for _, a := range auctions {
			if _, err := n.svc.PlaceBid(ctx, bidders[round%2], a.ID, domain.BidInput{Amount: amount}); err != nil {
				t.Fatal(err)
			}
		}
		for _, b := range tabs {
			b.waitFor(step, `document.querySelector('#price .money').dataset.amount === '`+strconv.FormatInt(amount, 10)+`'`, priceState, 30*time.Second)
		}
	}

	first := startBrowser(t, "leader-1", 1024, 768)
	first.withoutSharedWorker()
	first.login(base, "bea@example.com", "correct horse", "/auctions/"+strconv.FormatInt(lots[0].ID, 10), "#bid-form")
	first.waitLive()
	if first.str(`String(typeof SharedWorker)`) != "undefined" {
		t.Fatal("SharedWorker still there")
	}
	tabs := []*tab{first}
	for i := 1; i < count; i++ {
		b := first.sibling("leader-" + strconv.Itoa(i+1))
		b.withoutSharedWorker()
		b.open(url(lots[i]), "#bid-form")
		b.waitLive()
		tabs = append(tabs, b)
	}
	waitStreams(t, n, "seven tabs", 1)
	if l := leaders(tabs); len(l) != 1 {
		t.Fatalf("%d tabs lead, want 1", len(l))
	}
	bidAll("a bid placed elsewhere", tabs, lots[:count])
	// Polled: the last tab's hello reopens the connection 50 ms later, so
	// the old one may still be closing as the bids land.
	waitStreams(t, n, "after the bids", 1)

	// An eighth tab joins after the last bid: no event of the other tabs'
	// auctions has named its auction since, so the tab that takes over
	// must know the connection's cursor, not only its own page's last
	// event, or this tab's auction starts afresh with a second snapshot.
	late := first.sibling("leader-" + strconv.Itoa(count+1))
	late.withoutSharedWorker()
	late.open(url(lots[count]), "#bid-form")
	late.waitLive()
	late.waitFor("the late tab's snapshot", `(Gavel.received.snapshot || 0) === 1`, `String(Gavel.received.snapshot || 0)`, 30*time.Second)
	tabs = append(tabs, late)
	waitStreams(t, n, "eight tabs", 1)

	// The leader closes; bids land before any other tab can take over.
	leader := leaders(tabs)[0]
	var rest []*tab
	var restLots []domain.Auction
	for i, b := range tabs {
		if b != leader {
			rest = append(rest, b)
			restLots = append(restLots, lots[i])
		}
	}
	snapshots := func(b *tab) string { return b.str(`String(Gavel.received.snapshot || 0)`) }
	before := map[*tab]string{}
	for _, b := range rest {
		before[b] = snapshots(b)
	}
	leader.do("close the leader tab", 10*time.Second, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.Close, cdp.Empty{})
		return err
	}))
	bidAll("a bid while the leader changes", rest, restLots)
	if l := leaders(rest); len(l) != 1 {
		t.Fatalf("after the leader closed, %d tabs lead, want 1", len(l))
	}
	waitStreams(t, n, "a new leader", 1)
	bidAll("a bid after the new leader took over", rest, restLots)
	for _, b := range rest {
		// The new leader resumed from its last event id: the tabs got the
		// events they missed, not a fresh snapshot.
		if got := snapshots(b); got != before[b] {
			t.Errorf("%s: %s snapshots after the takeover, %s before: the new leader restarted instead of resuming", b.name, got, before[b])
		}
		b.checkConsole("elected tab")
	}
}

// TestBrowserSaleOverSharedConnection: a sale's catalogue rides on the
// browser's one connection beside auction pages, with SharedWorker and,
// without it, through the elected tab: the node counts ONE stream, a bid
// placed elsewhere shows in the catalogue and on the lot's own page, and
// a second catalogue tab of the same sale opened later gets the whole
// catalogue live too.
func TestBrowserSaleOverSharedConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test")
	}
	requireChromium(t)
	for _, tt := range []struct {
		name   string
		worker bool
	}{{"SharedWorker", true}, {"elected tab", false}} {
		t.Run(tt.name, func(t *testing.T) {
			n, _, _ := startBrowserNode(t)
			base := n.URL()
			api := base + "/api/v1"
			seller := mustClient(t, base, "house@example.com")
			other := mustClient(t, base, "bob@example.com")
			var sale domain.SaleView
			seller.json(http.MethodPost, api+"/sales", map[string]any{"title": "Toy sale", "currency": "EUR",
				"first_close_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "gap_seconds": 60}, http.StatusCreated, &sale)
			saleAPI := fmt.Sprintf("%s/sales/%d", api, sale.ID)
			var lots []domain.AuctionView
			for i, title := range []string{"Tin robot", "Yo-yo", "Kite"} {
				var lot domain.AuctionView
				seller.json(http.MethodPost, saleAPI+"/lots", map[string]any{"lot_number": i + 1, "title": title, "start_price": 1000},
					http.StatusCreated, &lot)
				lots = append(lots, lot)
			}
			seller.json(http.MethodPost, saleAPI+"/publish", nil, http.StatusOK, &sale)
			var single domain.AuctionView
			seller.json(http.MethodPost, api+"/auctions", map[string]any{"title": "A single lamp", "description": "A lamp.", "currency": "EUR",
				"start_price": 1000, "ends_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, http.StatusCreated, &single)
			bid := func(id int64, amount int) {
				t.Helper()
				other.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/bids", api, id), map[string]any{"amount": amount}, http.StatusCreated, nil)
			}
			catalogue := fmt.Sprintf("%s/sales/%d", base, sale.ID)
			shows := func(b *tab, lot domain.AuctionView, amount int) {
				t.Helper()
				b.waitFor("a bid on lot "+strconv.Itoa(lot.LotNumber), rowCond(lot.ID,
					`tr.querySelector('.price .money').dataset.amount === '`+strconv.Itoa(amount)+`'`), rowState(lot.ID), 30*time.Second)
			}

			cat := startBrowser(t, "catalogue", 1280, 900)
			if !tt.worker {
				cat.withoutSharedWorker()
			}
			cat.register(base, "Alice", "alice@example.com", "alice-password", "/sales/"+strconv.FormatInt(sale.ID, 10), "#catalogue")
			cat.waitLive()
			open := func(name, url, sel string) *tab {
				b := cat.sibling(name)
				if !tt.worker {
					b.withoutSharedWorker()
				}
				b.open(url, sel)
				b.waitLive()
				return b
			}
			lotPage := open("lot page", fmt.Sprintf("%s/auctions/%d", base, lots[0].ID), "#bid-history")
			lamp := open("single", fmt.Sprintf("%s/auctions/%d", base, single.ID), "#bid-history")
			waitStreams(t, n, "a catalogue and two auction tabs", 1)

			bid(lots[1].ID, 1200)
			shows(cat, lots[1], 1200)
			bid(lots[0].ID, 1300)
			shows(cat, lots[0], 1300)
			lotPage.waitFor("the lot's own page", showsPrice(1300, "13.00", 1), priceState, 30*time.Second)
			bid(single.ID, 1400)
			lamp.waitFor("the single auction", showsPrice(1400, "14.00", 1), priceState, 30*time.Second)

			// A second catalogue of the same sale, opened later.
			cat2 := open("catalogue 2", catalogue, "#catalogue")
			// The connection already carried the sale: the hub reopens it
			// without the sale's cursor, so the new tab gets the whole
			// catalogue (whatever changed since its page was rendered).
			cat2.waitFor("the second catalogue's snapshot", `(Gavel.received.sale_snapshot || 0) >= 1`,
				`JSON.stringify(Gavel.received)`, 30*time.Second)
			waitStreams(t, n, "a second catalogue tab", 1)
			bid(lots[2].ID, 1500)
			shows(cat, lots[2], 1500)
			shows(cat2, lots[2], 1500)
			shows(cat2, lots[1], 1200)
			// A reopen's old stream leaves once the node notices it closed.
			waitStreams(t, n, "after the bids", 1)
			for _, b := range []*tab{cat, lotPage, lamp, cat2} {
				b.checkConsole("sale over the shared connection")
			}
		})
	}
}
