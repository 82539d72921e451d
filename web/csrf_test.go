package web

import (
	"net/http"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

func TestCrossOriginMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("hal@example.com", "Hal", false)
	login := `{"email":"hal@example.com","password":"` + testPassword + `"}`
	tests := []struct {
		name   string
		method string
		header map[string]string
		want   int
	}{
		{"cross-site POST", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}, 403},
		{"same-site POST", "POST", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://sub.gavel.test"}, 403},
		{"same-origin POST", "POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://gavel.test"}, 200},
		{"user-typed (none)", "POST", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"no headers (curl)", "POST", nil, 200},
		{"old browser, Origin mismatch", "POST", map[string]string{"Origin": "https://evil.test"}, 403},
		{"old browser, Origin match", "POST", map[string]string{"Origin": "http://gavel.test"}, 200},
		{"cross-site DELETE", "DELETE", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"cross-site GET is safe", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, 401},
	}
	for _, tt := range tests {
		path, body := "/api/v1/session", login
		if tt.method == "GET" {
			path, body = "/api/v1/me", ""
		}
		r := e.do(req{method: tt.method, path: path, body: body, header: tt.header})
		if tt.method == "DELETE" && tt.want != 403 {
			tt.want = http.StatusNoContent
		}
		if r.status != tt.want {
			t.Errorf("%s: status %d, want %d (%s)", tt.name, r.status, tt.want, r.body)
		}
		if tt.want == 403 {
			if m := r.wantProblem(t, 403, domain.CodeForbidden); m["detail"] != errCrossSite.Message {
				t.Errorf("%s: detail %v", tt.name, m["detail"])
			}
		}
	}
}

func TestCrossOriginHTMLHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var got int
	e.srv.htmlError = func(c *fiber.Ctx, status int, msg string) error {
		got = status
		return c.Status(status).SendString("page: " + msg)
	}
	e.srv.App().Post("/auctions/new", func(c *fiber.Ctx) error { return c.SendString("ok") })
	r := e.do(req{method: "POST", path: "/auctions/new", contentType: "application/x-www-form-urlencoded",
		body: "title=x", header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	if r.status != 403 || got != 403 || string(r.body) != "page: Cross-site request refused." {
		t.Errorf("status %d, hook %d, body %q", r.status, got, r.body)
	}
}
