package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// behindProxy makes app.Test's peer (0.0.0.0) a trusted proxy, so that a
// test names each request's client in X-Forwarded-For.
func behindProxy(c *Config, _ *Deps) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
}

func loginFrom(e *testEnv, ip, email, password string) resp {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/api/v1/session",
		body:   fmt.Sprintf(`{"email":%q,"password":%q}`, email, password),
		header: map[string]string{"X-Forwarded-For": ip}})
}

func TestLimiterEvictsInsteadOfRefusing(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: testNow}
	l := newLimiter(1, time.Hour, clock.now)
	l.maxKeys = 1000
	for i := range 1050 {
		if ok, _ := l.allow(fmt.Sprint("flood", i)); !ok {
			t.Fatalf("fresh key %d refused", i)
		}
	}
	if n := l.size(); n != 1000 {
		t.Errorf("size = %d, want the cap 1000", n)
	}
	if ok, _ := l.allow("honest"); !ok {
		t.Error("a full limiter refused a key it had not seen")
	}
	// The most recent keys are still limited; the oldest were forgotten.
	if ok, _ := l.allow("flood1049"); ok {
		t.Error("a recent key lost its bucket")
	}
	if ok, _ := l.allow("flood0"); !ok {
		t.Error("the least recently used key was kept")
	}
}

// The flood of the report: 105,000 login attempts with distinct emails,
// here from as many addresses (so the per-IP limit cannot stop it), fill
// both limiters past their 100,000 keys. A correct login from another
// address still succeeds.
func TestLoginFloodLeavesHonestLoginsAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, behindProxy)
	e.mustUser("honest@example.com", "Honest", false)
	for i := range 105_000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if ok, _ := e.srv.loginIPLimit.allow(ipKey(ip)); !ok {
			t.Fatalf("attempt %d refused by the IP limit", i)
		}
		account := accountKey(fmt.Sprintf("flood%d@example.com", i))
		if ok, _ := e.srv.loginLimit.allow(account + " " + ipKey(ip)); !ok {
			t.Fatalf("attempt %d refused by the account and address limit", i)
		}
		if ok, _ := e.srv.loginAccountLimit.allow(account); !ok {
			t.Fatalf("attempt %d refused by the account limit", i)
		}
	}
	for _, l := range []*limiter{e.srv.loginIPLimit, e.srv.loginLimit, e.srv.loginAccountLimit} {
		if n := l.size(); n != defaultLimiterKeys {
			t.Fatalf("a login limiter holds %d keys, want it full (%d)", n, defaultLimiterKeys)
		}
	}
	loginFrom(e, "192.0.2.7", "honest@example.com", testPassword).wantStatus(t, http.StatusOK)
}

// A flood from one address is cut by the per-IP limit before it can touch
// the account limiter, and nobody else notices.
func TestLoginFloodFromOneAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, behindProxy)
	e.mustUser("honest@example.com", "Honest", false)
	limited := 0
	for i := range DefaultLoginIPLimit + 20 {
		r := loginFrom(e, "198.51.100.9", fmt.Sprintf("flood%d@example.com", i), "")
		switch r.status {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			limited++
			if !strings.Contains(string(r.body), "from your network") || r.header.Get("Retry-After") == "" {
				t.Fatalf("IP limit answer: %s %v", r.body, r.header)
			}
		default:
			t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
		}
	}
	if limited != 20 {
		t.Errorf("%d attempts limited, want 20 (the limit is %d)", limited, DefaultLoginIPLimit)
	}
	if n := e.srv.loginLimit.size() + e.srv.loginAccountLimit.size(); n > 2*DefaultLoginIPLimit {
		t.Errorf("the account limiters hold %d keys; refused attempts must not reach them", n)
	}
	loginFrom(e, "192.0.2.7", "honest@example.com", testPassword).wantStatus(t, http.StatusOK)
	// An empty password is checked like any other (same cost, same
	// bound): it reaches Accounts.
	e.store.mu.Lock()
	calls := e.store.authCalls
	e.store.mu.Unlock()
	if calls != DefaultLoginIPLimit+1 {
		t.Errorf("Authenticate called %d times, want %d", calls, DefaultLoginIPLimit+1)
	}
}

// Guessing one account from one address is limited per account and
// address, by failures only: its owner's successful logins spend nothing,
// and the guesser cannot lock the owner out.
func TestLoginLimitPerAccountAndAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, behindProxy)
	e.mustUser("owner@example.com", "Owner", false)
	for range DefaultLoginLimit + 5 {
		loginFrom(e, "192.0.2.1", "owner@example.com", testPassword).wantStatus(t, http.StatusOK)
	}
	for range DefaultLoginLimit {
		loginFrom(e, "203.0.113.9", "OWNER@example.com", "guess").wantStatus(t, http.StatusUnauthorized)
	}
	r := loginFrom(e, "203.0.113.9", "owner@example.com", "guess")
	r.wantProblem(t, http.StatusTooManyRequests, domain.CodeRateLimited)
	if !strings.Contains(string(r.body), "to this account from your network") {
		t.Errorf("account limit answer: %s", r.body)
	}
	// Even the right password is refused from the guesser's address...
	loginFrom(e, "203.0.113.9", "owner@example.com", testPassword).wantStatus(t, http.StatusTooManyRequests)
	// ...but the owner, elsewhere, is not locked out.
	loginFrom(e, "192.0.2.1", "owner@example.com", testPassword).wantStatus(t, http.StatusOK)
	// The window refills the address.
	e.clock.advance(DefaultLoginWindow)
	loginFrom(e, "203.0.113.9", "owner@example.com", testPassword).wantStatus(t, http.StatusOK)
}

// Guessing one account from many addresses meets the account's ceiling.
func TestLoginLimitPerAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, behindProxy, func(c *Config, _ *Deps) { c.LoginAccountLimit = 25 })
	e.mustUser("owner@example.com", "Owner", false)
	for i := range 25 {
		loginFrom(e, fmt.Sprintf("203.0.113.%d", i+1), "owner@example.com", "guess").wantStatus(t, http.StatusUnauthorized)
	}
	r := loginFrom(e, "203.0.113.200", "owner@example.com", "guess")
	r.wantProblem(t, http.StatusTooManyRequests, domain.CodeRateLimited)
	if !strings.Contains(string(r.body), "to this account.") || r.header.Get("Retry-After") == "" {
		t.Errorf("account ceiling answer: %s %v", r.body, r.header)
	}
	// A refusal by the ceiling spends nothing of the address's own budget.
	e.clock.advance(DefaultLoginAccountWindow)
	for range DefaultLoginLimit {
		loginFrom(e, "203.0.113.200", "owner@example.com", "guess").wantStatus(t, http.StatusUnauthorized)
	}
}

func TestRegistrationLimitPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, behindProxy, func(c *Config, _ *Deps) { c.RegisterLimit = 2 })
	register := func(ip string, n int) resp {
		return e.do(req{method: "POST", path: "/api/v1/users",
			body:   fmt.Sprintf(`{"email":"u%d@example.com","password":"longenough","name":"U"}`, n),
			header: map[string]string{"X-Forwarded-For": ip}})
	}
	register("198.51.100.1", 1).wantStatus(t, http.StatusCreated)
	register("198.51.100.1", 2).wantStatus(t, http.StatusCreated)
	r := register("198.51.100.1", 3)
	r.wantProblem(t, http.StatusTooManyRequests, domain.CodeRateLimited)
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	register("198.51.100.2", 4).wantStatus(t, http.StatusCreated)
	// Invalid registrations cost nothing.
	for range 5 {
		e.do(req{method: "POST", path: "/api/v1/users", body: `{"email":"bad","password":"x","name":""}`,
			header: map[string]string{"X-Forwarded-For": "198.51.100.3"}}).wantStatus(t, http.StatusUnprocessableEntity)
	}
	register("198.51.100.3", 5).wantStatus(t, http.StatusCreated)
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32"), netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		xff     []string
		want    string
	}{
		{"no proxies: the peer, whatever it claims", nil, []string{"1.2.3.4"}, "0.0.0.0"},
		{"one hop", proxies, []string{"203.0.113.5"}, "203.0.113.5"},
		{"right-most untrusted hop", proxies, []string{"6.6.6.6, 203.0.113.5, 10.1.1.1"}, "203.0.113.5"},
		{"spoofed left hops ignored", proxies, []string{"1.1.1.1", "203.0.113.5"}, "203.0.113.5"},
		{"with a port", proxies, []string{"203.0.113.5:4711"}, "203.0.113.5"},
		{"IPv6", proxies, []string{"[2001:db8::7]:443"}, "2001:db8::7"},
		{"garbage right of the client", proxies, []string{"203.0.113.5, nonsense"}, "0.0.0.0"},
		{"every hop trusted: the left-most", proxies, []string{"10.0.0.9, 10.0.0.8"}, "10.0.0.9"},
		{"no header", proxies, nil, "0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config, _ *Deps) { c.TrustedProxies = tt.trusted })
			var got string
			e.srv.app.Get("/test/ip", func(c *fiber.Ctx) error { got = e.srv.clientIP(c).String(); return nil })
			hr := httptest.NewRequest("GET", "http://gavel.test/test/ip", nil)
			for _, v := range tt.xff {
				hr.Header.Add("X-Forwarded-For", v)
			}
			if _, err := e.srv.App().Test(hr); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("clientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestIPKeyGroupsIPv6Subnets(t *testing.T) {
	t.Parallel()
	a := ipKey(netip.MustParseAddr("2001:db8:1:2::1"))
	b := ipKey(netip.MustParseAddr("2001:db8:1:2:ffff::9"))
	c := ipKey(netip.MustParseAddr("2001:db8:1:3::1"))
	if a != b || a == c {
		t.Errorf("keys %s %s %s: want one per /64", a, b, c)
	}
	if ipKey(netip.MustParseAddr("192.0.2.1")) != "192.0.2.1" {
		t.Error("IPv4 key")
	}
}

// recordingStore is memstore that remembers every token it was asked for.
type recordingStore struct {
	*memstore.MemStore
	mu     chan struct{}
	tokens []string
}

func (r *recordingStore) Find(token string) ([]byte, bool, error) {
	r.mu <- struct{}{}
	r.tokens = append(r.tokens, token)
	<-r.mu
	return r.MemStore.Find(token)
}

// scsToken is the shape of the tokens scs makes.
var scsToken = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// A malformed session cookie is no session: the page answers as to a
// visitor, and the store never sees the bytes.
func TestMalformedSessionCookie(t *testing.T) {
	t.Parallel()
	store := &recordingStore{MemStore: memstore.NewWithCleanupInterval(0), mu: make(chan struct{}, 1)}
	e := newEnv(t, func(_ *Config, d *Deps) {
		sm := scs.New()
		sm.Store = store
		d.Sessions = sm
	})
	for _, v := range []string{"\xff", "a\x00b", strings.Repeat("x", 42), strings.Repeat("x", 44), strings.Repeat("x", 42) + "=", "%00"} {
		for _, path := range []string{"/", "/api/v1/me", "/login"} {
			hr := httptest.NewRequest("GET", "http://gavel.test"+path, nil)
			hr.Header.Set("Cookie", sessionCookieName+"="+v)
			res, err := e.srv.App().Test(hr)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			want := http.StatusOK
			if path == "/api/v1/me" {
				want = http.StatusUnauthorized
			}
			if res.StatusCode != want {
				t.Errorf("cookie %q on %s: %d, want %d", v, path, res.StatusCode, want)
			}
		}
	}
	store.mu <- struct{}{}
	defer func() { <-store.mu }()
	for _, tok := range store.tokens {
		if !scsToken.MatchString(tok) {
			t.Errorf("the store was asked for %q", tok)
		}
	}
}

// Search text no title can hold is refused before the database: 422 with
// the reason on the API, the form re-rendered with it beside the box.
func TestHostileSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, q := range []string{"%00", "%FF", "lamp%E2%80%AE", "a%0Ab"} {
		e.do(req{method: "GET", path: "/api/v1/auctions?q=" + q}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
		r := e.do(req{method: "GET", path: "/?q=" + q})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `id="q-error"`) {
			t.Errorf("page search %q: %d, error shown: %v", q, r.status, strings.Contains(string(r.body), `id="q-error"`))
		}
	}
	e.do(req{method: "GET", path: "/?q=lamp"}).wantStatus(t, http.StatusOK)
}
