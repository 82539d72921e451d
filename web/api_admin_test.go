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
