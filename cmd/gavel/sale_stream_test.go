package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/config"
)

// saleCollector records a sale stream's positions (sale_seq) and checks
// each arrives exactly once, in order.
type saleCollector struct {
	seqs     []int64
	lastID   string
	types    map[string]int
	snapshot *domain.Event
}

// take reads events until until(sale_seq) holds.
func (c *saleCollector) take(t *testing.T, events <-chan sseEvent, until func(seq int64) bool, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("stream ended; positions so far %v", c.seqs)
			}
			if e.id != "" {
				c.lastID = e.id
			}
			c.types[e.typ]++
			switch {
			case e.typ == string(domain.EventSaleSnapshot):
				ev := e.ev
				c.snapshot = &ev
			case e.ev.SaleSeq > 0:
				c.seqs = append(c.seqs, e.ev.SaleSeq)
			}
			if until(e.ev.SaleSeq) {
				return
			}
		case <-deadline:
			t.Fatalf("timed out; positions so far %v", c.seqs)
		}
	}
}

// TestSaleStreamAcrossRealtimeNodes drives a cascade sale through real
// nodes (PostgreSQL, NATS): the catalogue's one stream gets a snapshot of
// every lot, then each lot's bids and the sale's cascades in sale order;
// it is stopped mid-sale and resumed on another realtime node with its
// Last-Event-ID, and gets every position exactly once.
func TestSaleStreamAcrossRealtimeNodes(t *testing.T) {
	c := mustCluster(t)
	api := c.node(config.RoleAPI, "api")
	rtA := c.node(config.RoleRealtime, "rt-a")
	rtB := c.node(config.RoleRealtime, "rt-b")
	base := api.URL() + "/api/v1"
	seller := mustClient(t, api.URL(), "seller@example.com")
	x, y := mustClient(t, api.URL(), "x@example.com"), mustClient(t, api.URL(), "y@example.com")
	watcher := mustClient(t, api.URL(), "w@example.com")

	const lots = 20
	sale, list := mustClockSale(t, seller, base, lots)
	saleURL := fmt.Sprintf("%s/sales/%d", base, sale.ID)

	col := &saleCollector{types: map[string]int{}}
	path := fmt.Sprintf("/stream/sales/%d", sale.ID)
	first := watcher.stream(rtA.URL()+path, "")
	col.take(t, first, func(int64) bool { return col.snapshot != nil }, 30*time.Second)
	if s := col.snapshot; len(s.Lots) != lots || s.Sale == nil || s.Sale.ID != sale.ID || s.SaleSeq == 0 || col.lastID != fmt.Sprintf("s%d:%d", sale.ID, s.SaleSeq) {
		t.Fatalf("snapshot: %d lots, sale %+v, sale_seq %d, id %q", len(s.Lots), s.Sale, s.SaleSeq, col.lastID)
	}
	for i, l := range col.snapshot.Lots {
		if l.LotNumber != i+1 || l.AuctionID != list[i].ID || l.Status != domain.StatusOpen {
			t.Fatalf("snapshot lot %d: %+v", i, l)
		}
	}
	start := col.snapshot.SaleSeq

	// Bids on lot 1 (cascading) and on later lots, from two bidders.
	bid := func(who *client, lot domain.AuctionView) {
		var a domain.AuctionView
		who.json(http.MethodGet, fmt.Sprintf("%s/auctions/%d", base, lot.ID), nil, http.StatusOK, &a)
		who.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/bids", base, lot.ID), map[string]any{"amount": a.MinNextBid}, http.StatusCreated, nil)
	}
	bid(x, list[0])
	col.take(t, first, func(int64) bool { return col.types[string(domain.EventSaleExtended)] > 0 }, 30*time.Second)
	for i := range 6 {
		bid([]*client{x, y}[i%2], list[1+i%3])
	}
	col.take(t, first, func(seq int64) bool { return len(col.seqs) >= 5 }, 30*time.Second)
	// Stop A mid-sale while bids go on.
	if err := rtA.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		bid([]*client{y, x}[i%2], list[i%4])
	}
	resumed := watcher.stream(rtB.URL()+path, col.lastID)
	for i := range 4 {
		bid([]*client{x, y}[i%2], list[5+i])
	}
	var final domain.SaleView
	seller.json(http.MethodGet, saleURL, nil, http.StatusOK, &final)
	col.take(t, resumed, func(seq int64) bool { return seq >= final.Seq }, 30*time.Second)
	if col.types[string(domain.EventSaleSnapshot)] != 1 {
		t.Errorf("%d snapshots: the resume should replay, not restart", col.types[string(domain.EventSaleSnapshot)])
	}
	for i, s := range col.seqs {
		if s != start+int64(i)+1 {
			t.Fatalf("position %d is %d, want %d (every position exactly once, in order): %v", i, s, start+int64(i)+1, col.seqs)
		}
	}
	if got := col.seqs[len(col.seqs)-1]; got != final.Seq {
		t.Fatalf("stream ended at %d, the sale's log is at %d", got, final.Seq)
	}
	// The cascade reached the catalogue as one sale_extended, not one
	// extended per later lot.
	if col.types[string(domain.EventSaleExtended)] == 0 || col.types[string(domain.EventExtended)] >= lots-1 {
		t.Errorf("events by type %v", col.types)
	}
}

// TestSaleStreamRefusals: a draft's stream is its seller's; watcher
// counts are its seller's and admins'.
func TestSaleStreamRefusals(t *testing.T) {
	c := mustCluster(t)
	n := c.node(config.RoleAll, "all")
	base := n.URL() + "/api/v1"
	seller := mustClient(t, n.URL(), "seller@example.com")
	other := mustClient(t, n.URL(), "other@example.com")
	var sale domain.SaleView
	seller.json(http.MethodPost, base+"/sales", map[string]any{"title": "Drafty", "currency": "EUR",
		"first_close_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, http.StatusCreated, &sale)
	path := fmt.Sprintf("%s/stream/sales/%d", n.URL(), sale.ID)
	for _, tt := range []struct {
		who  *client
		url  string
		want int
	}{
		{other, path, http.StatusNotFound},
		{other, n.URL() + "/stream/sales/999999", http.StatusNotFound},
		{other, n.URL() + "/stream/sales/abc", http.StatusNotFound},
		{seller, path + "?watchers=maybe", http.StatusUnprocessableEntity},
	} {
		if code, body, _ := tt.who.raw(http.MethodGet, tt.url, "", nil); code != tt.want {
			t.Errorf("GET %s: %d %s, want %d", tt.url, code, body, tt.want)
		}
	}
	anon, err := http.Get(path)
	if err != nil {
		t.Fatal(err)
	}
	anon.Body.Close()
	if anon.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: %s", anon.Status)
	}
	seller.json(http.MethodPost, fmt.Sprintf("%s/sales/%d/lots", base, sale.ID), map[string]any{"lot_number": 1, "title": "Clock", "start_price": 100}, http.StatusCreated, nil)
	seller.json(http.MethodPost, fmt.Sprintf("%s/sales/%d/publish", base, sale.ID), nil, http.StatusOK, nil)
	if code, body, _ := other.raw(http.MethodGet, path+"?watchers=1", "", nil); code != http.StatusForbidden || !strings.Contains(body, "watchers") {
		t.Errorf("another user's watcher count: %d %s", code, body)
	}
	events := seller.stream(path+"?watchers=1", "")
	deadline := time.After(30 * time.Second)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			if e.typ == string(domain.EventSaleWatchers) {
				return // the seller's own stream counts
			}
		case <-deadline:
			t.Fatal("no sale_watchers event on the seller's stream")
		}
	}
}

// mustClockSale publishes an open cascade sale of n lots ("Clock i",
// 10.00) whose lot 1 closes in 30 minutes, inside the hour-long soft
// close, so that the first bid cascades over the later lots; it returns
// the sale and its lots in order.
func mustClockSale(t *testing.T, seller *client, base string, n int) (domain.SaleView, []domain.AuctionView) {
	t.Helper()
	var sale domain.SaleView
	seller.json(http.MethodPost, base+"/sales", map[string]any{"title": "Clocks", "currency": "EUR",
		"first_close_at": time.Now().Add(30 * time.Minute).UTC().Format(time.RFC3339), "gap_seconds": 60,
		"soft_close_seconds": 3600, "soft_close_mode": "cascade"}, http.StatusCreated, &sale)
	saleURL := fmt.Sprintf("%s/sales/%d", base, sale.ID)
	var file strings.Builder
	file.WriteString(lotsHeader)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&file, "%d,Clock %d,,10.00,,,,\n", i, i)
	}
	if code, body, _ := seller.raw(http.MethodPost, saleURL+"/lots", "text/csv", strings.NewReader(file.String())); code != http.StatusCreated {
		t.Fatalf("import: %d %s", code, body)
	}
	seller.json(http.MethodPost, saleURL+"/publish", nil, http.StatusOK, &sale)
	var list struct{ Lots []domain.AuctionView }
	seller.json(http.MethodGet, saleURL+"/lots", nil, http.StatusOK, &list)
	if sale.Status != domain.SaleOpen || len(list.Lots) != n {
		t.Fatalf("published sale %s with %d lots", sale.Status, len(list.Lots))
	}
	return sale, list.Lots
}
