package web

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestGuestWatchesLive: a visitor who is not logged in gets a guest
// session from a page with a public stream, and that session opens the
// public streams (as nobody, capped by its session) but nothing personal,
// no admin stream and no bid. A stream without any session is 401.
func TestGuestWatchesLive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("sel@example.com", "Sel", false)
	id := e.mustAuction(e.mustLogin("sel@example.com"), "")
	ids := strconv.FormatInt(id, 10)

	home := e.do(req{method: "GET", path: "/"}).wantStatus(t, http.StatusOK)
	if !strings.Contains(string(home.body), `data-stream="/stream/auctions?ids=`+ids+`"`) {
		t.Fatalf("home page gives a guest no stream:\n%s", home.body)
	}
	if strings.Contains(string(home.body), "do not update by themselves") {
		t.Error("home page still tells guests that prices do not move")
	}
	c, ok := home.sessionCookie()
	if !ok || c.Value == "" {
		t.Fatalf("home page set no guest session cookie; headers %v", home.header)
	}
	guest := c.Value
	// Another page view of the same guest writes no session again.
	again := e.do(req{method: "GET", path: "/auctions/" + ids, cookie: guest}).wantStatus(t, http.StatusOK)
	if _, ok := again.sessionCookie(); ok {
		t.Errorf("a known guest's page view wrote the session again: %v", again.header)
	}
	if !strings.Contains(string(again.body), `data-stream="/stream/auctions/`+ids+`"`) {
		t.Errorf("auction page gives a guest no stream")
	}

	for _, path := range []string{"/stream/auctions/" + ids, "/stream/auctions?ids=" + ids} {
		e.streams.mu.Lock()
		e.streams.specs = nil
		e.streams.mu.Unlock()
		// app.Test cannot read a hijacked answer; the spec is what matters.
		hr, _ := http.NewRequest("GET", "http://gavel.test"+path, nil)
		hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: guest})
		_, _ = e.srv.App().Test(hr, 2000)
		spec, ok := e.streams.lastSpec()
		if !ok {
			t.Fatalf("%s: the guest's stream was not opened", path)
		}
		if spec.UserID != 0 || spec.Admin || spec.Personal || spec.Session != domain.SessionHash(guest) {
			t.Errorf("%s: spec %+v, want a guest's (no user, its session's hash)", path, spec)
		}
	}
	m := e.do(req{method: "GET", path: "/stream/auctions/" + ids}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
	if d, _ := m["detail"].(string); !strings.Contains(d, "session cookie") {
		t.Errorf("a stream without a session: detail %q does not say what to do", d)
	}
	for _, path := range []string{"/stream/me", "/stream/admin"} {
		e.do(req{method: "GET", path: path, cookie: guest}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
	}
	e.do(req{method: "POST", path: "/api/v1/auctions/" + ids + "/bids", body: `{"amount":5000}`, cookie: guest}).
		wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)

	// Logging in from a guest session leaves a user's session, not a guest's.
	r := e.do(req{method: "POST", path: "/api/v1/session", body: `{"email":"sel@example.com","password":"` + testPassword + `"}`, cookie: guest}).
		wantStatus(t, http.StatusOK)
	lc, ok := r.sessionCookie()
	if !ok || lc.Value == guest {
		t.Fatalf("login from a guest session kept its token")
	}
	hr, _ := http.NewRequest("GET", "http://gavel.test/stream/me", nil)
	hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: lc.Value})
	_, _ = e.srv.App().Test(hr, 2000)
	if spec, _ := e.streams.lastSpec(); !spec.Personal || spec.UserID == 0 {
		t.Errorf("after login: spec %+v, want the user's personal stream", spec)
	}
}

// TestLoginPageDemoAccounts: the demo accounts are listed on the login
// page while the demo runs, and only then.
func TestLoginPageDemoAccounts(t *testing.T) {
	t.Parallel()
	plain := newEnv(t)
	if b := string(plain.do(req{method: "GET", path: "/login"}).wantStatus(t, 200).body); strings.Contains(b, "demo-accounts") {
		t.Error("login page lists demo accounts with no demo running")
	}
	demo := newEnv(t, func(c *Config, _ *Deps) {
		c.DemoAccounts = []DemoAccount{{Role: "Bidder", Email: "bidder@gavel.local", Password: "gavel-demo"}}
	})
	b := string(demo.do(req{method: "GET", path: "/login"}).wantStatus(t, 200).body)
	for _, want := range []string{`id="demo-accounts"`, "bidder@gavel.local", "gavel-demo", "Bidder"} {
		if !strings.Contains(b, want) {
			t.Errorf("demo login page lacks %q", want)
		}
	}
}

// TestGuestSessionsCappedPerAddress: an address that starts more guest
// sessions than the cap (a client dropping its cookie on every view) gets
// the page without a stream or a new session row, with a notice that says
// why; a guest who kept the cookie still watches live.
func TestGuestSessionsCappedPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.guestLimit = newLimiter(2, time.Hour, time.Now)
	e.mustUser("sel@example.com", "Sel", false)
	id := e.mustAuction(e.mustLogin("sel@example.com"), "")
	path := "/auctions/" + strconv.FormatInt(id, 10)
	stream := `data-stream="/stream/auctions/` + strconv.FormatInt(id, 10) + `"`

	var first string
	for i := range 2 {
		r := e.do(req{method: "GET", path: path}).wantStatus(t, http.StatusOK)
		c, ok := r.sessionCookie()
		if !ok || !strings.Contains(string(r.body), stream) {
			t.Fatalf("view %d under the cap: cookie %v, stream %v", i+1, ok, strings.Contains(string(r.body), stream))
		}
		if i == 0 {
			first = c.Value
		}
	}
	r := e.do(req{method: "GET", path: path}).wantStatus(t, http.StatusOK)
	if _, ok := r.sessionCookie(); ok {
		t.Error("a view over the cap started a guest session")
	}
	if strings.Contains(string(r.body), stream) {
		t.Error("a view over the cap got a stream it has no session for")
	}
	if !strings.Contains(string(r.body), "Live updates are off") {
		t.Errorf("a view over the cap does not say why the page is not live:\n%s", r.body)
	}
	known := e.do(req{method: "GET", path: path, cookie: first}).wantStatus(t, http.StatusOK)
	if !strings.Contains(string(known.body), stream) {
		t.Error("a guest who kept the cookie lost the stream once the address hit the cap")
	}
}
