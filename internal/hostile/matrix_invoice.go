package hostile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Invoices in the matrix. The buyer of each invoice is someone new, not one
// of the actors: a seller sees their buyer's email on the invoice (they
// ship to them), and the leak scan holds every actor's email from the
// seller. So among the actors only the seller and the admin are parties;
// everyone else must be refused as a stranger (404: an invoice is not
// even shown to exist).

// noSuchID is an id no invoice, offer or sale of the world has.
const noSuchID = "999999999"

// newInvoice has someone new buy a fresh lot of the seller's with buy it
// now, waits for the lot to be invoiced (the settler runs every second)
// and returns the invoice's id. paid: the seller also marks it paid.
func (w *world) newInvoice(ctx context.Context, paid bool) (int64, error) {
	lot, err := w.newAuction(ctx, `"buy_now_price": 5000`)
	if err != nil {
		return 0, err
	}
	_, acct, err := w.freshUser(ctx)
	if err != nil {
		return 0, err
	}
	buyer := &actor{name: "buyer", acct: acct, c: newClient(w.node.URL, w.pool.take(), 1)}
	defer buyer.c.close()
	if err := w.login(ctx, buyer); err != nil {
		return 0, err
	}
	if _, err := w.expect(ctx, buyer, request{Method: "POST", Path: fmt.Sprintf("/api/v1/auctions/%d/buy-now", lot)}, 201); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := w.expect(ctx, buyer, request{Method: "GET", Path: "/api/v1/me/invoices?role=buyer"}, 200)
		if err != nil {
			return 0, err
		}
		var list struct {
			Invoices []struct{ ID int64 } `json:"invoices"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &list); err != nil {
			return 0, fmt.Errorf("invoices: %w", err)
		}
		if len(list.Invoices) > 0 {
			id := list.Invoices[0].ID
			if paid {
				_, err = w.expect(ctx, w.actors["seller"], request{Method: "POST", Path: fmt.Sprintf("/api/v1/invoices/%d/paid", id)}, 200)
			}
			return id, err
		}
		if time.Now().After(deadline) {
			return 0, errors.New("the bought lot was not invoiced within 30 s")
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// onInvoice acts on an invoice: one of the world's, made once, for the
// actors who may not change it (their answers do not depend on its
// state), and a fresh one for the seller and the admin, so that what one
// does cannot change what the other meets. The path has one %d, the
// invoice; paid: the invoice is paid first.
func onInvoice(method, path, body string, paid bool) builder {
	return func(ctx context.Context, w *world, a *actor) (request, error) {
		var id int64
		var err error
		if a.name == "seller" || a.name == "admin" {
			id, err = w.newInvoice(ctx, paid)
		} else {
			if w.invoice == 0 {
				w.invoice, err = w.newInvoice(ctx, false)
			}
			id = w.invoice
		}
		return request{Method: method, Path: fmt.Sprintf(path, id), Body: body, ContentType: typeOf(body)}, err
	}
}

// invoicingCases are the routes of invoices, offers, statements, fees and
// commissions (#17).
func invoicingCases() []caseSpec {
	const (
		party     = "anon=401 seller,admin=200 *=404"
		partyPage = "anon=303 seller,admin=200 *=404"
		// A step the seller and the admin may take; strangers are told
		// there is no such invoice, the suspended before anything else.
		step     = "anon=401 suspended=403 seller,admin=200 *=404"
		stepPage = "anon=303 suspended=403 seller,admin=303 *=404"
	)
	return []caseSpec{
		// Settings and the platform's commission.
		{route: "GET /api/v1/me/seller-settings", want: userAPI, build: get("/api/v1/me/seller-settings")},
		{route: "PUT /api/v1/me/seller-settings", want: "anon=401 suspended=403 *=200", build: send("PUT", "/api/v1/me/seller-settings", `{"due_days": 14}`)},
		{route: "GET /me/seller-settings", want: userPage, build: get("/me/seller-settings")},
		{route: "POST /me/seller-settings", want: "anon=303 suspended=403 *=303", build: send("POST", "/me/seller-settings", form("currency", "EUR", "due_days", "14"))},
		{route: "GET /api/v1/admin/commission", want: adminAPI, build: get("/api/v1/admin/commission")},
		{route: "PUT /api/v1/admin/commission", want: adminAPI, build: send("PUT", "/api/v1/admin/commission", `{"rate_bps": 0}`)},
		{route: "PUT /api/v1/admin/users/:id/commission", want: adminAPI, build: onFreshUser("PUT", "/api/v1/admin/users/%d/commission", `{"rate_bps": 500}`, false)},
		{route: "POST /admin/commission", want: "anon=303 admin=303 *=403", build: send("POST", "/admin/commission", form("rate", "0"))},

		// Invoices.
		{route: "GET /api/v1/me/invoices", want: userAPI, build: get("/api/v1/me/invoices")},
		{route: "GET /me/invoices", want: userPage, build: get("/me/invoices")},
		{route: "GET /api/v1/invoices/:id", want: party, build: onInvoice("GET", "/api/v1/invoices/%d", "", false)},
		{route: "GET /invoices/:id", want: partyPage, build: onInvoice("GET", "/invoices/%d", "", false)},
		// No shipping options on these invoices: nothing to choose.
		{route: "POST /api/v1/invoices/:id/checkout", want: "anon=401 suspended=403 seller,admin=409 *=404", build: onInvoice("POST", "/api/v1/invoices/%d/checkout", `{"option": 0}`, false)},
		{route: "POST /invoices/:id/checkout", want: "anon=303 suspended=403 seller,admin=409 *=404", build: onInvoice("POST", "/invoices/%d/checkout", form("option", "0"), false)},
		{route: "POST /api/v1/invoices/:id/paid", want: step, build: onInvoice("POST", "/api/v1/invoices/%d/paid", `{"method": "bank_transfer"}`, false)},
		{route: "POST /invoices/:id/paid", want: stepPage, build: onInvoice("POST", "/invoices/%d/paid", form("method", "bank_transfer"), false)},
		{route: "POST /api/v1/invoices/:id/shipped", want: step, build: onInvoice("POST", "/api/v1/invoices/%d/shipped", `{"tracking": "MATRIX1"}`, true)},
		{route: "POST /invoices/:id/shipped", want: stepPage, build: onInvoice("POST", "/invoices/%d/shipped", form("tracking", "MATRIX1"), true)},
		{route: "POST /api/v1/invoices/:id/collected", want: step, build: onInvoice("POST", "/api/v1/invoices/%d/collected", "", true)},
		{route: "POST /invoices/:id/collected", want: stepPage, build: onInvoice("POST", "/invoices/%d/collected", "", true)},
		{route: "POST /api/v1/invoices/:id/credit-note", want: "anon=401 suspended=403 seller,admin=201 *=404", build: onInvoice("POST", "/api/v1/invoices/%d/credit-note", `{"reason": "matrix"}`, false)},
		{route: "POST /invoices/:id/credit-note", want: stepPage, build: onInvoice("POST", "/invoices/%d/credit-note", form("reason", "matrix"), false)},

		// Offers after close. The world's lots are open (an offer is for a
		// closed lot), and no offer is made to an actor, so accepting and
		// declining find nothing of theirs.
		{route: "POST /api/v1/auctions/:id/offers", want: "anon=401 suspended=403 seller=409 *=403", build: onFreshAuction("POST", "/api/v1/auctions/%d/offers", "", "")},
		{route: "POST /auctions/:id/offer", want: "anon=303 suspended=403 *=303", build: onFreshAuction("POST", "/auctions/%d/offer", "", "")},
		{route: "GET /api/v1/me/offers", want: userAPI, build: get("/api/v1/me/offers")},
		{route: "GET /me/offers", want: userPage, build: get("/me/offers")},
		{route: "POST /api/v1/offers/:id/accept", want: "anon=401 suspended=403 *=404", build: send("POST", "/api/v1/offers/"+noSuchID+"/accept", "")},
		{route: "POST /api/v1/offers/:id/decline", want: "anon=401 suspended=403 *=404", build: send("POST", "/api/v1/offers/"+noSuchID+"/decline", "")},
		{route: "POST /offers/:id/accept", want: "anon=303 suspended=403 *=303", build: send("POST", "/offers/"+noSuchID+"/accept", "")},
		{route: "POST /offers/:id/decline", want: "anon=303 suspended=403 *=303", build: send("POST", "/offers/"+noSuchID+"/decline", "")},

		// Statements: a seller's own; a sale's to its seller and admins.
		{route: "GET /api/v1/me/statement", want: userAPI, build: get("/api/v1/me/statement")},
		{route: "GET /api/v1/me/statement.csv", want: userAPI, build: get("/api/v1/me/statement.csv")},
		{route: "GET /me/statement", want: userPage, build: get("/me/statement")},
		// The CSV downloads answer 401, not a login page, to anonymous visitors.
		{route: "GET /me/statement.csv", want: "anon=401 *=200", build: get("/me/statement.csv")},
		{route: "GET /api/v1/sales/:id/statement", want: "anon=401 *=404", build: get("/api/v1/sales/" + noSuchID + "/statement")},
		{route: "GET /api/v1/sales/:id/statement.csv", want: "anon=401 *=404", build: get("/api/v1/sales/" + noSuchID + "/statement.csv")},
		{route: "GET /sales/:id/statement", want: "anon=303 *=404", build: get("/sales/" + noSuchID + "/statement")},
		{route: "GET /sales/:id/statement.csv", want: "anon=401 *=404", build: get("/sales/" + noSuchID + "/statement.csv")},
	}
}
