package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

func TestRegisterLoginMeLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	r := e.do(req{method: "POST", path: "/api/v1/users", body: `{"email":"ann@example.com","password":"longenough","name":" Ann "}`})
	u := r.wantStatus(t, http.StatusCreated).json(t)
	if u["email"] != "ann@example.com" || u["name"] != "Ann" || u["admin"] != false || u["id"] == nil || u["created_at"] == nil {
		t.Fatalf("registered user = %s", r.body)
	}
	if _, ok := r.sessionCookie(); ok {
		t.Error("registration set a session cookie; it should not log in")
	}
	e.do(req{method: "GET", path: "/api/v1/me"}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)

	r = e.do(req{method: "POST", path: "/api/v1/session", body: `{"email":"ann@example.com","password":"longenough"}`})
	r.wantStatus(t, http.StatusOK)
	ck, ok := r.sessionCookie()
	if !ok {
		t.Fatal("login set no cookie")
	}
	raw := strings.Join(r.header.Values("Set-Cookie"), "\n")
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="} {
		if !strings.Contains(raw, want) {
			t.Errorf("Set-Cookie %q lacks %s", raw, want)
		}
	}
	if strings.Contains(raw, "Secure") {
		t.Errorf("Set-Cookie %q is Secure without CookieSecure", raw)
	}

	me := e.do(req{method: "GET", path: "/api/v1/me", cookie: ck.Value}).wantStatus(t, http.StatusOK)
	if me.json(t)["email"] != "ann@example.com" {
		t.Fatalf("me = %s", me.body)
	}
	if _, ok := me.sessionCookie(); ok {
		t.Error("an unmodified session was written back")
	}

	out := e.do(req{method: "DELETE", path: "/api/v1/session", cookie: ck.Value}).wantStatus(t, http.StatusNoContent)
	gone, ok := out.sessionCookie()
	if !ok || gone.Value != "" || gone.MaxAge >= 0 {
		t.Errorf("logout cookie = %+v, want an expired one", gone)
	}
	e.do(req{method: "GET", path: "/api/v1/me", cookie: ck.Value}).wantStatus(t, http.StatusUnauthorized)
}

func TestLoginRenewsToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("bo@example.com", "Bo", false)
	first := e.mustLogin("bo@example.com")

	r := e.do(req{method: "POST", path: "/api/v1/session", cookie: first,
		body: `{"email":"bo@example.com","password":"` + testPassword + `"}`}).wantStatus(t, http.StatusOK)
	ck, ok := r.sessionCookie()
	if !ok || ck.Value == "" || ck.Value == first {
		t.Fatalf("second login cookie = %+v, want a new token", ck)
	}
	e.do(req{method: "GET", path: "/api/v1/me", cookie: first}).wantStatus(t, http.StatusUnauthorized)
	e.do(req{method: "GET", path: "/api/v1/me", cookie: ck.Value}).wantStatus(t, http.StatusOK)
}

func TestLoginWrongCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("cy@example.com", "Cy", false)
	for _, body := range []string{
		`{"email":"cy@example.com","password":"wrong password"}`,
		`{"email":"nobody@example.com","password":"` + testPassword + `"}`,
		`{"email":"","password":""}`,
	} {
		m := e.do(req{method: "POST", path: "/api/v1/session", body: body}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
		if m["detail"] != "Wrong email or password." {
			t.Errorf("%s: detail = %v", body, m["detail"])
		}
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Deps) { c.LoginLimit = 3 })
	e.mustUser("di@example.com", "Di", false)
	bad := `{"email":"di@example.com","password":"nope nope"}`
	for range 3 {
		e.do(req{method: "POST", path: "/api/v1/session", body: bad}).wantStatus(t, http.StatusUnauthorized)
	}
	r := e.do(req{method: "POST", path: "/api/v1/session", body: `{"email":"DI@example.com","password":"` + testPassword + `"}`})
	r.wantProblem(t, http.StatusTooManyRequests, domain.CodeRateLimited)
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	e.store.mu.Lock()
	calls := e.store.authCalls
	e.store.mu.Unlock()
	if calls != 3 {
		t.Errorf("Authenticate called %d times, want 3 (the limited attempt must not reach it)", calls)
	}
	// Another email from the same client has its own budget.
	e.mustUser("ed@example.com", "Ed", false)
	e.mustLogin("ed@example.com")
	// The window refills.
	e.clock.advance(DefaultLoginWindow)
	e.mustLogin("di@example.com")
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("taken@example.com", "T", false)
	tests := []struct {
		body   string
		status int
		fields []string
	}{
		{`{"email":"not-an-email","password":"longenough","name":"X"}`, 422, []string{"email"}},
		{`{"email":"X <x@example.com>","password":"longenough","name":"X"}`, 422, []string{"email"}},
		{`{"email":"x@example.com","password":"short","name":"X"}`, 422, []string{"password"}},
		{`{"email":"x@example.com","password":"` + strings.Repeat("p", 73) + `","name":"X"}`, 422, []string{"password"}},
		{`{"email":"x@example.com","password":"longenough","name":"  "}`, 422, []string{"name"}},
		{`{"email":"x@example.com","password":"longenough","name":"` + strings.Repeat("n", 81) + `"}`, 422, []string{"name"}},
		{`{"email":"","password":"","name":""}`, 422, []string{"email", "password", "name"}},
		{`{"email":"taken@example.com","password":"longenough","name":"X"}`, 409, nil},
	}
	for _, tt := range tests {
		r := e.do(req{method: "POST", path: "/api/v1/users", body: tt.body})
		code := domain.CodeInvalid
		if tt.status == 409 {
			code = domain.CodeConflict
		}
		m := r.wantProblem(t, tt.status, code)
		errs, _ := m["errors"].(map[string]any)
		for _, f := range tt.fields {
			if _, ok := errs[f]; !ok {
				t.Errorf("%s: errors lack %q: %s", tt.body, f, r.body)
			}
		}
	}
}

func TestSessionUserStates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.mustUser("fay@example.com", "Fay", false)
	tok := e.mustLogin("fay@example.com")

	// Suspended: may look, may not act.
	e.store.mu.Lock()
	u.Suspended = true
	e.store.users[u.ID] = u
	e.store.mu.Unlock()
	me := e.do(req{method: "GET", path: "/api/v1/me", cookie: tok}).wantStatus(t, http.StatusOK).json(t)
	if me["suspended"] != true {
		t.Errorf("me = %v, want suspended", me)
	}
	e.do(req{method: "POST", path: "/api/v1/auctions", cookie: tok, body: `{}`}).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)

	// A failing lookup is not a silent logout.
	e.store.mu.Lock()
	e.store.userByIDErr = &domain.Error{Code: domain.CodeUnavailable, Message: "Database busy."}
	e.store.mu.Unlock()
	e.do(req{method: "GET", path: "/api/v1/me", cookie: tok}).wantProblem(t, http.StatusServiceUnavailable, domain.CodeUnavailable)
	e.store.mu.Lock()
	e.store.userByIDErr = errors.New("connection reset")
	e.store.mu.Unlock()
	e.do(req{method: "GET", path: "/api/v1/me", cookie: tok}).wantProblem(t, http.StatusInternalServerError, domain.CodeInternal)

	// A deleted user's session is anonymous.
	e.store.mu.Lock()
	e.store.userByIDErr = nil
	delete(e.store.users, u.ID)
	e.store.mu.Unlock()
	e.do(req{method: "GET", path: "/api/v1/me", cookie: tok}).wantStatus(t, http.StatusUnauthorized)

	// A made-up token is anonymous.
	e.do(req{method: "GET", path: "/api/v1/me", cookie: "forged"}).wantStatus(t, http.StatusUnauthorized)
}

func TestCookieSecure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Deps) { c.CookieSecure = true })
	e.mustUser("gil@example.com", "Gil", false)
	r := e.do(req{method: "POST", path: "/api/v1/session", body: `{"email":"gil@example.com","password":"` + testPassword + `"}`})
	if ck, ok := r.sessionCookie(); !ok || !ck.Secure {
		t.Errorf("cookie = %+v, want Secure", ck)
	}
}
