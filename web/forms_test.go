package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func TestBidFormWithoutJavaScript(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Lamp", func(in *domain.AuctionInput) { in.BuyNowPrice = 90000 })
	path := "/auctions/" + strconv.FormatInt(a.ID, 10)
	bob := h.mustLogin(h.bob)

	res := h.post(path+"/bid", url.Values{"amount": {"12.50"}, "max_amount": {"20"}, "idempotency_key": {"k1"}}, bob)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path {
		t.Fatalf("status %d, Location %q\n%s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	page := h.get(path, bob)
	mustContain(t, page.body, "Bid placed: 12.50 EUR. You are the highest bidder.", "Your maximum is 20.00 EUR.",
		`<li class="bid-line bid-mine" data-seq=`, `<span class="bidder">Bidder 1</span>`)
	// The one-shot result is gone on the next view.
	mustNotContain(t, h.get(path, bob).body, "Bid placed:")
	got, _ := h.store.Auction(t.Context(), a.ID)
	if got.CurrentPrice != 1250 || got.LeaderMax != 2000 {
		t.Errorf("price %d, max %d", got.CurrentPrice, got.LeaderMax)
	}
}

func TestBidFormRefusals(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Lamp", nil)
	path := "/auctions/" + strconv.FormatInt(a.ID, 10)
	bob, alice := h.mustLogin(h.bob), h.mustLogin(h.alice)

	cases := []struct {
		name   string
		cookie string
		form   url.Values
		status int
		want   []string
	}{
		{"not a number", bob, url.Values{"amount": {"12,50"}}, http.StatusUnprocessableEntity,
			[]string{"Enter the amount as a plain number such as 12.50.", `value="12,50"`, `aria-invalid="true"`}},
		{"too many decimals", bob, url.Values{"amount": {"12.505"}}, http.StatusUnprocessableEntity,
			[]string{"EUR allows at most 2 decimals."}},
		{"empty", bob, url.Values{"amount": {""}}, http.StatusUnprocessableEntity, []string{"Enter an amount."}},
		{"max below bid", bob, url.Values{"amount": {"15"}, "max_amount": {"12"}}, http.StatusUnprocessableEntity,
			[]string{"Your maximum bid must be at least your bid."}},
		{"too low", bob, url.Values{"amount": {"5"}}, http.StatusConflict,
			[]string{"Your bid must be at least 10.00 EUR.", `id="bid-amount-error">Must be at least 10.00 EUR.`}},
		{"own auction", alice, url.Values{"amount": {"50"}}, http.StatusForbidden, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.post(path+"/bid", tc.form, tc.cookie)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d\n%s", res.StatusCode, tc.status, res.body)
			}
			mustContain(t, res.body, tc.want...)
		})
	}
	t.Run("anonymous", func(t *testing.T) {
		res := h.post(path+"/bid", url.Values{"amount": {"50"}}, "")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Fatalf("status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
	t.Run("closed", func(t *testing.T) {
		closed, _ := h.store.Auction(t.Context(), a.ID)
		closed.Status = domain.StatusClosed
		h.store.setAuction(closed)
		res := h.post(path+"/bid", url.Values{"amount": {"50"}}, bob)
		if res.StatusCode != http.StatusGone {
			t.Fatalf("status %d, want 410", res.StatusCode)
		}
		mustContain(t, res.body, domain.ErrAuctionClosed.Message)
	})
}

func TestBuyNowForm(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Lamp", func(in *domain.AuctionInput) { in.BuyNowPrice = 90000 })
	path := "/auctions/" + strconv.FormatInt(a.ID, 10)
	bob := h.mustLogin(h.bob)
	res := h.post(path+"/bid", url.Values{"buy_now": {"1"}, "idempotency_key": {"bn"}}, bob)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d\n%s", res.StatusCode, res.body)
	}
	mustContain(t, h.get(path, bob).body, "You bought it for 900.00 EUR!", "Sold to Bidder 1 for 900.00 EUR.", "You won this auction!")
}

func TestSellForm(t *testing.T) {
	h := newPgHarness(t)
	alice := h.mustLogin(h.alice)

	res := h.get("/sell", alice)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	mustContain(t, res.body, `id="sell-form"`, `<option value="EUR" data-exp="2" selected>`, `<option value="JPY" data-exp="0">`,
		`name="starts_at_utc"`, `name="ends_at_utc"`, `name="tz_offset"`, `value="120"`, "js/sell.js",
		`for="start_price"`, `for="reserve_price"`, `for="buy_now_price"`, `for="increment"`, `for="soft_close_seconds"`)

	if res := h.get("/sell", ""); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fsell" {
		t.Errorf("anonymous: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}

	t.Run("bad input is re-rendered with 422", func(t *testing.T) {
		res := h.post("/sell", url.Values{
			"title": {""}, "description": {"kept <b>text</b>"}, "currency": {"EUR"},
			"start_price": {"12.345"}, "reserve_price": {"abc"}, "ends_at": {"tomorrow"},
			"soft_close_seconds": {"9999"}, "tz_offset": {"+99:00"},
		}, alice)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d\n%s", res.StatusCode, res.body)
		}
		mustContain(t, res.body, `role="alert"`, `id="title-error">Enter a title.`,
			`id="start_price-error">EUR allows at most 2 decimals.`,
			`id="reserve_price-error">Enter the amount as a plain number such as 12.50.`,
			`id="ends_at-error">Enter a date and time`, `id="soft_close_seconds-error">Soft close must be between`,
			`id="tz_offset-error">Enter an offset`, `value="12.345"`, `value="abc"`, "kept &lt;b&gt;text&lt;/b&gt;",
			`<a href="#title">Title: Enter a title.</a>`)
	})
	t.Run("domain rules land beside fields", func(t *testing.T) {
		res := h.post("/sell", url.Values{
			"title": {"Clock"}, "currency": {"EUR"}, "start_price": {"10"}, "reserve_price": {"5"},
			"ends_at_utc": {h.now.Add(time.Hour).Format(time.RFC3339)}, "ends_at": {"2026-03-01T13:00"},
		}, alice)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", res.StatusCode)
		}
		mustContain(t, res.body, `id="reserve_price-error">The reserve must be at least the start price.`, `value="Clock"`)
	})
	t.Run("unknown currency", func(t *testing.T) {
		res := h.post("/sell", url.Values{"title": {"Clock"}, "currency": {"XXX"}, "start_price": {"10"}, "ends_at": {"2026-03-01T13:00"}}, alice)
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", res.StatusCode)
		}
		mustContain(t, res.body, `id="currency-error">Choose a currency from the list.`)
		mustNotContain(t, res.body, `id="start_price-error">Must`)
	})
	t.Run("success with the UTC field", func(t *testing.T) {
		ends := h.now.Add(2 * time.Hour)
		res := h.post("/sell", url.Values{
			"title": {"Clock"}, "description": {"line one\r\nline two"}, "currency": {"JPY"}, "start_price": {"1500"},
			"buy_now_price": {"9000"}, "increment": {"100"}, "ends_at": {"2026-03-01T23:00"},
			"ends_at_utc": {ends.Format("2006-01-02T15:04:05.000Z")}, "soft_close_seconds": {"60"},
		}, alice)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d\n%s", res.StatusCode, res.body)
		}
		id, _ := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/auctions/"), 10, 64)
		a, err := h.store.Auction(t.Context(), id)
		if err != nil {
			t.Fatalf("Location %q: %v", res.Header.Get("Location"), err)
		}
		if !a.EndsAt.Equal(ends) || a.StartPrice != 1500 || a.BuyNowPrice != 9000 || a.Increment != 100 ||
			a.SoftCloseSeconds != 60 || a.Description != "line one\nline two" || a.SellerID != h.alice.ID {
			t.Errorf("stored %+v", a)
		}
		mustContain(t, h.get(res.Header.Get("Location"), alice).body, "Your listing is up.")
	})
	t.Run("success without JavaScript, with an offset", func(t *testing.T) {
		res := h.post("/sell", url.Values{
			"title": {"Vase"}, "currency": {"EUR"}, "start_price": {"5"},
			"starts_at": {"2026-03-01T15:00"}, "ends_at": {"2026-03-01T16:30"}, "tz_offset": {"+02:00"},
		}, alice)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d\n%s", res.StatusCode, res.body)
		}
		id, _ := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/auctions/"), 10, 64)
		a, _ := h.store.Auction(t.Context(), id)
		if want := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC); !a.StartsAt.Equal(want) || a.Status != domain.StatusScheduled {
			t.Errorf("starts %v (%s), want %v scheduled", a.StartsAt, a.Status, want)
		}
		if want := time.Date(2026, 3, 1, 14, 30, 0, 0, time.UTC); !a.EndsAt.Equal(want) {
			t.Errorf("ends %v, want %v", a.EndsAt, want)
		}
		if a.SoftCloseSeconds != domain.DefaultSoftCloseSeconds {
			t.Errorf("soft close %d", a.SoftCloseSeconds)
		}
	})
}

func TestEditAndCancelListing(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Chair", func(in *domain.AuctionInput) { in.ReservePrice = 2000 })
	path := "/auctions/" + strconv.FormatInt(a.ID, 10)
	alice, bob := h.mustLogin(h.alice), h.mustLogin(h.bob)

	res := h.get(path+"/edit", alice)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	mustContain(t, res.body, `value="Chair"`, `value="10.00"`, `value="20.00"`, `data-utc="2026-03-01T13:00:00Z"`,
		`value="2026-03-01T13:00"`, `action="`+path+`/edit"`)

	if res := h.get(path+"/edit", bob); res.StatusCode != http.StatusForbidden {
		t.Errorf("other user: status %d, want 403", res.StatusCode)
	}
	res = h.post(path+"/edit", url.Values{"title": {"Chair, oak"}, "currency": {"EUR"}, "start_price": {"15"},
		"ends_at": {"2026-03-01T14:00"}}, alice)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path {
		t.Fatalf("status %d, Location %q\n%s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	got, _ := h.store.Auction(t.Context(), a.ID)
	if got.Title != "Chair, oak" || got.StartPrice != 1500 || got.ReservePrice != 0 {
		t.Errorf("stored %+v", got)
	}
	res = h.post(path+"/edit", url.Values{"title": {""}, "currency": {"EUR"}, "start_price": {"15"}, "ends_at": {"2026-03-01T14:00"}}, alice)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad edit: status %d", res.StatusCode)
	}

	if res := h.post(path+"/cancel", url.Values{}, bob); res.StatusCode != http.StatusForbidden {
		t.Errorf("cancel by another user: status %d", res.StatusCode)
	}
	h.mustBid(h.bob, a.ID, 1500)
	if res := h.get(path+"/edit", alice); res.StatusCode != http.StatusConflict {
		t.Errorf("edit after a bid: status %d, want 409", res.StatusCode)
	}
	res = h.post(path+"/cancel", url.Values{}, alice)
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("cancel after a bid: status %d, want 409", res.StatusCode)
	}
	mustContain(t, res.body, domain.ErrHasBids.Message)

	b := h.seedAuction(h.alice, "Stool", nil)
	res = h.post("/auctions/"+strconv.FormatInt(b.ID, 10)+"/cancel", url.Values{}, alice)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/me/listings" {
		t.Fatalf("cancel: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if got, _ := h.store.Auction(t.Context(), b.ID); got.Status != domain.StatusCancelled {
		t.Errorf("status %s", got.Status)
	}
}

func TestAdminForms(t *testing.T) {
	h := newPgHarness(t)
	a := h.seedAuction(h.alice, "Fake watch", nil)
	admin, bob := h.mustLogin(h.admin), h.mustLogin(h.bob)
	cancel := "/admin/auctions/" + strconv.FormatInt(a.ID, 10) + "/cancel"

	res := h.post(cancel, url.Values{"reason": {" "}}, admin)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("no reason: status %d", res.StatusCode)
	}
	mustContain(t, res.body, "Enter a reason")
	if res := h.post(cancel, url.Values{"reason": {"counterfeit"}}, bob); res.StatusCode != http.StatusForbidden {
		t.Errorf("by a non-admin: status %d", res.StatusCode)
	}
	res = h.post(cancel, url.Values{"reason": {"counterfeit"}}, admin)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin" {
		t.Fatalf("status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	mustContain(t, h.get("/admin", admin).body, "was cancelled.", "cancel_auction", "counterfeit")
	res = h.post(cancel, url.Values{"reason": {"again"}}, admin)
	if res.StatusCode != http.StatusGone {
		t.Errorf("cancel twice: status %d, want 410", res.StatusCode)
	}

	res = h.post("/admin/users/suspend", url.Values{"user_id": {"abc"}, "reason": {"spam"}}, admin)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad user id: status %d", res.StatusCode)
	}
	mustContain(t, res.body, "Choose a user to suspend.", `value="spam"`)
	res = h.post("/admin/users/suspend", url.Values{"user_id": {"999"}, "reason": {"spam"}}, admin)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown user: status %d", res.StatusCode)
	}
	res = h.post("/admin/users/suspend", url.Values{"user_id": {strconv.FormatInt(h.bob.ID, 10)}, "reason": {"spam"}}, admin)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("suspend: status %d\n%s", res.StatusCode, res.body)
	}
	mustContain(t, h.get("/admin", admin).body, "suspend_user", "suspended")
}

func TestLoginForm(t *testing.T) {
	h := newPgHarness(t)
	res := h.get("/login?next=/me/bids", "")
	mustContain(t, res.body, `id="login-form"`, `name="next" value="/me/bids"`, `for="email"`, `for="password"`)

	res = h.post("/login", url.Values{"email": {"bob@example.com"}, "password": {"nope"}}, "")
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d", res.StatusCode)
	}
	mustContain(t, res.body, domain.ErrBadCredentials.Message, `value="bob@example.com"`)
	mustNotContain(t, res.body, "nope")

	res = h.post("/login", url.Values{"email": {""}, "password": {""}}, "")
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("empty: status %d", res.StatusCode)
	}
	mustContain(t, res.body, "Enter your email address.", "Enter your password.")

	for next, want := range map[string]string{
		"/me/bids?x=1":          "/me/bids?x=1",
		"":                      "/",
		"//evil.example":        "/",
		"https://evil.example/": "/",
		"/\\evil.example":       "/",
		"javascript:alert(1)":   "/",
		"/%0d%0aSet-Cookie:x":   "/%0d%0aSet-Cookie:x",
		"evil.example":          "/",
	} {
		res := h.post("/login?next="+url.QueryEscape(next), url.Values{"email": {"bob@example.com"}, "password": {"bob-password"}}, "")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Errorf("next=%q: status %d, Location %q, want %q", next, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
	// A logged-in visitor skips the form.
	if res := h.get("/login?next=//evil.example", h.mustLogin(h.bob)); res.Header.Get("Location") != "/" {
		t.Errorf("logged in: Location %q", res.Header.Get("Location"))
	}
}

func TestLoginFormRateLimit(t *testing.T) {
	h := newPgHarness(t)
	var res pgResponse
	for range DefaultLoginLimit + 1 {
		res = h.post("/login", url.Values{"email": {"bob@example.com"}, "password": {"guess"}}, "")
	}
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	mustContain(t, res.body, "Too many failed logins to this account from your network.")
}

func TestRegisterForm(t *testing.T) {
	h := newPgHarness(t)
	res := h.post("/register", url.Values{"name": {""}, "email": {"not-an-email"}, "password": {"short"}}, "")
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", res.StatusCode)
	}
	mustContain(t, res.body, `id="name-error">Enter your name.`, `id="email-error">Enter an email address`,
		`id="password-error">Use at least 8 characters.`, `value="not-an-email"`)

	res = h.post("/register", url.Values{"name": {"Bob again"}, "email": {"bob@example.com"}, "password": {"long enough"}}, "")
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("taken: status %d", res.StatusCode)
	}
	mustContain(t, res.body, `id="email-error">`+strings.ReplaceAll(domain.ErrEmailTaken.Message, "'", "&#39;"))

	res = h.post("/register?next=/sell", url.Values{"name": {"Carol"}, "email": {"carol@example.com"}, "password": {"long enough"}}, "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/sell" {
		t.Fatalf("status %d, Location %q\n%s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	page := h.get("/sell", sessionCookie(res))
	if page.StatusCode != http.StatusOK {
		t.Fatalf("after register: status %d", page.StatusCode)
	}
	mustContain(t, page.body, "Welcome to Gavel, Carol.")
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/":                 "/",
		"/auctions/1?x=y#z": "/auctions/1?x=y#z",
		"":                  "",
		"//evil":            "",
		"/\\evil":           "",
		"\\\\evil":          "",
		"http://evil":       "",
		"https:/evil":       "",
		"/a\nb":             "",
		"/a\x7f":            "",
		"relative":          "",
		"/" + strings.Repeat("a", maxNextParamSize): "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseOffset(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"": 0, "Z": 0, "utc": 0, "+02:00": 7200, "-0530": -19800, "+2": 7200, "-11:30": -41400} {
		loc, ok := parseOffset(in)
		_, off := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone()
		if !ok || off != want {
			t.Errorf("parseOffset(%q) = %d, %v; want %d", in, off, ok, want)
		}
	}
	for _, in := range []string{"+15:00", "+02:60", "two", "02:00", "+"} {
		if _, ok := parseOffset(in); ok {
			t.Errorf("parseOffset(%q) accepted", in)
		}
	}
}
