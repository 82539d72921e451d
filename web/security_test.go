package web

import (
	"testing"
	"time"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"X-Frame-Options":         "DENY",
	}
	for _, r := range []req{
		{method: "GET", path: "/healthz"},
		{method: "GET", path: "/api/v1/auctions"},
		{method: "GET", path: "/api/v1/me"},
		{method: "GET", path: "/nowhere"},
		{method: "POST", path: "/api/v1/users", body: `{`},
	} {
		res := e.do(r)
		for k, v := range want {
			if got := res.header.Get(k); got != v {
				t.Errorf("%s %s: %s = %q, want %q", r.method, r.path, k, got, v)
			}
		}
		if res.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS without CookieSecure", r.path)
		}
	}
	if got := e.do(req{method: "GET", path: "/api/v1/auctions"}).header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("API Cache-Control = %q", got)
	}
	e = newEnv(t, func(c *Config, _ *Deps) { c.CookieSecure = true })
	if e.do(req{method: "GET", path: "/healthz"}).header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS with CookieSecure")
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: testNow}
	l := newLimiter(3, time.Minute, clock.now)
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d refused", i+1)
		}
	}
	ok, retry := l.allow("a")
	if ok || retry != 20*time.Second {
		t.Fatalf("4th = %v, retry %v; want refused, 20s (one token per 20s)", ok, retry)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("keys share a bucket")
	}
	clock.advance(20 * time.Second)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("no refill after 20s")
	}
	if ok, _ := l.allow("a"); ok {
		t.Fatal("refilled more than one token")
	}
	clock.advance(2 * time.Minute)
	l.allow("c") // triggers a sweep
	if _, ok := l.buckets["b"]; ok {
		t.Error("idle bucket not swept")
	}
	if ok, _ := l.allow("a"); !ok {
		t.Error("a swept key starts full")
	}
}
