package web

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"log/slog"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/gavel-auctions/gavel/domain"
)

// flakyStore is a session store whose database can go down (every call
// fails with err) or hang (every call waits for its context to end).
type flakyStore struct {
	mem  *memstore.MemStore
	err  atomic.Pointer[error]
	hang atomic.Bool
}

func newFlakyStore() *flakyStore { return &flakyStore{mem: memstore.NewWithCleanupInterval(0)} }

func (f *flakyStore) fail(ctx context.Context) error {
	if f.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	if p := f.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (f *flakyStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if err := f.fail(ctx); err != nil {
		return nil, false, err
	}
	return f.mem.Find(token)
}

func (f *flakyStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if err := f.fail(ctx); err != nil {
		return err
	}
	return f.mem.Commit(token, b, expiry)
}

func (f *flakyStore) DeleteCtx(ctx context.Context, token string) error {
	if err := f.fail(ctx); err != nil {
		return err
	}
	return f.mem.Delete(token)
}

func (f *flakyStore) Find(token string) ([]byte, bool, error) {
	return f.FindCtx(context.Background(), token)
}
func (f *flakyStore) Commit(token string, b []byte, expiry time.Time) error {
	return f.CommitCtx(context.Background(), token, b, expiry)
}
func (f *flakyStore) Delete(token string) error { return f.DeleteCtx(context.Background(), token) }

// dbDown is what the session store returns when PostgreSQL is down (an
// outage error: unavailable, with the dependency named).
var dbDown = &domain.Error{Code: domain.CodeUnavailable, Message: "The database is not answering right now; nothing was lost. Please try again in a few seconds.",
	Extra: map[string]any{"retry_after": 2, "dependency": "database"}}

var streamRetryBody = regexp.MustCompile(`^retry: (\d+)\n: (.+)\n\n$`)

// TestDependencyDownAnswers503 takes the session store's database down:
// the API answers 503 problem+json with Retry-After, pages a friendly 503
// page, and streams a 200 event stream that tells the browser when to
// retry (EventSource stops for good after any other answer).
func TestDependencyDownAnswers503(t *testing.T) {
	t.Parallel()
	store := newFlakyStore()
	e := newEnv(t, func(_ *Config, d *Deps) { d.Sessions.Store = store })
	e.mustUser("ann@example.com", "Ann", false)
	cookie := e.mustLogin("ann@example.com")
	id := e.mustAuction(cookie, "")
	var down error = dbDown
	store.err.Store(&down)

	r := e.do(req{method: "POST", path: "/api/v1/auctions/" + strconv.FormatInt(id, 10) + "/bids", body: `{"amount": 5000}`, cookie: cookie})
	m := r.wantProblem(t, http.StatusServiceUnavailable, domain.CodeUnavailable)
	if r.header.Get("Retry-After") != "2" || m["dependency"] != "database" || !strings.Contains(m["detail"].(string), "nothing was lost") {
		t.Errorf("API 503: Retry-After %q, body %s", r.header.Get("Retry-After"), r.body)
	}

	r = e.do(req{method: "GET", path: "/auctions/" + strconv.FormatInt(id, 10), cookie: cookie})
	r.wantStatus(t, http.StatusServiceUnavailable)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(r.body), "Temporarily unavailable") ||
		!strings.Contains(string(r.body), "nothing was lost") || !strings.Contains(string(r.body), `id="error-retry"`) {
		t.Errorf("page 503: %s\n%s", ct, r.body)
	}

	for _, path := range []string{"/stream/auctions/" + strconv.FormatInt(id, 10), "/stream/me", "/stream/auctions?ids=1,2"} {
		r = e.do(req{method: "GET", path: path, cookie: cookie})
		r.wantStatus(t, http.StatusOK)
		if ct := r.header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("%s: Content-Type %q", path, ct)
		}
		sm := streamRetryBody.FindSubmatch(r.body)
		if sm == nil {
			t.Fatalf("%s: body %q, want a retry field and a comment", path, r.body)
		}
		// Retry-After 2s, with jitter: 1s to 3s.
		if ms, _ := strconv.Atoi(string(sm[1])); ms < 1000 || ms >= 3000 {
			t.Errorf("%s: retry %dms, want 1000-2999", path, ms)
		}
		if !strings.Contains(string(sm[2]), "nothing was lost") {
			t.Errorf("%s: comment %q", path, sm[2])
		}
	}
	if strings.Contains(e.logs.String(), "level=ERROR") {
		t.Errorf("a dependency outage was logged as an error:\n%s", e.logs.String())
	}
}

// TestStreamRetryJitters: the retry delays of many refused streams spread
// out, so that a node's watchers do not all come back at once.
func TestStreamRetryJitters(t *testing.T) {
	t.Parallel()
	store := newFlakyStore()
	e := newEnv(t, func(_ *Config, d *Deps) { d.Sessions.Store = store })
	var down error = dbDown
	store.err.Store(&down)
	seen := map[string]bool{}
	for range 20 {
		// Any cookie makes the session middleware read the store.
		r := e.do(req{method: "GET", path: "/stream/me", cookie: shapedToken})
		if sm := streamRetryBody.FindSubmatch(r.body); sm != nil {
			seen[string(sm[1])] = true
		}
	}
	if len(seen) < 10 {
		t.Fatalf("20 refused streams got only %d distinct retry delays: %v", len(seen), seen)
	}
}

// TestRequestWaitIsBounded: a session store that hangs (PostgreSQL
// paused) holds a request only for Config.DependencyTimeout; then it is a
// 503.
func TestRequestWaitIsBounded(t *testing.T) {
	t.Parallel()
	store := newFlakyStore()
	e := newEnv(t, func(c *Config, d *Deps) {
		d.Sessions.Store = store
		c.DependencyTimeout = 300 * time.Millisecond
	})
	store.hang.Store(true)
	start := time.Now()
	e.do(req{method: "GET", path: "/api/v1/me", cookie: shapedToken}).wantProblem(t, http.StatusServiceUnavailable, domain.CodeUnavailable)
	if waited := time.Since(start); waited > 3*time.Second {
		t.Fatalf("the request waited %v on a hung store, bound 300ms", waited)
	}
}

// TestStartingServer: while the node starts, every route but the probes
// answers 503 (streams: a retry), and /readyz names what is missing.
func TestStartingServer(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	srv, err := NewStarting(Config{}, map[string]Checker{
		"database": func(context.Context) error { return errors.New("migrating") },
		"nats":     func(context.Context) error { return nil },
	}, slog.New(slog.NewTextHandler(logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, srv: srv, logs: logs}
	r := e.do(req{method: "GET", path: "/api/v1/auctions"})
	r.wantProblem(t, http.StatusServiceUnavailable, domain.CodeUnavailable)
	if r.header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	e.do(req{method: "POST", path: "/login", body: "email=a"}).wantStatus(t, http.StatusServiceUnavailable)
	if r := e.do(req{method: "GET", path: "/stream/me"}); r.status != http.StatusOK || !streamRetryBody.Match(r.body) {
		t.Errorf("stream while starting: %d %q", r.status, r.body)
	}
	e.do(req{method: "GET", path: "/healthz"}).wantStatus(t, http.StatusOK)
	m := e.do(req{method: "GET", path: "/readyz"}).wantStatus(t, http.StatusServiceUnavailable).json(t)
	if failed, _ := m["failed"].(map[string]any); failed["database"] != "unavailable" || failed["nats"] != nil {
		t.Errorf("readyz = %v", m)
	}
}

// TestReadyzNamesOnlyTheDependency: the public answer says which
// dependency is down and nothing about users, hosts or driver errors;
// administrators and the log get the details.
func TestReadyzNamesOnlyTheDependency(t *testing.T) {
	t.Parallel()
	detail := "failed to connect to `user=gavel database=gavel`: 10.0.0.7:5432 (db): dial error: connection refused"
	e := newEnv(t, func(_ *Config, d *Deps) {
		d.Checks = map[string]Checker{
			"database": func(context.Context) error { return errors.New(detail) },
			"nats":     func(context.Context) error { return nil },
		}
	})
	r := e.do(req{method: "GET", path: "/readyz"}).wantStatus(t, http.StatusServiceUnavailable)
	if string(r.body) != `{"failed":{"database":"unavailable"},"status":"unavailable"}` {
		t.Errorf("public readyz = %s", r.body)
	}
	if !strings.Contains(e.logs.String(), "10.0.0.7:5432") {
		t.Errorf("the log lacks the details:\n%s", e.logs.String())
	}
	e.mustUser("root@example.com", "Root", true)
	e.mustUser("ann@example.com", "Ann", false)
	e.do(req{method: "GET", path: "/api/v1/admin/health", cookie: e.mustLogin("ann@example.com")}).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)
	m := e.do(req{method: "GET", path: "/api/v1/admin/health", cookie: e.mustLogin("root@example.com")}).wantStatus(t, http.StatusOK).json(t)
	checks, _ := m["checks"].(map[string]any)
	if m["status"] != "unavailable" || checks["database"] != detail || checks["nats"] != "ok" {
		t.Errorf("admin health = %v", m)
	}
}

// TestDeadlineWithoutDomainErrorIs503: an error that is only the request's
// deadline (a store that did not translate it) is still a 503, not a 500.
func TestDeadlineWithoutDomainErrorIs503(t *testing.T) {
	t.Parallel()
	p := resolve(context.DeadlineExceeded)
	if p.status != http.StatusServiceUnavailable || p.code != domain.CodeUnavailable {
		t.Fatalf("deadline resolved to %d %s", p.status, p.code)
	}
	if p := resolve(errors.New("boom")); p.status != http.StatusInternalServerError {
		t.Fatalf("a plain error resolved to %d", p.status)
	}
}

// TestStreamRetryClosesConnection: after the retry field the server closes
// the connection, so the browser's EventSource reconnects at once rather
// than waiting on a stream that will never carry an event.
func TestStreamRetryClosesConnection(t *testing.T) {
	t.Parallel()
	store := newFlakyStore()
	e := newEnv(t, func(_ *Config, d *Deps) { d.Sessions.Store = store })
	var down error = dbDown
	store.err.Store(&down)
	base := e.listen()
	req, _ := http.NewRequest(http.MethodGet, base+"/stream/me", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookieName, Value: shapedToken})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !res.Close {
		t.Fatalf("status %d, close %v", res.StatusCode, res.Close)
	}
}

// TestNotReadyIsLoggedEveryFewSeconds: probes come many times a second; the
// log says what is failing when that changes and then every few seconds,
// and once when the node is ready again.
func TestNotReadyIsLoggedEveryFewSeconds(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	var r readyLog
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db := map[string]string{"database": "dial error"}
	for i := range 50 { // 5 s of probes every 100 ms
		r.log(log, db, start.Add(time.Duration(i)*100*time.Millisecond))
	}
	r.log(log, map[string]string{"database": "x", "nats": "y"}, start.Add(5100*time.Millisecond))
	r.log(log, db, start.Add(5200*time.Millisecond))
	r.log(log, db, start.Add(10300*time.Millisecond))
	r.log(log, nil, start.Add(10400*time.Millisecond))
	r.log(log, nil, start.Add(20*time.Second))
	got := logs.String()
	if n := strings.Count(got, `msg="not ready"`); n != 4 {
		t.Errorf("%d not-ready lines, want 4 (first, change, change back, 5 s later):\n%s", n, got)
	}
	if n := strings.Count(got, `msg="ready again"`); n != 1 {
		t.Errorf("%d ready-again lines, want 1:\n%s", n, got)
	}
}

// shapedToken looks like an scs token, so the session store is asked for
// it (a malformed cookie is no session and never reaches the store).
var shapedToken = strings.Repeat("A", sessionTokenLen)
