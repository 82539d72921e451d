package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *Config, d *Deps) {
		d.Checks = map[string]Checker{"database": func(context.Context) error { return errors.New("down") }}
	})
	r := e.do(req{method: "GET", path: "/healthz"}).wantStatus(t, 200)
	if string(r.body) != `{"status":"ok"}` {
		t.Errorf("healthz = %s", r.body)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) error { return nil }
	e := newEnv(t, func(_ *Config, d *Deps) { d.Checks = map[string]Checker{"database": ok, "nats": ok} })
	m := e.do(req{method: "GET", path: "/readyz"}).wantStatus(t, 200).json(t)
	if m["status"] != "ok" {
		t.Errorf("readyz = %v", m)
	}

	e = newEnv(t, func(_ *Config, d *Deps) {
		d.Checks = map[string]Checker{
			"database": ok,
			"nats":     func(context.Context) error { return errors.New("nats: no servers available") },
			"hung": func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			},
			"panics": func(context.Context) error { panic("oops") },
		}
	})
	start := time.Now()
	r := e.do(req{method: "GET", path: "/readyz"}).wantStatus(t, http.StatusServiceUnavailable)
	if d := time.Since(start); d > readyTimeout+time.Second {
		t.Errorf("readyz took %v", d)
	}
	m = r.json(t)
	failed, _ := m["failed"].(map[string]any)
	if m["status"] != "unavailable" || failed["nats"] != "unavailable" || failed["hung"] != "unavailable" || failed["panics"] != "unavailable" || failed["database"] != nil {
		t.Errorf("readyz = %s", r.body)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do(req{method: "GET", path: "/api/v1/auctions/12345"})
	e.do(req{method: "GET", path: "/api/v1/auctions/67890"})
	e.do(req{method: "GET", path: "/no/such/page/9"})
	body := e.metrics()
	for _, want := range []string{
		`gavel_http_requests_total{method="GET",route="/api/v1/auctions/:id",status="404"} 2`,
		`gavel_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`gavel_http_request_duration_seconds_count{method="GET",route="/api/v1/auctions/:id"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, leak := range []string{"12345", "/no/such"} {
		if strings.Contains(body, leak) {
			t.Errorf("metrics contain the raw URL %q", leak)
		}
	}
}

func TestMetricsSkipStreamDuration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do(req{method: "GET", path: "/stream/me"}).wantStatus(t, 401)
	body := e.metrics()
	if !strings.Contains(body, `gavel_http_requests_total{method="GET",route="/stream/me",status="401"} 1`) {
		t.Errorf("stream request not counted:\n%s", body)
	}
	if strings.Contains(body, `gavel_http_request_duration_seconds_count{method="GET",route="/stream/me"}`) {
		t.Error("stream duration recorded")
	}
}

// metrics scrapes the registry as the metrics listener serves it.
func (e *testEnv) metrics() string {
	e.t.Helper()
	rec := httptest.NewRecorder()
	MetricsHandler(e.reg, slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		e.t.Fatalf("GET /metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// The site does not serve metrics: a proxy in front would publish them.
func TestMetricsNotOnTheSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.mustUser("root@example.com", "Root", true)
	tok := e.mustLogin(admin.Email)
	for _, cookie := range []string{"", tok} {
		r := e.do(req{method: "GET", path: "/metrics", cookie: cookie})
		if r.status != 404 || strings.Contains(string(r.body), "gavel_http_requests_total") {
			t.Errorf("GET /metrics on the site: %d %.80s", r.status, r.body)
		}
	}
}
