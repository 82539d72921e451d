package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

func TestSearchPage(t *testing.T) {
	h, f := newDiscoveryHarness(t)
	paintings := int64(2)
	a := h.seedAuction(h.alice, "Brass clock", func(in *domain.AuctionInput) { in.CategoryID = &paintings })
	b := h.seedAuction(h.alice, "Old clock", nil)
	h.seedAuction(h.alice, "Globe", nil)
	id := func(x domain.Auction) string { return strconv.FormatInt(x.ID, 10) }

	res := h.get("/search?q=clock&min_price=12.50&currency=EUR&sort=newest", "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", res.StatusCode, res.body)
	}
	mustContain(t, res.body, `data-auction-id="`+id(a)+`"`, `data-auction-id="`+id(b)+`"`, `value="clock"`,
		`<option value="newest" selected>`, `<option value="EUR" selected>`, `id="live-note"`)
	mustNotContain(t, res.body, "Globe", "watch-form", "js/list.js")
	if q := f.search.query(); q.MinPrice == nil || *q.MinPrice != 1250 || q.Currency != "EUR" || q.Limit != searchPageLimit {
		t.Errorf("query from the form: %+v", q)
	}

	// Logged in: live over one stream, with watch buttons.
	cookie := h.mustLogin(h.bob)
	f.search.next = "c2"
	res = h.get("/search?q=clock", cookie)
	mustContain(t, res.body, `data-stream="/stream/auctions?ids=`+id(a)+","+id(b)+`"`, "js/list.js",
		`action="/me/watchlist/`+id(a)+`"`, `name="next" value="/search?q=clock"`, `id="next-page"`, "after=c2")
	// The seller gets no watch button on their own lots.
	res = h.get("/search?q=clock", h.mustLogin(h.alice))
	mustNotContain(t, res.body, "watch-form")

	// A refused search re-renders the form with the problem beside it.
	res = h.get("/search?q=clock&min_price=abc&currency=EUR", "")
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad price: status %d", res.StatusCode)
	}
	mustContain(t, res.body, `id="search-error"`, `aria-invalid="true"`, `value="abc"`)
	mustNotContain(t, res.body, `id="auction-list"`)
	f.search.err = domain.Invalid("q", "Search for words or numbers.")
	res = h.get("/search?q=%26%26", "")
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad text: status %d", res.StatusCode)
	}
	mustContain(t, res.body, "Search for words or numbers.", `id="s-q-error">Search for words or numbers.`)
}

func TestCategoryPages(t *testing.T) {
	h, f := newDiscoveryHarness(t)
	paintings := int64(2)
	h.seedAuction(h.alice, "Oil on canvas", func(in *domain.AuctionInput) { in.CategoryID = &paintings })
	h.seedAuction(h.alice, "Old coin", nil)

	res := h.get("/categories", "")
	mustContain(t, res.body, `href="/categories/art"`, `href="/categories/paintings"`, "Paintings <span class=\"count\">2</span>")
	res = h.get("/categories/art", "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("art: %d", res.StatusCode)
	}
	mustContain(t, res.body, "<h1>Art</h1>", "Oil on canvas", `action="/categories/art"`, `href="/categories/sculpture"`)
	mustNotContain(t, res.body, "Old coin", `id="s-category"`)
	if q := f.search.query(); len(q.CategoryIDs) != 3 {
		t.Errorf("a top-level category searches its children too: %v", q.CategoryIDs)
	}
	res = h.get("/categories/paintings", "")
	mustContain(t, res.body, `<a href="/categories/art">Art</a>`, "Oil on canvas")
	if res := h.get("/categories/nope", ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown category: %d", res.StatusCode)
	}
}

func TestWatchingPageAndForm(t *testing.T) {
	h, f := newDiscoveryHarness(t)
	a := h.seedAuction(h.alice, "Brass clock", nil)
	id := strconv.FormatInt(a.ID, 10)
	if res := h.get("/me/watching", ""); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	bob := h.mustLogin(h.bob)
	mustContain(t, h.get("/me/watching", bob).body, `id="watching-empty"`)

	// Without JavaScript the button is a form that comes back.
	res := h.post("/me/watchlist/"+id, url.Values{"action": {"watch"}, "next": {"/search?q=clock"}}, bob)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/search?q=clock" {
		t.Fatalf("watch form: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res = h.get("/me/watching", bob)
	mustContain(t, res.body, "Brass clock", `data-stream="/stream/auctions?ids=`+id+`"`, `value="unwatch"`, ">Unwatch</button>")
	// next may only be a path on this site.
	res = h.post("/me/watchlist/"+id, url.Values{"action": {"unwatch"}, "next": {"https://evil.example/"}}, bob)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/auctions/"+id {
		t.Fatalf("unwatch form: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if got, _ := f.watch.IDs(t.Context(), h.bob.ID); len(got) != 0 {
		t.Errorf("still watching: %v", got)
	}
	if res := h.post("/me/watchlist/"+id, url.Values{"action": {"maybe"}}, bob); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad action: %d", res.StatusCode)
	}
	if res := h.post("/me/watchlist/"+id, url.Values{"action": {"watch"}}, h.mustLogin(h.alice)); res.StatusCode != http.StatusForbidden {
		t.Errorf("the seller watches: %d", res.StatusCode)
	}
	if res := h.post("/me/watchlist/"+id, url.Values{"action": {"watch"}}, ""); res.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("anonymous watch: %d", res.StatusCode)
	}
}

func TestAuctionPageDiscovery(t *testing.T) {
	h, f := newDiscoveryHarness(t)
	paintings := int64(2)
	a := h.seedAuction(h.alice, "Oil on canvas", func(in *domain.AuctionInput) { in.CategoryID = &paintings })
	path := "/auctions/" + strconv.FormatInt(a.ID, 10)
	if _, err := f.watch.Watch(t.Context(), h.bob, a.ID); err != nil {
		t.Fatal(err)
	}
	res := h.get(path, h.mustLogin(h.bob))
	mustContain(t, res.body, `<a href="/categories/paintings">Paintings</a>`, `class="inline-form watch-form"`, ">Unwatch</button>")
	mustNotContain(t, res.body, `id="watchers"`)
	res = h.get(path, h.mustLogin(h.alice))
	mustContain(t, res.body, `id="watchers" data-watchers-for="`+strconv.FormatInt(a.ID, 10)+`">1</dd>`)
	mustNotContain(t, res.body, "watch-form", "data-watchers-poll")
	res = h.get(path, h.mustLogin(h.admin))
	mustContain(t, res.body, `data-watchers-poll>1</dd>`)
	// The seller's dashboard shows the count on each listing.
	res = h.get("/me/listings", h.mustLogin(h.alice))
	mustContain(t, res.body, `class="watchers" data-watchers-for="`+strconv.FormatInt(a.ID, 10)+`">1</dd>`)
}

func TestSellFormCategory(t *testing.T) {
	h, _ := newDiscoveryHarness(t)
	cookie := h.mustLogin(h.alice)
	res := h.get("/sell", cookie)
	mustContain(t, res.body, `<select id="category" name="category"`, `<option value="2">— Paintings</option>`)
	form := url.Values{"title": {"Vase"}, "currency": {"EUR"}, "start_price": {"10"}, "category": {"99"},
		"ends_at_utc": {pgNow.Add(24 * 3600e9).Format("2006-01-02T15:04:05Z")}}
	res = h.post("/sell", form, cookie)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("unknown category: %d", res.StatusCode)
	}
	mustContain(t, res.body, `id="category-error">There is no category`)
	form.Set("category", "3")
	res = h.post("/sell", form, cookie)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("listing: %d\n%s", res.StatusCode, res.body)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/auctions/"), 10, 64)
	a, err := h.store.Auction(t.Context(), id)
	if err != nil || a.CategoryID != 3 {
		t.Fatalf("listed in %d, %v", a.CategoryID, err)
	}
	res = h.get("/auctions/"+strconv.FormatInt(id, 10)+"/edit", cookie)
	mustContain(t, res.body, `<option value="3" selected>— Sculpture</option>`)
}

func TestAdminCategoriesPage(t *testing.T) {
	h, f := newDiscoveryHarness(t)
	if res := h.get("/admin/categories", h.mustLogin(h.bob)); res.StatusCode != http.StatusForbidden {
		t.Errorf("a user: %d", res.StatusCode)
	}
	admin := h.mustLogin(h.admin)
	res := h.get("/admin/categories", admin)
	mustContain(t, res.body, `id="category-new"`, `action="/admin/categories/2"`, `action="/admin/categories/4/delete"`)
	mustNotContain(t, res.body, `action="/admin/categories/1/delete"`) // it has subcategories
	mustContain(t, h.get("/admin", admin).body, `href="/admin/categories"`)

	res = h.post("/admin/categories", url.Values{"name": {"Fossils"}, "parent_id": {"1"}}, admin)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", res.StatusCode, res.body)
	}
	res = h.post("/admin/categories", url.Values{"name": {""}, "slug": {"Bad Slug"}}, admin)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad create: %d", res.StatusCode)
	}
	mustContain(t, res.body, `id="form-error"`, `value="Bad Slug"`)
	res = h.post("/admin/categories/2", url.Values{"name": {"Oils"}, "slug": {"oils"}, "parent_id": {"1"}}, admin)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d\n%s", res.StatusCode, res.body)
	}
	res = h.post("/admin/categories/1/delete", url.Values{}, admin)
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("delete with children: %d", res.StatusCode)
	}
	mustContain(t, res.body, "move or delete them first")
	if got := strings.Join(f.cats.edits, "; "); got != "create fossils under 1; update 2 oils" {
		t.Errorf("edits: %s", got)
	}
}
