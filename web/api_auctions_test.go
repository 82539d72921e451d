package web

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func auctionPath(id int64, suffix string) string {
	return "/api/v1/auctions/" + strconv.FormatInt(id, 10) + suffix
}

func TestAuctionCreateAndGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seller := e.mustUser("sue@example.com", "Sue", false)
	tok := e.mustLogin("sue@example.com")
	ends := testNow.Add(2 * time.Hour)
	body := `{"title":"Chair","description":"Oak","currency":"eur","start_price":2500,"reserve_price":5000,` +
		`"buy_now_price":9000,"increment":100,"ends_at":"` + ends.In(time.FixedZone("CET", 3600)).Format(time.RFC3339) + `","soft_close_seconds":60}`
	r := e.do(req{method: "POST", path: "/api/v1/auctions", body: body, cookie: tok}).wantStatus(t, http.StatusCreated)
	v := r.json(t)
	id := int64(v["id"].(float64))
	if loc := r.header.Get("Location"); loc != auctionPath(id, "") {
		t.Errorf("Location = %q", loc)
	}
	if v["currency"] != "EUR" || v["start_price"] != float64(2500) || v["reserve_price"] != float64(5000) ||
		v["status"] != "open" || v["ends_at"] != ends.Format(time.RFC3339) || v["seller_id"] != float64(seller.ID) ||
		v["server_time"] != testNow.Format(time.RFC3339) {
		t.Errorf("created = %s", r.body)
	}
	if you, _ := v["you"].(map[string]any); you["seller"] != true {
		t.Errorf("you = %v", v["you"])
	}

	// Anonymous viewers see no reserve and no "you".
	anon := e.do(req{method: "GET", path: auctionPath(id, "")}).wantStatus(t, 200).json(t)
	if _, ok := anon["reserve_price"]; ok {
		t.Errorf("anonymous view shows the reserve: %v", anon)
	}
	if _, ok := anon["you"]; ok {
		t.Errorf("anonymous view has you: %v", anon)
	}
	if anon["has_reserve"] != true || anon["buy_now_price"] != float64(9000) {
		t.Errorf("anonymous view = %v", anon)
	}

	// Scheduled start.
	starts := testNow.Add(time.Hour).Format(time.RFC3339)
	s := e.do(req{method: "POST", path: "/api/v1/auctions", cookie: tok, body: `{"title":"Desk","currency":"EUR","start_price":100,` +
		`"starts_at":"` + starts + `","ends_at":"` + ends.Format(time.RFC3339) + `"}`}).wantStatus(t, 201).json(t)
	if s["status"] != "scheduled" || s["starts_at"] != starts {
		t.Errorf("scheduled = %v", s)
	}
}

func TestAuctionErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("sam@example.com", "Sam", false)
	e.mustUser("other@example.com", "Oth", false)
	tok := e.mustLogin("sam@example.com")
	other := e.mustLogin("other@example.com")
	id := e.mustAuction(tok, "")
	valid := `{"title":"Lamp","currency":"EUR","start_price":1000,"ends_at":"` + testNow.Add(time.Hour).Format(time.RFC3339) + `"}`

	e.do(req{method: "POST", path: "/api/v1/auctions", body: valid}).wantProblem(t, 401, domain.CodeUnauthorized)
	m := e.do(req{method: "POST", path: "/api/v1/auctions", cookie: tok,
		body: `{"title":"","currency":"XXX","start_price":0,"ends_at":"` + testNow.Add(time.Second).Format(time.RFC3339) + `"}`}).wantProblem(t, 422, domain.CodeInvalid)
	errs, _ := m["errors"].(map[string]any)
	for _, f := range []string{"title", "currency", "start_price", "ends_at"} {
		if errs[f] == nil {
			t.Errorf("errors lack %s: %v", f, errs)
		}
	}
	for _, path := range []string{"/api/v1/auctions/abc", "/api/v1/auctions/0", "/api/v1/auctions/-1", "/api/v1/auctions/+1", "/api/v1/auctions/99999999999999999999", "/api/v1/auctions/999"} {
		m := e.do(req{method: "GET", path: path}).wantProblem(t, 404, domain.CodeNotFound)
		if m["detail"] != "No such auction." {
			t.Errorf("%s: detail = %v", path, m["detail"])
		}
	}
	e.do(req{method: "PATCH", path: auctionPath(id, ""), body: valid, cookie: other}).wantProblem(t, 403, domain.CodeForbidden)
	e.do(req{method: "PATCH", path: auctionPath(id, ""), body: valid}).wantProblem(t, 401, domain.CodeUnauthorized)
	e.do(req{method: "PATCH", path: auctionPath(999, ""), body: valid, cookie: tok}).wantProblem(t, 404, domain.CodeNotFound)
}

func TestAuctionUpdateAndCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("sid@example.com", "Sid", false)
	e.mustUser("bea@example.com", "Bea", false)
	e.mustUser("root@example.com", "Root", true)
	tok := e.mustLogin("sid@example.com")
	bidder := e.mustLogin("bea@example.com")
	admin := e.mustLogin("root@example.com")
	id := e.mustAuction(tok, "")

	edit := `{"title":"Better lamp","currency":"EUR","start_price":1200,"ends_at":"` + testNow.Add(3*time.Hour).Format(time.RFC3339) + `"}`
	v := e.do(req{method: "PATCH", path: auctionPath(id, ""), body: edit, cookie: tok}).wantStatus(t, 200).json(t)
	if v["title"] != "Better lamp" || v["start_price"] != float64(1200) {
		t.Errorf("edited = %v", v)
	}
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":1200}`, cookie: bidder}).wantStatus(t, 201)
	e.do(req{method: "PATCH", path: auctionPath(id, ""), body: edit, cookie: tok}).wantProblem(t, 409, domain.CodeConflict)
	e.do(req{method: "POST", path: auctionPath(id, "/cancel"), cookie: tok}).wantProblem(t, 409, domain.CodeConflict)
	e.do(req{method: "POST", path: auctionPath(id, "/cancel"), cookie: bidder, body: `{}`}).wantProblem(t, 403, domain.CodeForbidden)
	e.do(req{method: "POST", path: auctionPath(id, "/cancel")}).wantProblem(t, 401, domain.CodeUnauthorized)
	e.do(req{method: "POST", path: auctionPath(id, "/cancel"), cookie: admin,
		body: `{"reason":"` + strings.Repeat("r", 501) + `"}`}).wantProblem(t, 422, domain.CodeInvalid)

	v = e.do(req{method: "POST", path: auctionPath(id, "/cancel"), cookie: admin, body: `{"reason":"Counterfeit"}`}).wantStatus(t, 200).json(t)
	if v["status"] != "cancelled" {
		t.Errorf("cancelled = %v", v)
	}
	e.do(req{method: "POST", path: auctionPath(id, "/bids"), body: `{"amount":5000}`, cookie: bidder}).wantProblem(t, 410, domain.CodeGone)

	// The seller cancels an auction without bids, with no body at all.
	id2 := e.mustAuction(tok, "")
	e.do(req{method: "POST", path: auctionPath(id2, "/cancel"), cookie: tok}).wantStatus(t, 200)
}

func TestAuctionList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("sal@example.com", "Sal", false)
	e.mustUser("tim@example.com", "Tim", false)
	sal := e.mustLogin("sal@example.com")
	tim := e.mustLogin("tim@example.com")
	a := e.mustAuction(sal, "")
	b := e.mustAuction(tim, "")
	e.do(req{method: "POST", path: "/api/v1/auctions", cookie: tim, body: `{"title":"Vase","currency":"EUR","start_price":100,` +
		`"starts_at":"` + testNow.Add(time.Hour).Format(time.RFC3339) + `","ends_at":"` + testNow.Add(2*time.Hour).Format(time.RFC3339) + `"}`}).wantStatus(t, 201)
	e.do(req{method: "POST", path: auctionPath(a, "/bids"), body: `{"amount":1000}`, cookie: tim}).wantStatus(t, 201)

	ids := func(r resp) []int64 {
		t.Helper()
		var out []int64
		list, ok := r.json(t)["auctions"].([]any)
		if !ok {
			t.Fatalf("auctions is not a list: %s", r.body)
		}
		for _, v := range list {
			out = append(out, int64(v.(map[string]any)["id"].(float64)))
		}
		return out
	}
	tests := []struct {
		query  string
		cookie string
		want   int
	}{
		{"", "", 3},
		{"?status=open", "", 2},
		{"?status=scheduled,open", "", 3},
		{"?status=closed", "", 0},
		{"?seller=me", sal, 1},
		{"?bidder=me", tim, 1},
		{"?q=VAS", "", 1},
		{"?limit=1", "", 1},
	}
	for _, tt := range tests {
		r := e.do(req{method: "GET", path: "/api/v1/auctions" + tt.query, cookie: tt.cookie}).wantStatus(t, 200)
		if got := ids(r); len(got) != tt.want {
			t.Errorf("%s: %d auctions %v, want %d", tt.query, len(got), got, tt.want)
		}
		if r.json(t)["server_time"] != testNow.Format(time.RFC3339) {
			t.Errorf("%s: server_time = %v", tt.query, r.json(t)["server_time"])
		}
	}
	if got := ids(e.do(req{method: "GET", path: "/api/v1/auctions?seller=" + strconv.FormatInt(e.mustUserID("tim@example.com"), 10)})); len(got) != 2 || got[0] != b {
		t.Errorf("seller by id = %v", got)
	}
	e.do(req{method: "GET", path: "/api/v1/auctions?seller=me"}).wantProblem(t, 401, domain.CodeUnauthorized)
	for _, q := range []string{"?status=sold", "?status=open,", "?limit=0", "?limit=101", "?limit=x", "?seller=you", "?bidder=2", "?q=" + strings.Repeat("q", 201)} {
		e.do(req{method: "GET", path: "/api/v1/auctions" + q}).wantProblem(t, 422, domain.CodeInvalid)
	}
}

// mustUserID finds a seeded user's id.
func (e *testEnv) mustUserID(email string) int64 {
	e.t.Helper()
	e.store.mu.Lock()
	defer e.store.mu.Unlock()
	for id, u := range e.store.users {
		if u.Email == email {
			return id
		}
	}
	e.t.Fatalf("no user %s", email)
	return 0
}
