package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/config"
)

// esScript opens a native EventSource on an auction stream and records
// what happens to it: opens (a retry answer opens too, then ends), errors
// and whether one left it closed, snapshots (a stream really set up) and
// the price events' ids.
const esScript = `(() => {
	window.__es && window.__es.close();
	const s = {opens: 0, errors: 0, closedOnError: 0, snapshots: 0, prices: []};
	window.__esState = s;
	const es = new EventSource(%q);
	window.__es = es;
	es.onopen = () => { s.opens++; };
	es.onerror = () => { s.errors++; if (es.readyState === EventSource.CLOSED) s.closedOnError++; };
	es.addEventListener('price', (e) => { s.prices.push(e.lastEventId); });
	es.addEventListener('snapshot', () => { s.snapshots++; });
	return true;
})()`

// TestBrowserStreamRetriesThroughOutage opens a stream in real Chromium,
// stops PostgreSQL, and opens it again: the node cannot load the session,
// so it answers 200 with a retry delay, and the browser's own EventSource
// keeps retrying (after a 503 it would give up for good). Once PostgreSQL
// is back, the stream opens by itself and delivers the next bid.
func TestBrowserStreamRetriesThroughOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test")
	}
	requireChromium(t)
	pg := ownCluster(t)
	cfg := config.Default()
	cfg.Addr, cfg.Role, cfg.DataDir = "127.0.0.1:0", config.RoleAll, t.TempDir()
	cfg.DatabaseURL, cfg.NATSURL, cfg.Demo, cfg.NodeName = pg.URL(), "", config.DemoOff, "outage-test"
	// PostgreSQL is stopped here, not paused: what fails, fails at once.
	// A generous bound keeps the setup (bcrypt under -race on a loaded
	// machine) from being refused with 503 before the outage.
	cfg.DependencyTimeout = 30 * time.Second
	logs := &browserLogBuffer{}
	n, err := startNode(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = n.shutdown(context.Background())
		if t.Failed() {
			t.Logf("node log:\n%s", logs)
		}
	})
	base := n.URL()
	seller, bidder := mustClient(t, base, "seller@example.com"), mustClient(t, base, "bidder@example.com")
	var a domain.AuctionView
	seller.settled(http.MethodPost, base+"/api/v1/auctions", map[string]any{"title": "Barometer", "currency": "EUR",
		"start_price": 1000, "ends_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, http.StatusCreated, &a)

	b := startBrowser(t, "watcher", 1024, 768)
	b.register(base, "Wendy", "wendy@example.com", "wendy-password", "/", "#conn-status")
	open := fmt.Sprintf(esScript, "/stream/auctions/"+strconv.FormatInt(a.ID, 10))
	b.str(`String(` + open + `)`)
	b.waitFor("stream open", `window.__esState.snapshots >= 1 && window.__es.readyState === EventSource.OPEN`, `JSON.stringify(window.__esState)`, 15*time.Second)

	if err := pg.StopServer(context.Background(), "fast"); err != nil {
		t.Fatal(err)
	}
	pgStopped := true
	defer func() {
		if pgStopped {
			_ = pg.Start(context.Background())
		}
	}()
	// Past the node's one-second session cache, a new stream cannot be set
	// up.
	time.Sleep(1500 * time.Millisecond)
	b.str(`String(` + open + `)`)
	// Each refused attempt is an error event after which the browser
	// schedules the next one by itself: two mean it retried.
	b.waitFor("stream retried during the outage", `window.__esState.errors >= 2`, `JSON.stringify(window.__esState) + ' state ' + window.__es.readyState`, 30*time.Second)
	if s := b.str(`JSON.stringify(window.__esState)`); b.str(`String(window.__esState.closedOnError)`) != "0" || b.str(`String(window.__esState.snapshots)`) != "0" {
		t.Fatalf("during the outage: %s (the EventSource must never close, and no stream can be set up)", s)
	}

	if err := pg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	pgStopped = false
	b.waitFor("stream set up again by the browser's own retry", `window.__esState.snapshots >= 1 && window.__es.readyState === EventSource.OPEN`, `JSON.stringify(window.__esState)`, 30*time.Second)
	waitUntil(t, "a bid after the outage", func() bool {
		return bidder.json(http.MethodPost, fmt.Sprintf("%s/api/v1/auctions/%d/bids", base, a.ID), map[string]any{"amount": 1000}, 0, nil) == http.StatusCreated
	})
	b.waitFor("the bid arrives live", `window.__esState.prices.length >= 1`, `JSON.stringify(window.__esState)`, 15*time.Second)
	if s := b.str(`String(window.__esState.closedOnError)`); s != "0" {
		t.Fatalf("the EventSource closed %s times", s)
	}
	b.checkConsole("after the outage")
}
