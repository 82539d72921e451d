package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gavel-auctions/gavel/domain"
)

// pgFakeStore is the pages tests' name for the package's in-memory store.
type pgFakeStore = fakeStore

func newPgFakeStore(now func() time.Time) *pgFakeStore { return newFakeStore(now) }

// pgHarness is a server over pgFakeStore with a fixed clock.
type pgHarness struct {
	tb    testing.TB
	srv   *Server
	store *pgFakeStore
	now   time.Time
	// Seeded accounts.
	alice, bob, admin domain.User
}

var pgNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newPgHarness(tb testing.TB) *pgHarness {
	tb.Helper()
	h := &pgHarness{tb: tb, now: pgNow}
	clock := func() time.Time { return h.now }
	h.store = newPgFakeStore(clock)
	h.alice = h.store.addUser("alice@example.com", "alice-password", "Alice", false)
	h.bob = h.store.addUser("bob@example.com", "bob-password", "Bob", false)
	h.admin = h.store.addUser("admin@example.com", "admin-password", "Ada Admin", true)
	srv, err := New(Config{Role: RoleAll, Now: clock}, Deps{
		Accounts: h.store, Bidder: h.store, Reader: h.store, Bidders: h.store, Sessions: scs.New(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	h.srv = srv
	return h
}

// pgResponse is a finished response with its body read.
type pgResponse struct {
	*http.Response
	body string
}

// do sends one request; form, when non-nil, is sent url-encoded.
func (h *pgHarness) do(method, target string, form url.Values, cookie string) pgResponse {
	h.tb.Helper()
	return h.send(method, target, form, http.Header{"Cookie": {cookie}})
}

// doWithHeader sends a request with one extra header.
func (h *pgHarness) doWithHeader(method, target, name, value string) pgResponse {
	h.tb.Helper()
	return h.send(method, target, nil, http.Header{name: {value}})
}

func (h *pgHarness) send(method, target string, form url.Values, header http.Header) pgResponse {
	h.tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		for _, v := range vs {
			if v != "" {
				req.Header.Add(k, v)
			}
		}
	}
	res, err := h.srv.App().Test(req, -1)
	if err != nil {
		h.tb.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.tb.Fatalf("read body: %v", err)
	}
	return pgResponse{Response: res, body: string(b)}
}

func (h *pgHarness) get(target, cookie string) pgResponse {
	return h.do(http.MethodGet, target, nil, cookie)
}

func (h *pgHarness) post(target string, form url.Values, cookie string) pgResponse {
	return h.do(http.MethodPost, target, form, cookie)
}

// sessionCookie returns the "name=value" of the session cookie res sets.
func sessionCookie(res pgResponse) string {
	for _, c := range res.Cookies() {
		if c.Name == sessionCookieName && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

// mustLogin logs u in through the login form and returns the cookie.
func (h *pgHarness) mustLogin(u domain.User) string {
	h.tb.Helper()
	passwords := map[int64]string{h.alice.ID: "alice-password", h.bob.ID: "bob-password", h.admin.ID: "admin-password"}
	res := h.post("/login", url.Values{"email": {u.Email}, "password": {passwords[u.ID]}}, "")
	if res.StatusCode != http.StatusSeeOther {
		h.tb.Fatalf("login %s: status %d\n%s", u.Email, res.StatusCode, res.body)
	}
	c := sessionCookie(res)
	if c == "" {
		h.tb.Fatalf("login %s: no session cookie", u.Email)
	}
	return c
}

// seedAuction lists a EUR auction by seller ending in an hour.
func (h *pgHarness) seedAuction(seller domain.User, title string, mod func(*domain.AuctionInput)) domain.Auction {
	h.tb.Helper()
	in := domain.AuctionInput{Title: title, Description: "A fine item.", Currency: "EUR",
		StartPrice: 1000, EndsAt: h.now.Add(time.Hour)}
	if mod != nil {
		mod(&in)
	}
	return h.store.addAuction(h.tb, seller, in)
}

// mustBid places a bid directly in the store.
func (h *pgHarness) mustBid(u domain.User, id, amount int64) domain.Receipt {
	h.tb.Helper()
	r, err := h.store.PlaceBid(context.Background(), u, id, domain.BidInput{Amount: amount})
	if err != nil {
		h.tb.Fatalf("bid %d on %d: %v", amount, id, err)
	}
	return r
}

// mustContain fails unless body contains every want.
func mustContain(tb testing.TB, body string, wants ...string) {
	tb.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			tb.Errorf("body lacks %q", w)
		}
	}
}

// mustNotContain fails if body contains any of bad.
func mustNotContain(tb testing.TB, body string, bad ...string) {
	tb.Helper()
	for _, b := range bad {
		if strings.Contains(body, b) {
			tb.Errorf("body contains %q", b)
		}
	}
}

var errPgSecret = errors.New("dial tcp 10.0.0.7:5432: password authentication failed for user gavel_secret")
