package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

func TestErrorTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code       domain.Code
		status     int
		retryAfter string
	}{
		{domain.CodeInvalid, 422, ""},
		{domain.CodeNotFound, 404, ""},
		{domain.CodeConflict, 409, ""},
		{domain.CodeForbidden, 403, ""},
		{domain.CodeUnauthorized, 401, ""},
		{domain.CodeGone, 410, ""},
		{domain.CodeRateLimited, 429, "1"},
		{domain.CodeUnavailable, 503, "5"},
		{domain.CodeInternal, 500, ""},
		{codeMalformed, 400, ""},
		{codeTooLarge, 413, ""},
		{codeUnsupported, 415, ""},
	}
	if len(tests) != len(problems) {
		t.Fatalf("test covers %d codes, table has %d", len(tests), len(problems))
	}
	e := newEnv(t)
	e.srv.App().Get("/api/v1/test/:code", func(c *fiber.Ctx) error {
		return fmt.Errorf("wrapped: %w", &domain.Error{Code: domain.Code(c.Params("code")), Message: "Message for a person."})
	})
	for _, tt := range tests {
		r := e.do(req{method: "GET", path: "/api/v1/test/" + string(tt.code)})
		m := r.wantProblem(t, tt.status, tt.code)
		if m["type"] != "/problems/"+string(tt.code) {
			t.Errorf("%s: type = %v", tt.code, m["type"])
		}
		wantDetail := "Message for a person."
		if tt.code == domain.CodeInternal {
			wantDetail = genericInternalMessage
		}
		if m["detail"] != wantDetail {
			t.Errorf("%s: detail = %v, want %q", tt.code, m["detail"], wantDetail)
		}
		if got := r.header.Get("Retry-After"); got != tt.retryAfter {
			t.Errorf("%s: Retry-After = %q, want %q", tt.code, got, tt.retryAfter)
		}
	}
	// Only the internal error was logged as an error.
	if n := strings.Count(e.logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d errors logged, want 1:\n%s", n, e.logs)
	}
}

func TestProblemMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.App().Get("/api/v1/test", func(*fiber.Ctx) error {
		return &domain.Error{
			Code:    domain.CodeConflict,
			Message: "Your bid must be at least 12.00 EUR.",
			Fields:  map[string]string{"amount": "Must be at least 12.00 EUR."},
			Extra:   map[string]any{"min_next_bid": 1200, "status": "forged", "retry_after": 9},
		}
	})
	m := e.do(req{method: "GET", path: "/api/v1/test"}).wantProblem(t, 409, domain.CodeConflict)
	if m["min_next_bid"] != float64(1200) || m["retry_after"] != float64(9) {
		t.Errorf("extra members missing: %v", m)
	}
	if errs, _ := m["errors"].(map[string]any); errs["amount"] == nil {
		t.Errorf("errors = %v", m["errors"])
	}
	if m["title"] != "Conflict" {
		t.Errorf("title = %v", m["title"])
	}
}

func TestRetryAfterFromExtra(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.App().Get("/api/v1/test", func(*fiber.Ctx) error {
		return &domain.Error{Code: domain.CodeUnavailable, Message: "Full.", Extra: map[string]any{"retry_after": 2500 * time.Millisecond}}
	})
	r := e.do(req{method: "GET", path: "/api/v1/test"})
	r.wantProblem(t, 503, domain.CodeUnavailable)
	if got := r.header.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After = %q, want 3 (rounded up)", got)
	}
}

func TestInternalErrorsHideDetail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.App().Get("/api/v1/plain", func(*fiber.Ctx) error { return errors.New("pq: password authentication failed") })
	e.srv.App().Get("/api/v1/panic", func(*fiber.Ctx) error { panic("boom") })
	for _, path := range []string{"/api/v1/plain", "/api/v1/panic"} {
		r := e.do(req{method: "GET", path: path})
		m := r.wantProblem(t, 500, domain.CodeInternal)
		if strings.Contains(string(r.body), "pq:") || strings.Contains(string(r.body), "boom") || m["detail"] != genericInternalMessage {
			t.Errorf("%s leaks: %s", path, r.body)
		}
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "password authentication failed") || !strings.Contains(logs, "panic: boom") {
		t.Errorf("internal errors not logged:\n%s", logs)
	}
}

func TestFiberErrorsAndHTMLHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// API paths: problem+json even for Fiber's own errors.
	m := e.do(req{method: "GET", path: "/api/v1/nowhere/<script>"}).wantProblem(t, 404, domain.CodeNotFound)
	if strings.Contains(fmt.Sprint(m["detail"]), "script") {
		t.Errorf("404 echoes the path: %v", m["detail"])
	}
	m = e.do(req{method: "PUT", path: "/api/v1/me"}).wantProblem(t, 405, "method_not_allowed")
	if m["type"] != "about:blank" {
		t.Errorf("type = %v, want about:blank for a status outside the table", m["type"])
	}

	// Other paths without a hook: plain text.
	e.srv.htmlError = nil
	r := e.do(req{method: "GET", path: "/nowhere"}).wantStatus(t, 404)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q", ct)
	}

	// With the pages' hook.
	var gotStatus int
	var gotMsg string
	e.srv.htmlError = func(c *fiber.Ctx, status int, msg string) error {
		gotStatus, gotMsg = status, msg
		c.Set("Content-Type", "text/html; charset=utf-8")
		return c.Status(status).SendString("<p>" + msg + "</p>")
	}
	e.srv.App().Get("/gone", func(*fiber.Ctx) error { return domain.ErrAuctionClosed })
	r = e.do(req{method: "GET", path: "/gone"}).wantStatus(t, 410)
	if gotStatus != 410 || gotMsg != domain.ErrAuctionClosed.Message || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("hook got %d %q; response %v %s", gotStatus, gotMsg, r.header, r.body)
	}
	if r.header.Get("Content-Security-Policy") == "" {
		t.Error("error page lacks security headers")
	}
	e.do(req{method: "GET", path: "/nowhere"}).wantStatus(t, 404)
	if gotStatus != 404 {
		t.Errorf("hook status for unknown page = %d", gotStatus)
	}
}

func TestResolveUnknownCodes(t *testing.T) {
	t.Parallel()
	p := resolve(&domain.Error{Code: "teapot", Message: "secret internals"})
	if p.status != 500 || p.code != domain.CodeInternal || p.detail != genericInternalMessage {
		t.Errorf("resolve = %+v", p)
	}
	p = resolve(fiber.NewError(http.StatusRequestTimeout, "Request Timeout"))
	if p.status != 408 || p.code != "request_timeout" || p.known {
		t.Errorf("resolve = %+v", p)
	}
	p = resolve(fiber.ErrBadGateway)
	if p.status != 502 || p.detail != genericInternalMessage {
		t.Errorf("resolve = %+v", p)
	}
}
