package web

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("root@example.com", "Root", true)
	mal := e.mustUser("mal@example.com", "Mal", false)
	e.mustUser("sel@example.com", "Sel", false)
	admin := e.mustLogin("root@example.com")
	user := e.mustLogin("mal@example.com")
	seller := e.mustLogin("sel@example.com")
	id := e.mustAuction(seller, "")
	suspend := "/api/v1/admin/users/" + strconv.FormatInt(mal.ID, 10) + "/suspend"

	for _, r := range []req{
		{method: "GET", path: "/api/v1/admin/users"},
		{method: "GET", path: "/api/v1/admin/audit"},
		{method: "POST", path: suspend},
	} {
		e.do(r).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
		r.cookie = user
		e.do(r).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)
	}

	e.do(req{method: "POST", path: "/api/v1/admin/users/abc/suspend", cookie: admin}).wantProblem(t, 404, domain.CodeNotFound)
	e.do(req{method: "POST", path: "/api/v1/admin/users/999/suspend", cookie: admin}).wantProblem(t, 404, domain.CodeNotFound)
	e.do(req{method: "POST", path: suspend, cookie: admin, body: `{"reason":"Shill bidding"}`}).wantStatus(t, http.StatusNoContent)

	// The suspended user may still look but not act.
	e.do(req{method: "GET", path: "/api/v1/me", cookie: user}).wantStatus(t, 200)
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1000}`, cookie: user}).wantProblem(t, 403, domain.CodeForbidden)

	users := e.do(req{method: "GET", path: "/api/v1/admin/users", cookie: admin}).wantStatus(t, 200).json(t)
	list, _ := users["users"].([]any)
	if len(list) != 3 {
		t.Fatalf("users = %v", users)
	}
	if u := list[1].(map[string]any); u["email"] != "mal@example.com" || u["suspended"] != true {
		t.Errorf("suspended user listed as %v", u)
	}

	audit := e.do(req{method: "GET", path: "/api/v1/admin/audit?limit=10", cookie: admin}).wantStatus(t, 200).json(t)
	entries, _ := audit["entries"].([]any)
	if len(entries) != 1 || entries[0].(map[string]any)["action"] != "suspend_user" || entries[0].(map[string]any)["reason"] != "Shill bidding" {
		t.Errorf("audit = %v", audit)
	}
	e.do(req{method: "GET", path: "/api/v1/admin/audit?limit=0", cookie: admin}).wantProblem(t, 422, domain.CodeInvalid)
}

func TestBidCancelRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("root@example.com", "Root", true)
	e.mustUser("bo@example.com", "Bo", false)
	e.mustUser("sel@example.com", "Sel", false)
	admin, bidder, seller := e.mustLogin("root@example.com"), e.mustLogin("bo@example.com"), e.mustLogin("sel@example.com")
	id := e.mustAuction(seller, "")
	bid := e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1000}`, cookie: bidder}).wantStatus(t, http.StatusCreated).json(t)
	bidID := strconv.FormatInt(int64(bid["bid_id"].(float64)), 10)
	cancel := auctionPath(id, "/bids/"+bidID+"/cancel")

	cases := []struct {
		name   string
		path   string
		cookie string
		body   string
		status int
		code   domain.Code
	}{
		{"anonymous", cancel, "", "", 401, domain.CodeUnauthorized},
		{"not an admin", cancel, seller, "", 403, domain.CodeForbidden},
		{"malformed bid id", auctionPath(id, "/bids/x1/cancel"), admin, "", 404, domain.CodeNotFound},
		{"no such bid", auctionPath(id, "/bids/999999/cancel"), admin, "", 404, domain.CodeNotFound},
		{"no such auction", auctionPath(999999, "/bids/"+bidID+"/cancel"), admin, "", 404, domain.CodeNotFound},
		{"malformed body", cancel, admin, `{"reason":`, 400, codeMalformed},
		{"unknown field", cancel, admin, `{"why":"x"}`, 422, domain.CodeInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.do(req{method: "POST", path: tc.path, cookie: tc.cookie, body: tc.body}).wantProblem(t, tc.status, tc.code)
		})
	}

	// A second bidder leads; striking their bid leaves Bo leading, and the
	// answer names him.
	e.mustUser("cy@example.com", "Cy", false)
	top := e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":2000}`, cookie: e.mustLogin("cy@example.com")}).wantStatus(t, http.StatusCreated).json(t)
	topID := strconv.FormatInt(int64(top["bid_id"].(float64)), 10)
	got := e.do(req{method: "POST", path: auctionPath(id, "/bids/"+topID+"/cancel"), cookie: admin, body: `{"reason":"Shill"}`}).wantStatus(t, 200).json(t)
	if lu, _ := got["leader_user"].(map[string]any); lu["name"] != "Bo" || got["current_price"] != float64(1000) {
		t.Errorf("after striking the top bid: leader_user %v, price %v", got["leader_user"], got["current_price"])
	}
	got = e.do(req{method: "POST", path: cancel, cookie: admin, body: `{"reason":"Typo reported by the bidder"}`}).wantStatus(t, 200).json(t)
	if got["bid_count"] != float64(0) || got["current_price"] != float64(0) {
		t.Errorf("after striking the only bid: %v", got)
	}
	audit := e.do(req{method: "GET", path: "/api/v1/admin/audit", cookie: admin}).wantStatus(t, 200).json(t)
	entries, _ := audit["entries"].([]any)
	if len(entries) != 2 || entries[0].(map[string]any)["action"] != "cancel_bid" {
		t.Errorf("audit = %v", audit)
	}
}
