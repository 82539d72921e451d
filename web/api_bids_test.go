package web

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func TestBidFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("sel@example.com", "Sel", false)
	ann := e.mustUser("ann@example.com", "Ann Real-Name", false)
	e.mustUser("bob@example.com", "Bob Real-Name", false)
	seller := e.mustLogin("sel@example.com")
	a := e.mustLogin("ann@example.com")
	b := e.mustLogin("bob@example.com")
	id := e.mustAuction(seller, "")

	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1000}`}).wantProblem(t, 401, domain.CodeUnauthorized)
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1000}`, cookie: seller}).wantProblem(t, 403, domain.CodeForbidden)
	e.do(req{method: "POST", path: auctionPath(999, "/bids"), body: `{"amount":1000}`, cookie: a}).wantProblem(t, 404, domain.CodeNotFound)
	e.do(req{method: "POST", path: "/api/v1/auctions/x/bids", body: `{"amount":1000}`, cookie: a}).wantProblem(t, 404, domain.CodeNotFound)

	r := e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1000,"max_amount":3000}`, cookie: a}).wantStatus(t, 201).json(t)
	if r["leading"] != true || r["current_price"] != float64(1000) || r["max_amount"] != float64(3000) || r["currency"] != "EUR" || r["bid_id"] == nil {
		t.Errorf("receipt = %v", r)
	}
	minNext := r["min_next_bid"].(float64)

	// Too low: 409 with min_next_bid at the top level of the problem.
	m := e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1001}`, cookie: b}).wantProblem(t, 409, domain.CodeConflict)
	if m["min_next_bid"] != minNext || m["errors"] == nil {
		t.Errorf("too-low problem = %v, want min_next_bid %v", m, minNext)
	}
	// Bob bids under Ann's proxy maximum: Ann still leads.
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":2000}`, cookie: b}).wantStatus(t, 201)

	// Leader identity: Bob sees the alias only; the seller sees who.
	bobView := e.do(req{method: "GET", path: auctionPath(id, ""), cookie: b}).wantStatus(t, 200)
	if strings.Contains(string(bobView.body), "Real-Name") || bobView.json(t)["leader_user"] != nil {
		t.Errorf("another bidder sees the leader's identity: %s", bobView.body)
	}
	if bobView.json(t)["leader"] != "Bidder 1" {
		t.Errorf("leader alias = %v", bobView.json(t)["leader"])
	}
	sv := e.do(req{method: "GET", path: auctionPath(id, ""), cookie: seller}).wantStatus(t, 200).json(t)
	lu, _ := sv["leader_user"].(map[string]any)
	if lu["id"] != float64(ann.ID) || lu["name"] != "Ann Real-Name" {
		t.Errorf("seller's leader_user = %v", sv["leader_user"])
	}
	av := e.do(req{method: "GET", path: auctionPath(id, ""), cookie: a}).wantStatus(t, 200).json(t)
	if you, _ := av["you"].(map[string]any); you["leading"] != true || you["max_amount"] != float64(3000) {
		t.Errorf("leader's own view = %v", av["you"])
	}

	// History: aliases, newest first, never identities or maxima; Ann's
	// proxy answered Bob's bid, and says so, so the history ends with the
	// leader at the price.
	h := e.do(req{method: "GET", path: auctionPath(id, "/bids")}).wantStatus(t, 200)
	bids, _ := h.json(t)["bids"].([]any)
	if len(bids) != 3 || strings.Contains(string(h.body), "Real-Name") || strings.Contains(string(h.body), "3000") {
		t.Errorf("history = %s", h.body)
	} else if top, _ := bids[0].(map[string]any); top["bidder"] != "Bidder 1" || top["automatic"] != true || top["amount"] != float64(2050) {
		t.Errorf("newest line = %v, want Bidder 1's automatic bid of 2050", top)
	}
	e.do(req{method: "GET", path: auctionPath(999, "/bids")}).wantProblem(t, 404, domain.CodeNotFound)
	empty := e.do(req{method: "GET", path: auctionPath(e.mustAuction(seller, ""), "/bids")}).wantStatus(t, 200)
	if string(empty.body) != `{"bids":[]}` {
		t.Errorf("empty history = %s", empty.body)
	}

	// Closed by time: 410.
	e.clock.advance(2 * time.Hour)
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":9000}`, cookie: b}).wantProblem(t, 410, domain.CodeGone)
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("sel@example.com", "Sel", false)
	e.mustUser("ann@example.com", "Ann", false)
	seller := e.mustLogin("sel@example.com")
	a := e.mustLogin("ann@example.com")
	id := e.mustAuction(seller, "")

	key := map[string]string{"Idempotency-Key": "bid-7f3a"}
	first := e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1000}`, cookie: a, header: key}).wantStatus(t, 201).json(t)
	again := e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1000}`, cookie: a, header: key}).wantStatus(t, 201).json(t)
	if first["bid_id"] != again["bid_id"] {
		t.Errorf("replay made a new bid: %v vs %v", first, again)
	}
	for _, bad := range []string{strings.Repeat("k", 201), "tab\there", "naïve"} {
		e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":5000}`, cookie: a,
			header: map[string]string{"Idempotency-Key": bad}}).wantProblem(t, 422, domain.CodeInvalid)
	}
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":5000}`, cookie: a,
		header: map[string]string{"Idempotency-Key": strings.Repeat("k", 200)}}).wantStatus(t, 201)
}

func TestBuyNow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("sel@example.com", "Sel", false)
	e.mustUser("ann@example.com", "Ann", false)
	e.mustUser("bob@example.com", "Bob", false)
	seller := e.mustLogin("sel@example.com")
	a := e.mustLogin("ann@example.com")
	b := e.mustLogin("bob@example.com")
	plain := e.mustAuction(seller, "")
	id := e.mustAuction(seller, `,"buy_now_price":5000`)

	e.do(req{method: "POST", path: auctionPath(plain, "/buy-now"), cookie: a}).wantProblem(t, 409, domain.CodeConflict)
	e.do(req{method: "POST", path: auctionPath(id, "/buy-now"), cookie: a, body: `{"amount":1}`}).wantProblem(t, 422, domain.CodeInvalid)
	e.do(req{method: "POST", path: auctionPath(id, "/buy-now")}).wantProblem(t, 401, domain.CodeUnauthorized)
	r := e.do(req{method: "POST", path: auctionPath(id, "/buy-now"), cookie: a, body: `{}`,
		header: map[string]string{"Idempotency-Key": "buy-1"}}).wantStatus(t, 201).json(t)
	if r["status"] != "closed" || r["amount"] != float64(5000) || r["leading"] != true {
		t.Errorf("buy-now receipt = %v", r)
	}
	e.do(req{method: "POST", path: auctionPath(id, "/buy-now"), cookie: b}).wantProblem(t, 410, domain.CodeGone)
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":9000}`, cookie: b}).wantProblem(t, 410, domain.CodeGone)
}

func TestBidRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Deps) { c.BidLimit, c.BidWindow = 2, time.Second })
	e.mustUser("sel@example.com", "Sel", false)
	e.mustUser("ann@example.com", "Ann", false)
	e.mustUser("bob@example.com", "Bob", false)
	seller := e.mustLogin("sel@example.com")
	a := e.mustLogin("ann@example.com")
	b := e.mustLogin("bob@example.com")
	id := e.mustAuction(seller, "")

	for i := range 2 {
		e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":` + strconv.Itoa(1000+i*500) + `,"max_amount":100000}`, cookie: a})
	}
	r := e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":5000}`, cookie: a})
	r.wantProblem(t, 429, domain.CodeRateLimited)
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	// The limit is per user, not per client address.
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":5000}`, cookie: b}).wantStatus(t, 201)
	e.clock.advance(time.Second)
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":200000}`, cookie: a}).wantStatus(t, 201)
}
