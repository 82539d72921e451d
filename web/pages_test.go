package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func TestHomeAnonymous(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Brass telescope", nil)
	h.seedAuction(h.alice, "Old clock", nil)
	res := h.get("/", "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	mustContain(t, res.body,
		`data-auction-id="`+strconv.FormatInt(a.ID, 10)+`"`,
		"Brass telescope", "Old clock", `class="price"`, `class="bid-count"`, `class="countdown" role="timer"`,
		"10.00 EUR", `data-stream="/stream/auctions?ids=`, "js/list.js", `href="/login"`)
	// Guests watch live (a guest session): no note that prices stand still.
	mustNotContain(t, res.body, `id="live-note"`, "to see live updates", "Log out")
	if sessionCookie(res) == "" {
		t.Error("no guest session for the page's stream")
	}
}

func TestHomeLoggedInIsLive(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Brass telescope", nil)
	b := h.seedAuction(h.alice, "Old clock", nil)
	cookie := h.mustLogin(h.bob)
	res := h.get("/", cookie)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	ids := strconv.FormatInt(a.ID, 10) + "," + strconv.FormatInt(b.ID, 10)
	mustContain(t, res.body, `data-stream="/stream/auctions?ids=`+ids+`"`, "js/list.js", `id="conn-status"`,
		`href="/me/bids"`, `href="/sell"`, `href="/me/listings"`, `action="/logout"`, "Bob")
	mustNotContain(t, res.body, `href="/admin"`, `id="live-note"`)
}

func TestHomeSearchAndStatusFilter(t *testing.T) {
	h := newPgHarness(t)
	h.seedAuction(h.alice, "Brass telescope", nil)
	c := h.seedAuction(h.alice, "Old clock", nil)
	closed, _ := h.store.Auction(t.Context(), c.ID)
	closed.Status = domain.StatusClosed
	h.store.setAuction(closed)

	res := h.get("/?q=TELESCOPE", "")
	mustContain(t, res.body, "Brass telescope", `value="TELESCOPE"`)
	mustNotContain(t, res.body, "Old clock")

	res = h.get("/?status=closed", "")
	mustContain(t, res.body, "Old clock", `<option value="closed" selected>`)
	mustNotContain(t, res.body, "Brass telescope")

	// An unknown status shows the default list rather than an error.
	res = h.get("/?status=bogus", "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	mustContain(t, res.body, "Brass telescope")
}

func TestAdminNavOnlyForAdmins(t *testing.T) {
	h := newPgHarness(t)
	res := h.get("/", h.mustLogin(h.admin))
	mustContain(t, res.body, `href="/admin"`)
}

func TestAuctionPage(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Brass telescope", func(in *domain.AuctionInput) { in.BuyNowPrice = 50000 })
	path := "/auctions/" + strconv.FormatInt(a.ID, 10)
	live := []string{`id="price"`, `aria-live="polite"`, `id="min-next-bid"`, `id="bid-count"`, `id="leader"`,
		`id="countdown" role="timer"`, `id="extended-notice"`, `id="your-status"`, `id="result"`, `id="bid-history"`,
		`datetime="2026-03-01T13:00:00Z"`, "js/auction.js"}
	form := []string{`id="bid-form"`, `action="` + path + `/bid"`, `id="bid-amount"`, `id="bid-max"`, `id="bid-submit"`,
		`id="bid-result"`, `id="buy-now"`, `value="10.00"`, `name="idempotency_key"`}

	t.Run("anonymous", func(t *testing.T) {
		res := h.get(path, "")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
		mustContain(t, res.body, live...)
		mustContain(t, res.body, "Log in</a> to bid", `data-stream="/stream/auctions/`+strconv.FormatInt(a.ID, 10)+`"`)
		mustNotContain(t, res.body, `id="bid-form"`)
	})
	t.Run("bidder", func(t *testing.T) {
		res := h.get(path, h.mustLogin(h.bob))
		mustContain(t, res.body, live...)
		mustContain(t, res.body, form...)
		mustContain(t, res.body, `data-stream="/stream/auctions/`+strconv.FormatInt(a.ID, 10)+`"`, "500.00 EUR")
	})
	t.Run("seller", func(t *testing.T) {
		res := h.get(path, h.mustLogin(h.alice))
		mustContain(t, res.body, "You are the seller.", `href="`+path+`/edit"`, `action="`+path+`/cancel"`)
		mustNotContain(t, res.body, `id="bid-form"`)
	})
	t.Run("not found", func(t *testing.T) {
		for _, p := range []string{"/auctions/999", "/auctions/abc", "/auctions/-1"} {
			res := h.get(p, "")
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", p, res.StatusCode)
			}
			mustContain(t, res.body, "<h1>Page not found</h1>")
		}
	})
}

func TestAuctionPageYourStatus(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Lamp", func(in *domain.AuctionInput) { in.ReservePrice = 5000 })
	path := "/auctions/" + strconv.FormatInt(a.ID, 10)
	bob, admin := h.mustLogin(h.bob), h.mustLogin(h.admin)
	h.mustBid(h.bob, a.ID, 1000)
	mustContain(t, h.get(path, bob).body, `data-kind="reserve"`, "reserve has not been met")
	h.mustBid(h.admin, a.ID, 6000)
	mustContain(t, h.get(path, bob).body, `data-kind="notleading"`, `data-leading="false"`)
	res := h.get(path, admin)
	mustContain(t, res.body, `data-kind="leading"`, "You are the highest bidder.", `data-leading="true"`, "Bidder 2")
}

func TestAuctionPageResults(t *testing.T) {
	h := newPgHarness(t)
	cases := []struct {
		name string
		bid  int64
		mod  func(*domain.AuctionInput)
		end  domain.Status
		want string
	}{
		{"sold", 2000, nil, domain.StatusClosed, "Sold to Bidder 1 for 20.00 EUR."},
		{"reserve not met", 2000, func(in *domain.AuctionInput) { in.ReservePrice = 9000 }, domain.StatusClosed,
			"Reserve not met: the highest bid, 20.00 EUR, was below the reserve, so the item did not sell."},
		{"no bids", 0, nil, domain.StatusClosed, "No bids: the item did not sell."},
		{"cancelled", 0, nil, domain.StatusCancelled, "This auction was cancelled. Reason: Damaged in transit."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.seedAuction(h.alice, tc.name, tc.mod)
			if tc.bid > 0 {
				h.mustBid(h.bob, a.ID, tc.bid)
			}
			a, _ = h.store.Auction(t.Context(), a.ID)
			a.Status = tc.end
			if tc.end == domain.StatusCancelled {
				a.CancelReason = "Damaged in transit."
			}
			h.store.setAuction(a)
			res := h.get("/auctions/"+strconv.FormatInt(a.ID, 10), h.mustLogin(h.bob))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			// A result, and nothing that invites a bid.
			mustContain(t, res.body, `id="result"`, tc.want, `id="min-next-fact" hidden`, "Ended at")
			mustNotContain(t, res.body, `id="bid-form"`, `id="buy-now-form"`, "You are the highest bidder", "Place a bid")
			// The seller and admins read who won.
			if tc.name == "sold" {
				mustContain(t, h.get("/auctions/"+strconv.FormatInt(a.ID, 10), h.mustLogin(h.alice)).body, "Sold to Bidder 1 (Bob) for 20.00 EUR.")
			}
		})
	}
}

// TestAuctionPageEndedYourStatus: an ended auction tells each viewer where
// they stand, and "not the highest bidder" only to someone who bid.
func TestAuctionPageEndedYourStatus(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Lamp", nil)
	h.mustBid(h.bob, a.ID, 1000)
	h.mustBid(h.admin, a.ID, 2000)
	path := "/auctions/" + strconv.FormatInt(a.ID, 10)
	h.store.addUser("carol@example.com", "carol-password", "Carol", false)
	login := h.post("/login", url.Values{"email": {"carol@example.com"}, "password": {"carol-password"}}, "")
	carol := sessionCookie(login)
	if carol == "" {
		t.Fatalf("login carol: status %d", login.StatusCode)
	}
	mustContain(t, h.get(path, h.mustLogin(h.bob)).body, `data-kind="notleading"`, "You are not the highest bidder.")
	mustNotContain(t, h.get(path, carol).body, "not the highest bidder")

	ended, _ := h.store.Auction(t.Context(), a.ID)
	ended.Status = domain.StatusClosed
	h.store.setAuction(ended)
	won := h.get(path, h.mustLogin(h.admin)).body
	mustContain(t, won, "You won this auction!")
	mustNotContain(t, won, "You are the highest bidder")
	mustContain(t, h.get(path, h.mustLogin(h.bob)).body, "You were outbid: the auction has ended.")
	mustNotContain(t, h.get(path, carol).body, `id="your-status" class="your-status" data-kind="lost"`, "outbid")
}

func TestMyBidsBadges(t *testing.T) {
	h := newPgHarness(t)
	lead := h.seedAuction(h.alice, "Leading one", nil)
	lost := h.seedAuction(h.alice, "Outbid one", nil)
	h.seedAuction(h.alice, "Never bid", nil)
	h.mustBid(h.bob, lead.ID, 1000)
	h.mustBid(h.bob, lost.ID, 1000)
	h.mustBid(h.admin, lost.ID, 3000)

	res := h.get("/me/bids", h.mustLogin(h.bob))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	mustContain(t, res.body, "Leading one", "Outbid one", `badge-leading" data-role="you">Leading`,
		`badge-outbid" data-role="you">Outbid`, `data-my-alias="Bidder 1"`, "js/list.js",
		`data-stream="/stream/auctions?ids=`+strconv.FormatInt(lead.ID, 10)+","+strconv.FormatInt(lost.ID, 10)+`"`)
	mustNotContain(t, res.body, "Never bid")

	if res := h.get("/me/bids", ""); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fme%2Fbids" {
		t.Errorf("anonymous: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestMyListings(t *testing.T) {
	h := newPgHarness(t)
	fresh := h.seedAuction(h.alice, "No bids yet", nil)
	bid := h.seedAuction(h.alice, "Has a bid", nil)
	h.seedAuction(h.bob, "Someone else's", nil)
	h.mustBid(h.bob, bid.ID, 1000)

	res := h.get("/me/listings", h.mustLogin(h.alice))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	mustContain(t, res.body, "No bids yet", "Has a bid", `data-stream="/stream/me"`,
		`href="/auctions/`+strconv.FormatInt(fresh.ID, 10)+`/edit"`)
	mustNotContain(t, res.body, "Someone else", `href="/auctions/`+strconv.FormatInt(bid.ID, 10)+`/edit"`)
}

func TestAdminPage(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Watched", nil)
	t.Run("admin", func(t *testing.T) {
		res := h.get("/admin", h.mustLogin(h.admin))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
		mustContain(t, res.body, `id="admin-auctions"`, `data-auction-id="`+strconv.FormatInt(a.ID, 10)+`"`,
			`class="bid-count bids"`, `class="watchers"`, `id="admin-feed"`, `id="node-charts"`,
			`data-stream="/stream/admin"`, "js/admin.js", `action="/admin/users/suspend"`,
			`action="/admin/auctions/`+strconv.FormatInt(a.ID, 10)+`/cancel"`, "alice@example.com",
			`id="admin-row-template"`, "EUR:2", "JPY:0", "KWD:3")
	})
	t.Run("not admin", func(t *testing.T) {
		res := h.get("/admin", h.mustLogin(h.bob))
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", res.StatusCode)
		}
		mustContain(t, res.body, "<h1>Not allowed</h1>", domain.ErrNotAdmin.Message)
	})
	t.Run("anonymous", func(t *testing.T) {
		res := h.get("/admin", "")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fadmin" {
			t.Fatalf("status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

func TestEscapesUserText(t *testing.T) {
	h := newPgHarness(t)
	title := "<script>alert(1)</script> & \"two\""
	a := h.seedAuction(h.alice, title, func(in *domain.AuctionInput) {
		in.Description = "<img src=x onerror=alert(2)>\n\"quoted\" & more"
	})
	h.mustBid(h.bob, a.ID, 1000)
	alice := h.mustLogin(h.alice)
	for _, p := range []string{"/", "/auctions/" + strconv.FormatInt(a.ID, 10), "/me/listings", "/me/bids?x"} {
		cookie := alice
		if strings.HasPrefix(p, "/me/bids") {
			cookie = h.mustLogin(h.bob)
		}
		res := h.get(p, cookie)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", p, res.StatusCode)
		}
		mustNotContain(t, res.body, "<script>alert", "<img src=x")
		mustContain(t, res.body, "&lt;script&gt;alert(1)&lt;/script&gt;")
	}
	res := h.get("/auctions/"+strconv.FormatInt(a.ID, 10), "")
	mustContain(t, res.body, "&lt;img src=x onerror=alert(2)&gt;", "&#34;quoted&#34; &amp; more",
		"<title>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;two&#34; · Gavel</title>")
}

// inlineScript matches a <script> without src: CSP would block it.
var (
	inlineScript  = regexp.MustCompile(`<script(?:\s+type="[^"]*")?\s*>`)
	inlineStyle   = regexp.MustCompile(`(?i)\sstyle\s*=|<style`)
	inlineHandler = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
)

func TestPagesAreCSPClean(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Anything", func(in *domain.AuctionInput) { in.BuyNowPrice = 90000 })
	id := strconv.FormatInt(a.ID, 10)
	admin, alice, bob := h.mustLogin(h.admin), h.mustLogin(h.alice), h.mustLogin(h.bob)
	pages := []struct{ path, cookie string }{
		{"/", ""}, {"/", bob}, {"/auctions/" + id, ""}, {"/auctions/" + id, bob}, {"/auctions/" + id, alice},
		{"/me/bids", bob}, {"/me/listings", alice}, {"/sell", alice}, {"/auctions/" + id + "/edit", alice},
		{"/admin", admin}, {"/login", ""}, {"/register", ""}, {"/no-such-page", ""},
	}
	for _, pg := range pages {
		res := h.get(pg.path, pg.cookie)
		if res.StatusCode >= 500 {
			t.Fatalf("%s: status %d", pg.path, res.StatusCode)
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", pg.path, csp)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", pg.path, ct)
		}
		for _, re := range []*regexp.Regexp{inlineScript, inlineStyle, inlineHandler} {
			if m := re.FindString(res.body); m != "" {
				t.Errorf("%s: inline code or style %q", pg.path, m)
			}
		}
	}
}

func TestErrorPagesHideInternals(t *testing.T) {
	h := newPgHarness(t)
	res := h.get("/definitely/not/here", "")
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d", res.StatusCode)
	}
	mustContain(t, res.body, "<h1>Page not found</h1>", "No such page or resource.", `href="/"`)
	mustNotContain(t, res.body, "/definitely/not/here")

	h.store.readErr = errPgSecret
	res = h.get("/", "")
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", res.StatusCode)
	}
	mustContain(t, res.body, "<h1>Something went wrong</h1>", "An internal error occurred.")
	mustNotContain(t, res.body, "10.0.0.7", "gavel_secret", "dial tcp")

	// The API keeps problem+json.
	res = h.get("/api/v1/auctions/1", "")
	if ct := res.Header.Get("Content-Type"); ct != problemContentType {
		t.Errorf("API error Content-Type %q", ct)
	}
}

func TestStaticAssets(t *testing.T) {
	h := newPgHarness(t)
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"css/app.css":           "text/css; charset=utf-8",
		"js/stream.js":          "text/javascript; charset=utf-8",
		"js/auction.js":         "text/javascript; charset=utf-8",
		"js/auction-history.js": "text/javascript; charset=utf-8",
		"js/tab-leader.js":      "text/javascript; charset=utf-8",
		"js/list.js":            "text/javascript; charset=utf-8",
		"js/admin.js":           "text/javascript; charset=utf-8",
		"js/sell.js":            "text/javascript; charset=utf-8",
		"js/shared-stream.js":   "text/javascript; charset=utf-8",
		"favicon.svg":           "image/svg+xml",
	}
	for name, ct := range cases {
		url := r.staticURL(name)
		if !strings.Contains(url, "?v=") {
			t.Errorf("%s: unversioned URL %q", name, url)
		}
		res := h.get(url, "")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", url, res.StatusCode)
		}
		if got := res.Header.Get("Content-Type"); got != ct {
			t.Errorf("%s: Content-Type %q, want %q", name, got, ct)
		}
		if got := res.Header.Get("Cache-Control"); got != staticImmutable {
			t.Errorf("%s: Cache-Control %q", name, got)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", name)
		}
		if res.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s: sets a cookie", name)
		}
		if strings.HasSuffix(name, ".js") && !strings.HasPrefix(res.body, "/*") {
			t.Errorf("%s: does not start with a comment explaining its job", name)
		}
		// Without the current version the asset is cached only briefly.
		if got := h.get("/static/"+name, "").Header.Get("Cache-Control"); got != staticShort {
			t.Errorf("%s unversioned: Cache-Control %q", name, got)
		}
	}
	for _, p := range []string{"/static/nope.js", "/static/../render.go", "/static/templates/layout.html"} {
		if res := h.get(p, ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, res.StatusCode)
		}
	}
}

func TestStaticNotModified(t *testing.T) {
	h := newPgHarness(t)
	res := h.get("/static/css/app.css", "")
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	r2 := h.doWithHeader(http.MethodGet, "/static/css/app.css", "If-None-Match", etag)
	if r2.StatusCode != http.StatusNotModified {
		t.Fatalf("status %d, want 304", r2.StatusCode)
	}
}

func TestCountdownServerTime(t *testing.T) {
	h := newPgHarness(t)
	res := h.get("/", "")
	mustContain(t, res.body, `data-server-time="`+pgNow.Format(time.RFC3339)+`"`)
}

func TestLogoutForm(t *testing.T) {
	h := newPgHarness(t)
	cookie := h.mustLogin(h.bob)
	res := h.post("/logout", url.Values{}, cookie)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := h.get("/me/bids", cookie); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: status %d, want a redirect to log in", res.StatusCode)
	}
}

// TestAdminStrikesABid: admins get a "cancel this bid" form per bid on a
// running auction's page; others do not. A refusal re-renders the page
// with the form open and the reason kept; success redirects with a flash.
func TestAdminStrikesABid(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Struck", nil)
	r := h.mustBid(h.bob, a.ID, 1000)
	id, bid := strconv.FormatInt(a.ID, 10), strconv.FormatInt(r.BidID, 10)
	action := `action="/admin/auctions/` + id + `/bids/` + bid + `/cancel"`
	admin, bob := h.mustLogin(h.admin), h.mustLogin(h.bob)

	mustContain(t, h.get("/auctions/"+id, admin).body, action, `data-can-strike="true"`, `data-bid-id="`+bid+`"`)
	for _, cookie := range []string{bob, ""} {
		mustNotContain(t, h.get("/auctions/"+id, cookie).body, action, `data-can-strike="true"`)
	}

	path := "/admin/auctions/" + id + "/bids/" + bid + "/cancel"
	cases := []struct {
		name     string
		path     string
		cookie   string
		reason   string
		status   int
		location string
		contains []string
	}{
		{"anonymous", path, "", "x", http.StatusSeeOther, "/login?next=%2Fadmin", nil},
		{"not an admin", path, bob, "x", http.StatusForbidden, "", []string{domain.ErrNotAdmin.Message}},
		{"no reason", path, admin, " ", http.StatusUnprocessableEntity, "",
			[]string{`id="strike-error"`, "Enter a reason", `<details class="row-action bid-strike" open>`, `aria-invalid="true"`}},
		{"no such bid", "/admin/auctions/" + id + "/bids/999999/cancel", admin, "x", http.StatusNotFound, "",
			[]string{`id="strike-error"`, domain.ErrBidNotFound.Message}},
		{"struck", path, admin, "Typo <b>", http.StatusSeeOther, "/auctions/" + id, nil},
	}
	for _, tc := range cases {
		res := h.post(tc.path, url.Values{"reason": {tc.reason}}, tc.cookie)
		if res.StatusCode != tc.status || res.Header.Get("Location") != tc.location {
			t.Errorf("%s: status %d, Location %q; want %d %q", tc.name, res.StatusCode, res.Header.Get("Location"), tc.status, tc.location)
		}
		mustContain(t, res.body, tc.contains...)
	}

	page := h.get("/auctions/"+id, admin)
	mustContain(t, page.body, "Bid #"+bid+" was cancelled", `id="bid-count">0<`)
	mustNotContain(t, page.body, action)
	entries, err := h.store.Audit(context.Background(), 10)
	if err != nil || len(entries) != 1 || entries[0].Action != "cancel_bid" || entries[0].Reason != "Typo <b>" {
		t.Errorf("audit = %+v, %v", entries, err)
	}
	// The monitor's audit log says what the number is, and escapes the reason.
	mustContain(t, h.get("/admin", admin).body, "<td>cancel_bid</td><td>bid #"+bid+"</td><td>Typo &lt;b&gt;</td>")
}
