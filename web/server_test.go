package web

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/prometheus/client_golang/prometheus"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testPassword = "correct horse"

// fakeClock is a settable server clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testEnv is a Server over fakes, a real scs manager with memstore, and a
// fake clock.
type testEnv struct {
	t       *testing.T
	srv     *Server
	store   *fakeStore
	streams *fakeStreams
	clock   *fakeClock
	logs    *syncBuffer
	reg     *prometheus.Registry
}

func newEnv(t *testing.T, modify ...func(*Config, *Deps)) *testEnv {
	t.Helper()
	clock := &fakeClock{t: testNow}
	store := newFakeStore(clock.now)
	streams := &fakeStreams{}
	logs := &syncBuffer{}
	sm := scs.New()
	sm.Store = memstore.NewWithCleanupInterval(0)
	reg := prometheus.NewRegistry()
	cfg := Config{Role: RoleAll, Now: clock.now}
	deps := Deps{
		Accounts: store, Bidder: store, Reader: store, Bidders: store, Streams: streams,
		Sessions: sm, Registry: reg,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range modify {
		m(&cfg, &deps)
	}
	srv, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testEnv{t: t, srv: srv, store: store, streams: streams, clock: clock, logs: logs, reg: reg}
}

// req is one test request. Body is sent as application/json unless
// contentType says otherwise ("none" sends no Content-Type).
type req struct {
	method, path, body string
	contentType        string
	cookie             string // the gavel_session value
	header             map[string]string
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// with returns e reporting to t, for subtests.
func (e *testEnv) with(t *testing.T) *testEnv {
	c := *e
	c.t = t
	return &c
}

// listen serves the app on a loopback port until the test ends and returns
// its base URL. Use either listen or do (app.Test) in one test, not both
// at once.
func (e *testEnv) listen() string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.srv.App().Listener(ln)
	}()
	e.t.Cleanup(func() {
		_ = e.srv.App().ShutdownWithTimeout(2 * time.Second)
		<-done
	})
	return "http://" + ln.Addr().String()
}

func readResp(t *testing.T, res *http.Response) resp {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (e *testEnv) do(r req) resp {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, "http://gavel.test"+r.path, body)
	switch {
	case r.contentType == "none":
	case r.contentType != "":
		hr.Header.Set("Content-Type", r.contentType)
	case r.body != "":
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: r.cookie})
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	res, err := e.srv.App().Test(hr, 5000)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	return readResp(e.t, res)
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// sessionCookie returns the gavel_session cookie the response set, if any.
func (r resp) sessionCookie() (*http.Cookie, bool) {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == sessionCookieName {
			return c, true
		}
	}
	return nil, false
}

// wantStatus fails unless r has status want.
func (r resp) wantStatus(t *testing.T, want int) resp {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body: %s", r.status, want, r.body)
	}
	return r
}

// wantProblem checks an RFC 9457 answer with the given status and code.
func (r resp) wantProblem(t *testing.T, status int, code domain.Code) map[string]any {
	t.Helper()
	r.wantStatus(t, status)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, r.body)
	}
	m := r.json(t)
	if m["code"] != string(code) || m["status"] != float64(status) {
		t.Fatalf("problem code/status = %v/%v, want %s/%d: %s", m["code"], m["status"], code, status, r.body)
	}
	for _, k := range []string{"type", "title", "detail"} {
		if s, _ := m[k].(string); s == "" {
			t.Fatalf("problem lacks %q: %s", k, r.body)
		}
	}
	return m
}

// mustUser seeds a user with testPassword.
func (e *testEnv) mustUser(email, name string, admin bool) domain.User {
	e.t.Helper()
	return e.store.addUser(email, testPassword, name, admin)
}

// mustLogin logs email in through the API and returns the session token.
func (e *testEnv) mustLogin(email string) string {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/api/v1/session", body: `{"email":"` + email + `","password":"` + testPassword + `"}`})
	r.wantStatus(e.t, http.StatusOK)
	c, ok := r.sessionCookie()
	if !ok || c.Value == "" {
		e.t.Fatalf("login set no session cookie; headers %v", r.header)
	}
	return c.Value
}

// mustAuction creates an auction through the API and returns its id.
func (e *testEnv) mustAuction(cookie, extra string) int64 {
	e.t.Helper()
	body := `{"title":"Lamp","description":"Brass","currency":"EUR","start_price":1000,"ends_at":"` +
		testNow.Add(time.Hour).Format(time.RFC3339) + `"` + extra + `}`
	m := e.do(req{method: "POST", path: "/api/v1/auctions", body: body, cookie: cookie}).wantStatus(e.t, http.StatusCreated).json(e.t)
	return int64(m["id"].(float64))
}

func TestNewRoles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role             Role
		noStreams        bool
		api, stream, ops int
	}{
		{RoleAll, false, 401, 401, 200},
		{RoleAPI, true, 401, 404, 200},
		{RoleAll, true, 401, 404, 200},
		{RoleRealtime, false, 404, 401, 200},
	}
	for _, tt := range tests {
		t.Run(string(tt.role), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config, d *Deps) {
				c.Role = tt.role
				if tt.noStreams {
					d.Streams = nil
				}
			})
			e.do(req{method: "GET", path: "/api/v1/me"}).wantStatus(t, tt.api)
			e.do(req{method: "GET", path: "/stream/me"}).wantStatus(t, tt.stream)
			e.do(req{method: "GET", path: "/healthz"}).wantStatus(t, tt.ops)
		})
	}
}

func TestNewRejectsMissingDeps(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	store := newFakeStore(time.Now)
	tests := []struct {
		name string
		cfg  Config
		deps Deps
	}{
		{"no sessions", Config{}, Deps{Accounts: store, Bidder: store, Reader: store}},
		{"api without bidder", Config{Role: RoleAPI}, Deps{Sessions: sm, Accounts: store, Reader: store}},
		{"realtime without streams", Config{Role: RoleRealtime}, Deps{Sessions: sm, Accounts: store}},
		{"unknown role", Config{Role: "both"}, Deps{Sessions: sm, Accounts: store}},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg, tt.deps); err == nil {
			t.Errorf("%s: New succeeded, want an error", tt.name)
		}
	}
}

func TestNewConfiguresServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Deps) { c.CookieSecure = true })
	cfg := e.srv.App().Config()
	if !cfg.Immutable || cfg.BodyLimit != DefaultBodyLimit || cfg.WriteTimeout != 0 || cfg.ReadTimeout == 0 || cfg.IdleTimeout == 0 {
		t.Errorf("fiber config = %+v", cfg)
	}
	if !e.srv.App().Server().KeepHijackedConns {
		t.Error("KeepHijackedConns is false")
	}
	ck := e.srv.deps.Sessions.Cookie
	if ck.Name != "gavel_session" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || !ck.Secure {
		t.Errorf("session cookie = %+v", ck)
	}
}
