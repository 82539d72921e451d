package hostile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// A fresh sale's state when a cell acts on it.
const (
	saleDraft     = "draft"     // a draft with one lot: only its seller and admins see it
	saleScheduled = "scheduled" // published, opening in an hour
	saleOpen      = "open"      // published, its lot open for bids
	salePaused    = "paused"    // open, then paused by the admin
	saleCancelled = "cancelled" // scheduled, then cancelled by its seller
)

// newSale creates a sale of the seller with one lot and brings it to
// state; it returns the sale and the lot.
func (w *world) newSale(ctx context.Context, state string) (sale, lot int64, err error) {
	seller, admin := w.actors["seller"], w.actors["admin"]
	now := time.Now().UTC()
	opens := ""
	if state == saleScheduled || state == saleCancelled {
		// Only an administrator may cancel a sale whose bidding started.
		opens = fmt.Sprintf(`, "opens_at": %q`, now.Add(time.Hour).Format(time.RFC3339))
	}
	body := fmt.Sprintf(`{"title": "Hostile sale %s", "currency": "EUR", "first_close_at": %q%s}`,
		w.tag, now.Add(2*time.Hour).Format(time.RFC3339), opens)
	resp, err := w.expect(ctx, seller, request{Method: "POST", Path: "/api/v1/sales", Body: body}, 201)
	if err != nil {
		return 0, 0, err
	}
	if sale, err = idOf(resp.Body); err != nil {
		return 0, 0, fmt.Errorf("new sale: %w", err)
	}
	resp, err = w.expect(ctx, seller, request{Method: "POST", Path: fmt.Sprintf("/api/v1/sales/%d/lots", sale),
		Body: `{"lot_number": 1, "title": "Hostile lot", "start_price": 1000}`}, 201)
	if err != nil {
		return 0, 0, err
	}
	if lot, err = idOf(resp.Body); err != nil {
		return 0, 0, fmt.Errorf("new lot: %w", err)
	}
	steps := map[string][]struct {
		a    *actor
		verb string
	}{
		saleDraft:     nil,
		saleScheduled: {{seller, "publish"}},
		saleOpen:      {{seller, "publish"}},
		salePaused:    {{seller, "publish"}, {admin, "pause"}},
		saleCancelled: {{seller, "publish"}, {seller, "cancel"}},
	}
	for _, s := range steps[state] {
		r := request{Method: "POST", Path: fmt.Sprintf("/api/v1/sales/%d/%s", sale, s.verb), Body: `{"reason": "hostile suite"}`}
		if _, err := w.expect(ctx, s.a, r, 200); err != nil {
			return 0, 0, err
		}
	}
	return sale, lot, nil
}

func idOf(body string) (int64, error) {
	var v struct{ ID int64 }
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.ID == 0 {
		return 0, fmt.Errorf("no id in %q", body)
	}
	return v.ID, nil
}

// onFreshSale acts on a new sale in state; the path has one %d (the sale)
// or two (the sale and its lot).
func onFreshSale(method, path, state, body string) builder {
	return func(ctx context.Context, w *world, _ *actor) (request, error) {
		sale, lot, err := w.newSale(ctx, state)
		p := fmt.Sprintf(path, sale)
		if strings.Count(path, "%d") == 2 {
			p = fmt.Sprintf(path, sale, lot)
		}
		return request{Method: method, Path: p, Body: body, ContentType: typeOf(body)}, err
	}
}

// saleJSON is a new sale whose first lot closes in two hours.
func saleJSON() string {
	return fmt.Sprintf(`{"title": "Matrix sale", "currency": "EUR", "first_close_at": %q}`,
		time.Now().UTC().Add(2*time.Hour).Format(time.RFC3339))
}

func saleForm() string {
	return form("title", "Matrix sale", "currency", "EUR",
		"first_close_at_utc", time.Now().UTC().Add(2*time.Hour).Format(time.RFC3339))
}

// Answers of the pages that manage a sale: its seller and admins see a
// draft, anyone else is told it does not exist.
const (
	draftPage = "anon=303 seller,admin=200 suspended=403 *=404"
	draftForm = "anon=303 seller=303 admin,suspended=403 *=404"
)

// saleCases are the routes of catalogue sales (docs/SALES.md).
func saleCases() []caseSpec {
	lotForm := form("lot_number", "2", "title", "Matrix lot", "start_price", "10.00")
	return []caseSpec{
		// Public reads of published sales.
		{route: "GET /sales", want: public, build: get("/sales")},
		{route: "GET /api/v1/sales/", want: public, build: get("/api/v1/sales")},
		{route: "GET /api/v1/sales/:id", want: public, build: onFreshSale("GET", "/api/v1/sales/%d", saleOpen, "")},
		{route: "GET /api/v1/sales/:id/lots", want: public, build: onFreshSale("GET", "/api/v1/sales/%d/lots", saleOpen, "")},
		{route: "GET /sales/:id", want: public, build: onFreshSale("GET", "/sales/%d", saleOpen, "")},
		{route: "GET /stream/sales/:id", want: actorStream, build: onFreshSale("GET", "/stream/sales/%d", saleOpen, "")},

		// Creating and editing a sale: its seller only; a draft is
		// invisible to everyone else.
		{route: "POST /api/v1/sales/", want: "anon=401 suspended=403 *=201", build: withBody("POST", "/api/v1/sales", saleJSON, false)},
		{route: "GET /sales/new", want: "anon=303 suspended=403 *=200", build: get("/sales/new")},
		{route: "POST /sales/new", want: "anon=303 suspended=403 *=303", build: withBody("POST", "/sales/new", saleForm, false)},
		{route: "PATCH /api/v1/sales/:id", want: "anon=401 seller=200 *=403", build: func(ctx context.Context, w *world, a *actor) (request, error) {
			return onFreshSale("PATCH", "/api/v1/sales/%d", saleDraft, saleJSON())(ctx, w, a)
		}},
		{route: "POST /api/v1/sales/:id/publish", want: "anon=401 seller=200 *=403", build: onFreshSale("POST", "/api/v1/sales/%d/publish", saleDraft, "")},
		{route: "POST /api/v1/sales/:id/lots", want: "anon=401 seller=201 admin,suspended=403 *=404", build: onFreshSale("POST", "/api/v1/sales/%d/lots", saleDraft, `{"lot_number": 2, "title": "Matrix lot", "start_price": 1000}`)},
		{route: "PATCH /api/v1/sales/:id/lots/:lot", want: "anon=401 seller=200 *=403", build: onFreshSale("PATCH", "/api/v1/sales/%d/lots/%d", saleDraft, `{"lot_number": 1, "title": "Matrix lot", "start_price": 2000}`)},
		{route: "GET /sales/:id/edit", want: draftPage, build: onFreshSale("GET", "/sales/%d/edit", saleDraft, "")},
		{route: "POST /sales/:id/edit", want: draftForm, build: func(ctx context.Context, w *world, a *actor) (request, error) {
			return onFreshSale("POST", "/sales/%d/edit", saleDraft, saleForm())(ctx, w, a)
		}},
		{route: "GET /sales/:id/import", want: draftPage, build: onFreshSale("GET", "/sales/%d/import", saleDraft, "")},
		{route: "POST /sales/:id/import", want: draftForm, build: onFreshSale("POST", "/sales/%d/import", saleDraft, form("csv", "lot_number,title,description,start_price,reserve,low_estimate,high_estimate,buy_now\n2,Matrix lot,,10,,,,\n"))},
		{route: "GET /sales/:id/lots/new", want: draftPage, build: onFreshSale("GET", "/sales/%d/lots/new", saleDraft, "")},
		{route: "POST /sales/:id/lots/new", want: draftForm, build: onFreshSale("POST", "/sales/%d/lots/new", saleDraft, lotForm)},
		{route: "GET /sales/:id/lots/:lot/edit", want: draftPage, build: onFreshSale("GET", "/sales/%d/lots/%d/edit", saleDraft, "")},
		{route: "POST /sales/:id/lots/:lot/edit", want: draftForm, build: onFreshSale("POST", "/sales/%d/lots/%d/edit", saleDraft, form("lot_number", "1", "title", "Matrix lot", "start_price", "20.00"))},

		// Running a published sale: its seller and admins; pausing is the
		// auction house's.
		{route: "GET /sales/:id/dashboard", want: "anon=303 seller,admin=200 *=403", build: onFreshSale("GET", "/sales/%d/dashboard", saleOpen, "")},
		{route: "POST /api/v1/sales/:id/cancel", want: "anon=401 seller,admin=200 *=403", build: onFreshSale("POST", "/api/v1/sales/%d/cancel", saleScheduled, `{"reason": "matrix"}`)},
		{route: "POST /sales/:id/:action", want: "anon=303 seller,admin=303 *=403", build: onFreshSale("POST", "/sales/%d/cancel", saleScheduled, form("reason", "matrix"))},
		{route: "POST /api/v1/sales/:id/pause", want: "anon=401 admin=200 *=403", build: onFreshSale("POST", "/api/v1/sales/%d/pause", saleOpen, `{"reason": "matrix"}`)},
		{route: "POST /api/v1/sales/:id/resume", want: "anon=401 admin=200 *=403", build: onFreshSale("POST", "/api/v1/sales/%d/resume", salePaused, `{"reason": "matrix"}`)},
		{route: "POST /sales/:id/lots/:lot/withdraw", want: "anon=303 seller,admin=303 *=403", build: onFreshSale("POST", "/sales/%d/lots/%d/withdraw", saleOpen, form("reason", "matrix"))},
		{route: "GET /api/v1/sales/:id/results.csv", want: "anon=401 seller,admin=200 *=403", build: onFreshSale("GET", "/api/v1/sales/%d/results.csv", saleCancelled, "")},
	}
}
