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

// TestMuxCarriesSaleAcrossRealtimeNodes: the browser's one connection
// (/stream/mux) carries a sale catalogue beside a single auction and the
// user's own channel, through real nodes (PostgreSQL, NATS). It starts
// with a snapshot of the auction and a sale_snapshot of every lot; stopped
// mid-sale and resumed on another realtime node with its Last-Event-ID, it
// gets every position of the sale's log and every seq of the auction
// exactly once, in order, and no second snapshot.
func TestMuxCarriesSaleAcrossRealtimeNodes(t *testing.T) {
	c := mustCluster(t)
	api := c.node(config.RoleAPI, "api")
	rtA := c.node(config.RoleRealtime, "rt-a")
	rtB := c.node(config.RoleRealtime, "rt-b")
	base := api.URL() + "/api/v1"
	seller := mustClient(t, api.URL(), "seller@example.com")
	x, y := mustClient(t, api.URL(), "x@example.com"), mustClient(t, api.URL(), "y@example.com")
	watcher := mustClient(t, api.URL(), "w@example.com")

	const lots = 8
	sale, list := mustClockSale(t, seller, base, lots)
	saleURL := fmt.Sprintf("%s/sales/%d", base, sale.ID)
	var single domain.AuctionView
	seller.json(http.MethodPost, base+"/auctions", map[string]any{"title": "A lamp", "description": "A lamp.", "currency": "EUR",
		"start_price": 1000, "ends_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, http.StatusCreated, &single)

	bid := func(who *client, id int64) {
		t.Helper()
		var a domain.AuctionView
		who.json(http.MethodGet, fmt.Sprintf("%s/auctions/%d", base, id), nil, http.StatusOK, &a)
		who.json(http.MethodPost, fmt.Sprintf("%s/auctions/%d/bids", base, id), map[string]any{"amount": a.MinNextBid}, http.StatusCreated, nil)
	}
	var (
		saleSeqs, auctionSeqs []int64
		types                 = map[string]int{}
		lastID                string
		snap, saleSnap        *domain.Event
	)
	// take reads events until done holds.
	take := func(events <-chan sseEvent, step string, done func() bool) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for !done() {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("%s: stream ended; sale %v, auction %v", step, saleSeqs, auctionSeqs)
				}
				if e.id != "" {
					lastID = e.id
				}
				types[e.typ]++
				switch {
				case e.typ == string(domain.EventSaleSnapshot):
					ev := e.ev
					saleSnap = &ev
				case e.typ == string(domain.EventSnapshot):
					ev := e.ev
					snap = &ev
				case e.ev.SaleSeq > 0:
					saleSeqs = append(saleSeqs, e.ev.SaleSeq)
				case e.ev.AuctionID == single.ID:
					auctionSeqs = append(auctionSeqs, e.ev.Seq)
				}
			case <-deadline:
				t.Fatalf("%s: timed out; sale %v, auction %v", step, saleSeqs, auctionSeqs)
			}
		}
	}
	path := fmt.Sprintf("/stream/mux?ids=%d&sales=%d", single.ID, sale.ID)
	first := watcher.stream(rtA.URL()+path, "")
	take(first, "snapshots", func() bool { return snap != nil && saleSnap != nil })
	if len(saleSnap.Lots) != lots || saleSnap.Sale == nil || saleSnap.Sale.ID != sale.ID || snap.AuctionID != single.ID {
		t.Fatalf("snapshots: %d lots, sale %+v; auction %d", len(saleSnap.Lots), saleSnap.Sale, snap.AuctionID)
	}
	for i, l := range saleSnap.Lots {
		if l.LotNumber != i+1 || l.AuctionID != list[i].ID {
			t.Fatalf("snapshot lot %d: %+v", i, l)
		}
	}
	if want := fmt.Sprintf("%d:%d,s%d:%d", single.ID, snap.Seq, sale.ID, saleSnap.SaleSeq); !strings.HasPrefix(lastID, want) {
		t.Fatalf("cursor %q, want it to start %q: the auction, then the sale", lastID, want)
	}
	saleStart, auctionStart := saleSnap.SaleSeq, snap.Seq

	for i := range 4 {
		bid([]*client{x, y}[i%2], list[i%3].ID)
		bid([]*client{y, x}[i%2], single.ID)
	}
	take(first, "live", func() bool { return len(saleSeqs) >= 3 && len(auctionSeqs) >= 2 })
	if err := rtA.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		bid([]*client{x, y}[i%2], list[3+i%3].ID)
		bid([]*client{x, y}[i%2], single.ID)
	}
	resumed := watcher.stream(rtB.URL()+path, lastID)
	bid(x, list[lots-1].ID)
	var final domain.SaleView
	seller.json(http.MethodGet, saleURL, nil, http.StatusOK, &final)
	var lamp domain.AuctionView
	seller.json(http.MethodGet, fmt.Sprintf("%s/auctions/%d", base, single.ID), nil, http.StatusOK, &lamp)
	take(resumed, "resumed", func() bool {
		return len(saleSeqs) > 0 && saleSeqs[len(saleSeqs)-1] >= final.Seq && len(auctionSeqs) > 0 && auctionSeqs[len(auctionSeqs)-1] >= lamp.Seq
	})
	if types[string(domain.EventSaleSnapshot)] != 1 || types[string(domain.EventSnapshot)] != 1 {
		t.Errorf("events by type %v: the resume should replay, not restart", types)
	}
	for i, s := range saleSeqs {
		if s != saleStart+int64(i)+1 {
			t.Fatalf("sale position %d is %d, want %d (each exactly once, in order): %v", i, s, saleStart+int64(i)+1, saleSeqs)
		}
	}
	for i, s := range auctionSeqs {
		if s != auctionStart+int64(i)+1 {
			t.Fatalf("auction seq %d is %d, want %d (each exactly once, in order): %v", i, s, auctionStart+int64(i)+1, auctionSeqs)
		}
	}
}
