package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func newDiscoveryEnv(t *testing.T) (*testEnv, discoveryFakes) {
	t.Helper()
	var f discoveryFakes
	e := newEnv(t, func(_ *Config, d *Deps) {
		f = newDiscoveryFakes(d.Reader.(*fakeStore))
		withDiscovery(f)(nil, d)
	})
	return e, f
}

func TestDiscoveryRoutesNeedTheirDeps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/api/v1/categories", "/api/v1/search", "/api/v1/me/watchlist", "/search", "/me/watching", "/categories"} {
		if r := e.do(req{method: "GET", path: path}); r.status != http.StatusNotFound {
			t.Errorf("%s without its dependency: %d, want 404", path, r.status)
		}
	}
	res := e.do(req{method: "GET", path: "/"})
	if strings.Contains(string(res.body), `href="/search"`) || strings.Contains(string(res.body), `href="/me/watching"`) {
		t.Errorf("navigation links to routes that do not exist")
	}
}

func TestCategoryAPI(t *testing.T) {
	t.Parallel()
	e, f := newDiscoveryEnv(t)
	m := e.do(req{method: "GET", path: "/api/v1/categories"}).wantStatus(t, http.StatusOK).json(t)
	cats := m["categories"].([]any)
	art := cats[0].(map[string]any)
	if len(cats) != 2 || art["slug"] != "art" || art["open_count"] != float64(3) || len(art["children"].([]any)) != 2 {
		t.Fatalf("tree: %v", m)
	}

	e.mustUser("ann@example.com", "Ann", false)
	e.mustUser("root@example.com", "Root", true)
	ann, root := e.mustLogin("ann@example.com"), e.mustLogin("root@example.com")
	body := `{"name":"Oil paintings","parent":"art"}`
	e.do(req{method: "POST", path: "/api/v1/admin/categories", body: body}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
	e.do(req{method: "POST", path: "/api/v1/admin/categories", body: body, cookie: ann}).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)
	got := e.do(req{method: "POST", path: "/api/v1/admin/categories", body: body, cookie: root}).wantStatus(t, http.StatusCreated).json(t)
	if got["slug"] != "oil-paintings" || got["parent_id"] != float64(1) {
		t.Errorf("created: %v", got)
	}
	e.do(req{method: "POST", path: "/api/v1/admin/categories", body: `{"name":"X","parent":1}`, cookie: root}).wantStatus(t, http.StatusCreated)
	p := e.do(req{method: "POST", path: "/api/v1/admin/categories", body: `{"name":"X","parent":"nope"}`, cookie: root}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	if p["errors"].(map[string]any)["parent"] == nil {
		t.Errorf("unknown parent: %v", p)
	}
	e.do(req{method: "POST", path: "/api/v1/admin/categories", body: `{"name":""}`, cookie: root}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	e.do(req{method: "PATCH", path: "/api/v1/admin/categories/2", body: `{"name":"Paintings","slug":"oils"}`, cookie: root}).wantStatus(t, http.StatusOK)
	e.do(req{method: "PATCH", path: "/api/v1/admin/categories/77", body: `{"name":"Paintings"}`, cookie: root}).wantProblem(t, http.StatusNotFound, domain.CodeNotFound)
	e.do(req{method: "PATCH", path: "/api/v1/admin/categories/x", body: `{"name":"Paintings"}`, cookie: root}).wantProblem(t, http.StatusNotFound, domain.CodeNotFound)
	e.do(req{method: "DELETE", path: "/api/v1/admin/categories/1", cookie: root}).wantProblem(t, http.StatusConflict, domain.CodeConflict)
	e.do(req{method: "DELETE", path: "/api/v1/admin/categories/4", cookie: root}).wantStatus(t, http.StatusNoContent)
	want := []string{"create oil-paintings under 1", "create x under 1", "update 2 oils", "delete 4"}
	if !slices.Equal(f.cats.edits, want) {
		t.Errorf("edits: %v, want %v", f.cats.edits, want)
	}
}

func TestAuctionCategoryField(t *testing.T) {
	t.Parallel()
	e, _ := newDiscoveryEnv(t)
	e.mustUser("sam@example.com", "Sam", false)
	sam := e.mustLogin("sam@example.com")
	for _, tt := range []struct {
		extra string
		want  any // category id, or nil
	}{
		{`,"category":"paintings"`, float64(2)},
		{`,"category":3`, float64(3)},
		{`,"category":"4"`, float64(4)},
		{`,"category":null`, nil},
		{`,"category":""`, nil},
		{``, nil},
	} {
		id := e.mustAuction(sam, tt.extra)
		m := e.do(req{method: "GET", path: auctionPath(id, "")}).wantStatus(t, http.StatusOK).json(t)
		var got any
		if c, ok := m["category"].(map[string]any); ok {
			got = c["id"]
		}
		if got != tt.want {
			t.Errorf("%s: category %v, want %v", tt.extra, got, tt.want)
		}
	}
	base := `{"title":"Lamp","currency":"EUR","start_price":1000,"ends_at":"` + testNow.Add(time.Hour).Format(time.RFC3339) + `"`
	for _, extra := range []string{`,"category":"nope"`, `,"category":true`, `,"category":{}`, `,"category":1.5`} {
		p := e.do(req{method: "POST", path: "/api/v1/auctions", body: base + extra + "}", cookie: sam}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
		if p["errors"].(map[string]any)["category"] == nil {
			t.Errorf("%s: %v", extra, p)
		}
	}
	// An edit without "category" keeps it; "" removes it.
	id := e.mustAuction(sam, `,"category":"coins"`)
	edit := func(extra string) any {
		e.do(req{method: "PATCH", path: auctionPath(id, ""), body: base + extra + "}", cookie: sam}).wantStatus(t, http.StatusOK)
		m := e.do(req{method: "GET", path: auctionPath(id, "")}).json(t)
		return m["category"]
	}
	if c := edit(""); c == nil {
		t.Error("an edit without category removed it")
	}
	if c := edit(`,"category":""`); c != nil {
		t.Errorf("category after removing it: %v", c)
	}
}

func TestSearchAPI(t *testing.T) {
	t.Parallel()
	e, f := newDiscoveryEnv(t)
	e.mustUser("sam@example.com", "Sam", false)
	sam := e.mustLogin("sam@example.com")
	clock := e.mustAuction(sam, `,"title":"Brass clock","category":"paintings"`)
	e.mustAuction(sam, `,"title":"Globe"`)
	m := e.do(req{method: "GET", path: "/api/v1/search?q=clock&category=art&status=open,scheduled&min_price=100&max_price=20000" +
		"&currency=eur&ending_within=2h&buy_now=true&sale=7&sort=price_desc&after=abc&limit=10"}).wantStatus(t, http.StatusOK).json(t)
	q := f.search.query()
	want := domain.SearchQuery{Text: "clock", CategoryIDs: []int64{1, 2, 3}, Statuses: []domain.Status{"open", "scheduled"},
		Currency: "EUR", EndingWithin: 2 * time.Hour, BuyNow: true, SaleID: 7, Sort: domain.SortPriceHigh, After: "abc", Limit: 10}
	if q.Text != want.Text || !slices.Equal(q.CategoryIDs, want.CategoryIDs) || !slices.Equal(q.Statuses, want.Statuses) ||
		q.Currency != want.Currency || q.EndingWithin != want.EndingWithin || !q.BuyNow || q.SaleID != 7 || q.Sort != want.Sort ||
		q.After != "abc" || q.Limit != 10 || q.MinPrice == nil || *q.MinPrice != 100 || q.MaxPrice == nil || *q.MaxPrice != 20000 {
		t.Errorf("query: %+v", q)
	}
	results := m["results"].([]any)
	if len(results) != 1 || results[0].(map[string]any)["id"] != float64(clock) || m["next"] != "" {
		t.Fatalf("results: %v", m)
	}
	if c := results[0].(map[string]any)["category"].(map[string]any); c["slug"] != "paintings" {
		t.Errorf("result category: %v", c)
	}
	// No text: every running lot; the next cursor is passed on.
	f.search.next = "cursor-2"
	m = e.do(req{method: "GET", path: "/api/v1/search"}).wantStatus(t, http.StatusOK).json(t)
	if len(m["results"].([]any)) != 2 || m["next"] != "cursor-2" {
		t.Errorf("empty search: %v", m)
	}
	if q := f.search.query(); q.Sort != domain.SortEnding || q.Limit != defaultListLimit {
		t.Errorf("defaults: %+v", q)
	}
	for _, tt := range []struct {
		query  string
		fields []string
	}{
		{"category=nope", []string{"category"}},
		{"status=sold", []string{"status"}},
		{"min_price=12.50&currency=EUR", []string{"min_price"}},
		{"max_price=-1", []string{"max_price"}},
		{"ending_within=soon", []string{"ending_within"}},
		{"ending_within=10s", []string{"ending_within"}},
		{"buy_now=maybe", []string{"buy_now"}},
		{"sale=x", []string{"sale"}},
		{"sort=cheapest", []string{"sort"}},
		{"limit=0", []string{"limit"}},
		{"sort=x&status=y&category=z", []string{"sort", "status", "category"}},
		{"currency=" + strings.Repeat("E", 300), []string{"currency"}},
	} {
		p := e.do(req{method: "GET", path: "/api/v1/search?" + tt.query}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
		errs, _ := p["errors"].(map[string]any)
		for _, fld := range tt.fields {
			if errs[fld] == nil {
				t.Errorf("%s: no message for %s in %v", tt.query, fld, p)
			}
		}
	}
	// The search's own refusals and failures go through the error table.
	f.search.err = domain.Invalid("q", "Keep the search to 500 characters.")
	e.do(req{method: "GET", path: "/api/v1/search?q=x"}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	f.search.err = errors.New("pq: connection refused to 10.0.0.9")
	r := e.do(req{method: "GET", path: "/api/v1/search?q=x"})
	if r.status != http.StatusInternalServerError || strings.Contains(string(r.body), "10.0.0.9") {
		t.Errorf("internal failure: %d %s", r.status, r.body)
	}
}

// TestLongSearchOverTheWire sends searches too long for the server's
// request buffer (4 KB of request line and headers) over a real socket:
// the answer is a 4xx that says what to shorten, never a 500 or a reset.
func TestLongSearchOverTheWire(t *testing.T) {
	t.Parallel()
	e, _ := newDiscoveryEnv(t)
	base := e.listen()
	for name, q := range map[string]string{
		"10,000 characters":         strings.Repeat("x", 10_000),
		"500 characters of Chinese": url.QueryEscape(strings.Repeat("時計", 250)),
	} {
		for _, path := range []string{"/api/v1/search?q=", "/search?q="} {
			res, err := http.Get(base + path + q)
			if err != nil {
				t.Fatalf("%s, %s: %v", name, path, err)
			}
			r := readResp(t, res)
			if r.status != http.StatusRequestHeaderFieldsTooLarge || !strings.Contains(string(r.body), "shorten the search") {
				t.Errorf("%s, %s: %d %.300s", name, path, r.status, r.body)
			}
		}
	}
}

func TestWatchlistAPI(t *testing.T) {
	t.Parallel()
	e, f := newDiscoveryEnv(t)
	seller := e.mustUser("sam@example.com", "Sam", false)
	e.mustUser("ann@example.com", "Ann", false)
	e.mustUser("root@example.com", "Root", true)
	sam, ann, root := e.mustLogin("sam@example.com"), e.mustLogin("ann@example.com"), e.mustLogin("root@example.com")
	id := e.mustAuction(sam, "")
	path := "/api/v1/me/watchlist/" + strconv.FormatInt(id, 10)

	e.do(req{method: "PUT", path: path}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
	e.do(req{method: "PUT", path: "/api/v1/me/watchlist/999", cookie: ann}).wantProblem(t, http.StatusNotFound, domain.CodeNotFound)
	e.do(req{method: "PUT", path: "/api/v1/me/watchlist/abc", cookie: ann}).wantProblem(t, http.StatusNotFound, domain.CodeNotFound)
	e.do(req{method: "PUT", path: path, cookie: sam}).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)
	m := e.do(req{method: "PUT", path: path, cookie: ann}).wantStatus(t, http.StatusOK).json(t)
	if m["watching"] != true || m["auction_id"] != float64(id) {
		t.Errorf("watch: %v", m)
	}
	e.do(req{method: "PUT", path: path, cookie: ann}).wantStatus(t, http.StatusOK)

	// The watcher sees that they watch, never the count; the seller and
	// admins see the count.
	view := func(cookie string) map[string]any {
		return e.do(req{method: "GET", path: auctionPath(id, ""), cookie: cookie}).wantStatus(t, http.StatusOK).json(t)
	}
	if v := view(ann); v["watchers"] != nil || v["you"].(map[string]any)["watching"] != true {
		t.Errorf("watcher's view: %v", v)
	}
	if v := view(sam); v["watchers"] != float64(1) || v["you"].(map[string]any)["watching"] != false {
		t.Errorf("seller's view: watchers %v", v["watchers"])
	}
	if v := view(root); v["watchers"] != float64(1) {
		t.Errorf("admin's view: watchers %v", v["watchers"])
	}
	if v := view(""); v["watchers"] != nil {
		t.Errorf("anonymous view: watchers %v", v["watchers"])
	}
	list := e.do(req{method: "GET", path: "/api/v1/auctions?seller=" + strconv.FormatInt(seller.ID, 10), cookie: sam}).json(t)
	if a := list["auctions"].([]any)[0].(map[string]any); a["watchers"] != float64(1) {
		t.Errorf("seller's list: %v", a)
	}
	counts := "/api/v1/auctions/" + strconv.FormatInt(id, 10) + "/watchers"
	e.do(req{method: "GET", path: counts, cookie: ann}).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)
	e.do(req{method: "GET", path: counts}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
	if c := e.do(req{method: "GET", path: counts, cookie: sam}).wantStatus(t, http.StatusOK).json(t); c["watchers"] != float64(1) {
		t.Errorf("count: %v", c)
	}
	mine := e.do(req{method: "GET", path: "/api/v1/me/watchlist", cookie: ann}).wantStatus(t, http.StatusOK).json(t)
	if as := mine["auctions"].([]any); len(as) != 1 || as[0].(map[string]any)["id"] != float64(id) {
		t.Errorf("watchlist: %v", mine)
	}
	e.do(req{method: "GET", path: "/api/v1/me/watchlist"}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
	if m := e.do(req{method: "DELETE", path: path, cookie: ann}).wantStatus(t, http.StatusOK).json(t); m["watching"] != false {
		t.Errorf("unwatch: %v", m)
	}
	if got, _ := f.watch.Counts(t.Context(), []int64{id}); got[id] != 0 {
		t.Errorf("count after unwatch: %v", got)
	}
	empty := e.do(req{method: "GET", path: "/api/v1/me/watchlist", cookie: ann}).json(t)
	if as, ok := empty["auctions"].([]any); !ok || len(as) != 0 {
		t.Errorf("empty watchlist: %s", empty)
	}
}
