package hostile

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// builder makes the request of one matrix cell.
type builder func(ctx context.Context, w *world, a *actor) (request, error)

const formType = "application/x-www-form-urlencoded"

// expand fills a path's placeholders: {A} the world's auction, {B} rival's
// bid on it, {M} a message in the development mailbox.
func (w *world) expand(s string) string {
	return strings.NewReplacer("{A}", strconv.FormatInt(w.auction, 10), "{B}", strconv.FormatInt(w.bid, 10),
		"{M}", strconv.FormatInt(w.mail, 10)).Replace(s)
}

// get reads a path.
func get(path string) builder {
	return func(_ context.Context, w *world, _ *actor) (request, error) {
		return request{Method: "GET", Path: w.expand(path)}, nil
	}
}

// send sends a fixed body (JSON, or a form when it has no brace).
func send(method, path, body string) builder {
	return func(_ context.Context, w *world, _ *actor) (request, error) {
		return request{Method: method, Path: w.expand(path), Body: body, ContentType: typeOf(body)}, nil
	}
}

func typeOf(body string) string {
	if body == "" || strings.HasPrefix(body, "{") {
		return ""
	}
	return formType
}

// onFreshAuction acts on a new open auction of the seller (with extra
// JSON members), so that what one actor does cannot change what the next
// one meets. The path has one %d, the auction.
func onFreshAuction(method, path, extra, body string) builder {
	return func(ctx context.Context, w *world, _ *actor) (request, error) {
		id, err := w.newAuction(ctx, extra)
		return request{Method: method, Path: fmt.Sprintf(path, id), Body: body, ContentType: typeOf(body)}, err
	}
}

// onFreshBid acts on a new auction with one bid of rival's; the path has
// two %d, the auction and the bid.
func onFreshBid(method, path, body string) builder {
	return func(ctx context.Context, w *world, _ *actor) (request, error) {
		id, err := w.newAuction(ctx, "")
		if err != nil {
			return request{}, err
		}
		bid, err := w.placeBid(ctx, w.actors["rival"], id, "")
		return request{Method: method, Path: fmt.Sprintf(path, id, bid), Body: body, ContentType: typeOf(body)}, err
	}
}

// onFreshUser acts on a new user, suspended first if suspended is set;
// %d in the path or the body is the user.
func onFreshUser(method, path, body string, suspended bool) builder {
	return func(ctx context.Context, w *world, _ *actor) (request, error) {
		id, _, err := w.freshUser(ctx)
		if err == nil && suspended {
			err = w.suspend(ctx, id)
		}
		r := request{Method: method, Path: path, Body: body, ContentType: typeOf(body)}
		if strings.Contains(path, "%d") {
			r.Path = fmt.Sprintf(path, id)
		} else {
			r.Body = fmt.Sprintf(body, id)
		}
		return r, err
	}
}

// asSelf sends a's own credentials (wrong ones for anon) in body, whose
// %s are the email and the password.
func asSelf(method, path, body string) builder {
	return func(_ context.Context, w *world, a *actor) (request, error) {
		email, pw := a.acct.Email, a.acct.Password
		if a.name == "anon" {
			email, pw = "nobody-"+w.tag+"@hostile.example", "wrong password"
		}
		return request{Method: method, Path: path, Body: fill(body, email, pw), ContentType: typeOf(body), Cookie: noCookie}, nil
	}
}

// fill puts values into a body's %s, escaped for JSON strings or forms.
func fill(body string, values ...string) string {
	args := make([]any, len(values))
	for i, v := range values {
		if strings.HasPrefix(body, "{") {
			b, _ := json.Marshal(v)
			args[i] = strings.Trim(string(b), `"`)
		} else {
			args[i] = url.QueryEscape(v)
		}
	}
	return fmt.Sprintf(body, args...)
}

// newAccount registers someone new, with a form or JSON body whose %s
// are the email, the password and the name.
func newAccount(method, path, body string) builder {
	return func(_ context.Context, w *world, _ *actor) (request, error) {
		acct := w.account("new" + randomTag())
		return request{Method: method, Path: path, Body: fill(body, acct.Email, acct.Password, acct.Name), ContentType: typeOf(body)}, nil
	}
}

func listing() string {
	return fmt.Sprintf(`{"title": "Matrix lot", "currency": "EUR", "start_price": 1000, "ends_at": %q}`,
		time.Now().UTC().Add(time.Hour).Format(time.RFC3339))
}

func listingForm() string {
	return form("title", "Matrix lot", "currency", "EUR", "start_price", "10.00",
		"ends_at_utc", time.Now().UTC().Add(time.Hour).Format(time.RFC3339), "soft_close_seconds", "120")
}

// withBody evaluates a body when the cell runs (times move on).
func withBody(method, path string, body func() string, fresh bool) builder {
	return func(ctx context.Context, w *world, a *actor) (request, error) {
		if fresh {
			return onFreshAuction(method, path, "", body())(ctx, w, a)
		}
		return send(method, path, body())(ctx, w, a)
	}
}

// Expected answers, by kind of route. "users" are the logged-in actors
// who may act (not suspended); pages send anonymous visitors to /login
// (303) and answer refusals with an error page.
const (
	public      = "*=200"
	adminAPI    = "anon=401 admin=200 *=403"
	adminPage   = "anon=303 admin=200 *=403"
	userAPI     = "anon=401 *=200"
	userPage    = "anon=303 *=200"
	actorStream = "anon=401 suspended=403 *=200"
)

// cases is the matrix; matrix.go says how it is used.
func cases() []caseSpec {
	return append([]caseSpec{
		// Probes and assets.
		{route: "GET /healthz", want: public, build: get("/healthz")},
		{route: "GET /readyz", want: public, build: get("/readyz")},
		{route: "GET /favicon.ico", want: "*=302", build: get("/favicon.ico")},
		{route: "GET /static/*", want: public, build: get("/static/css/app.css")},

		// Public pages and reads.
		{route: "GET /", want: public, build: get("/?q=lot")},
		{route: "GET /auctions/:id", want: public, build: get("/auctions/{A}")},
		{route: "GET /login", want: "anon=200 *=303", build: get("/login")},
		{route: "GET /register", want: "anon=200 *=303", build: get("/register")},
		{route: "GET /forgot", want: public, build: get("/forgot")},
		{route: "GET /reset", want: "*=200|410|422", build: get("/reset?token=not-a-token")},
		{route: "GET /verify", want: "*=200|410|422", build: get("/verify?token=not-a-token")},
		{route: "GET /unsubscribe", want: "*=200|410|422", build: get("/unsubscribe?token=not-a-token")},
		{route: "GET /api/v1/auctions", want: public, build: get("/api/v1/auctions?q=lot")},
		{route: "GET /api/v1/auctions/:id", want: public, build: get("/api/v1/auctions/{A}")},
		{route: "GET /api/v1/auctions/:id/bids", want: public, build: get("/api/v1/auctions/{A}/bids")},

		// Your own things.
		{route: "GET /api/v1/me", want: userAPI, build: get("/api/v1/me")},
		{route: "GET /api/v1/me/notifications", want: userAPI, build: get("/api/v1/me/notifications")},
		{route: "PUT /api/v1/me/notifications", want: userAPI, build: send("PUT", "/api/v1/me/notifications", `{"time_zone": "Europe/Paris"}`)},
		{route: "GET /me/bids", want: userPage, build: get("/me/bids")},
		{route: "GET /me/listings", want: userPage, build: get("/me/listings")},
		{route: "GET /me/notifications", want: userPage, build: get("/me/notifications")},
		{route: "POST /me/notifications", want: "anon=303 *=303", build: send("POST", "/me/notifications", form("time_zone", "Europe/Paris"))},
		{route: "GET /sell", want: "anon=303 suspended=403 *=200", build: get("/sell")},
		{route: "GET /auctions/:id/edit", want: "anon=303 seller=200 *=403", build: onFreshAuction("GET", "/auctions/%d/edit", "", "")},

		// Streams: every stream needs a session; a suspended user gets 403.
		{route: "GET /stream/auctions/:id", want: actorStream, build: get("/stream/auctions/{A}")},
		{route: "GET /stream/auctions", want: actorStream, build: get("/stream/auctions?ids={A}")},
		{route: "GET /stream/me", want: actorStream, build: get("/stream/me")},
		{route: "GET /stream/admin", want: "anon=401 admin=200 *=403", build: get("/stream/admin")},

		// Accounts and sessions.
		{route: "POST /api/v1/users", want: "*=201", build: newAccount("POST", "/api/v1/users", `{"email": %q, "password": %q, "name": %q}`)},
		{route: "POST /register", want: "*=303", build: newAccount("POST", "/register", "email=%s&password=%s&name=%s"), session: true},
		{route: "POST /api/v1/session", want: "anon=401 *=200", build: asSelf("POST", "/api/v1/session", `{"email": "%s", "password": "%s"}`)},
		{route: "POST /login", want: "anon=401 *=303", build: asSelf("POST", "/login", "email=%s&password=%s")},
		{route: "DELETE /api/v1/session", want: "*=204", build: send("DELETE", "/api/v1/session", ""), session: true},
		{route: "POST /logout", want: "*=303", build: send("POST", "/logout", ""), session: true},
		{route: "POST /api/v1/users/verify", want: "*=422", build: send("POST", "/api/v1/users/verify", `{"token": "not-a-token"}`)},
		{route: "POST /api/v1/users/verify/resend", want: "anon=401 admin=409 *=202", build: send("POST", "/api/v1/users/verify/resend", "")},
		{route: "POST /verify/resend", want: "anon=303 *=303", build: send("POST", "/verify/resend", form("next", "/"))},
		{route: "POST /api/v1/password-reset", want: "*=202", build: send("POST", "/api/v1/password-reset", `{"email": "nobody@hostile.example"}`)},
		{route: "POST /forgot", want: "*=202", build: send("POST", "/forgot", form("email", "nobody@hostile.example"))},
		{route: "POST /api/v1/password-reset/confirm", want: "*=422", build: send("POST", "/api/v1/password-reset/confirm", `{"token": "not-a-token", "password": "another password"}`)},
		{route: "POST /reset", want: "*=422", build: send("POST", "/reset", form("token", "not-a-token", "password", "another password"))},
		{route: "POST /unsubscribe", want: "*=422", build: send("POST", "/unsubscribe", form("token", "not-a-token"))},

		// Listings.
		{route: "POST /api/v1/auctions", want: "anon=401 suspended=403 *=201", build: withBody("POST", "/api/v1/auctions", listing, false)},
		{route: "POST /sell", want: "anon=303 suspended=403 *=303", build: withBody("POST", "/sell", listingForm, false)},
		{route: "PATCH /api/v1/auctions/:id", want: "anon=401 seller=200 *=403", build: withBody("PATCH", "/api/v1/auctions/%d", listing, true)},
		{route: "POST /auctions/:id/edit", want: "anon=303 seller=303 *=403", build: withBody("POST", "/auctions/%d/edit", listingForm, true)},
		{route: "POST /api/v1/auctions/:id/cancel", want: "anon=401 seller,admin=200 *=403", build: onFreshAuction("POST", "/api/v1/auctions/%d/cancel", "", `{"reason": "matrix"}`)},
		{route: "POST /auctions/:id/cancel", want: "anon=303 seller=303 *=403", build: onFreshAuction("POST", "/auctions/%d/cancel", "", form("reason", "matrix"))},

		// Bids: not on your own auction, not while suspended.
		{route: "POST /api/v1/auctions/:id/bids", want: "anon=401 seller,suspended=403 *=201", build: onFreshAuction("POST", "/api/v1/auctions/%d/bids", "", `{"amount": 1000}`)},
		{route: "POST /auctions/:id/bid", want: "anon=303 seller,suspended=403 *=303", build: onFreshAuction("POST", "/auctions/%d/bid", "", form("amount", "10.00"))},
		{route: "POST /api/v1/auctions/:id/buy-now", want: "anon=401 seller,suspended=403 *=201", build: onFreshAuction("POST", "/api/v1/auctions/%d/buy-now", `"buy_now_price": 5000`, "")},

		// Administration.
		{route: "GET /api/v1/admin/health", want: adminAPI, build: get("/api/v1/admin/health")},
		{route: "GET /admin", want: adminPage, build: get("/admin")},
		{route: "GET /admin/mail", want: adminPage, build: get("/admin/mail")},
		{route: "GET /admin/mail/:id", want: adminPage, build: get("/admin/mail/{M}")},
		{route: "GET /admin/mail/:id/html", want: adminPage, build: get("/admin/mail/{M}/html")},
		{route: "GET /api/v1/admin/users", want: adminAPI, build: get("/api/v1/admin/users")},
		{route: "GET /api/v1/admin/audit", want: adminAPI, build: get("/api/v1/admin/audit")},
		{route: "GET /api/v1/admin/mail", want: adminAPI, build: get("/api/v1/admin/mail")},
		{route: "GET /api/v1/admin/mail/:id", want: adminAPI, build: get("/api/v1/admin/mail/{M}")},
		{route: "POST /api/v1/auctions/:id/bids/:bid/cancel", want: adminAPI, build: onFreshBid("POST", "/api/v1/auctions/%d/bids/%d/cancel", `{"reason": "matrix"}`)},
		{route: "POST /admin/auctions/:id/bids/:bid/cancel", want: "anon=303 admin=303 *=403", build: onFreshBid("POST", "/admin/auctions/%d/bids/%d/cancel", form("reason", "matrix"))},
		{route: "POST /admin/auctions/:id/cancel", want: "anon=303 admin=303 *=403", build: onFreshAuction("POST", "/admin/auctions/%d/cancel", "", form("reason", "matrix"))},
		{route: "POST /api/v1/admin/users/:id/suspend", want: "anon=401 admin=204 *=403", build: onFreshUser("POST", "/api/v1/admin/users/%d/suspend", `{"reason": "matrix"}`, false)},
		{route: "POST /api/v1/admin/users/:id/unsuspend", want: "anon=401 admin=204 *=403", build: onFreshUser("POST", "/api/v1/admin/users/%d/unsuspend", `{"reason": "matrix"}`, true)},
		{route: "POST /admin/users/suspend", want: "anon=303 admin=303 *=403", build: onFreshUser("POST", "/admin/users/suspend", "user_id=%d&reason=matrix", false)},
		{route: "POST /admin/users/unsuspend", want: "anon=303 admin=303 *=403", build: onFreshUser("POST", "/admin/users/unsuspend", "user_id=%d&reason=matrix", true)},
	}, slices.Concat(discoveryCases(), photoAndLiveCases(), saleCases(), invoicingCases())...)
}
