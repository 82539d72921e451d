package web

import (
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// contentSecurityPolicy allows only same-origin scripts, styles and
// connections: the pages need no inline script, and the streams and API are
// same-origin.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// securityHeaders sets the security headers on every response that passes
// through the middleware chain.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	setSecurityHeaders(c, s.cfg)
	return c.Next()
}

// setSecurityHeaders is shared with the error adapter, which also answers
// requests that never reached the middleware (an oversize body).
func setSecurityHeaders(c *fiber.Ctx, cfg Config) {
	h := &c.Response().Header
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if cfg.CookieSecure {
		// Secure cookies mean the site is served over TLS; keep browsers there.
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	if strings.HasPrefix(c.Path(), "/api/") {
		// API answers are per-viewer and change with every bid.
		h.Set("Cache-Control", "no-store")
	}
}

// maxLimiterKeys bounds a limiter's memory. When it is full of live buckets,
// new keys are refused until a sweep frees room: refusing is the safe side
// for a login limiter that someone is trying to flood with fresh keys.
const maxLimiterKeys = 100_000

// limiter is a token bucket per key: a key may spend limit requests at once,
// and its tokens refill evenly over window. The buckets live in this process
// only, so each node limits on its own and a client spread over N nodes gets
// up to N times the limit; that is acceptable for slowing password guessing
// and bid floods, which is all these limits are for.
type limiter struct {
	limit  float64
	window time.Duration
	now    func() time.Time

	// mu guards buckets and lastSweep; each call holds it for O(1) work,
	// plus an O(n) sweep at most once per window.
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newLimiter(limit int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{limit: float64(limit), window: window, now: now, buckets: map[string]*bucket{}, lastSweep: now()}
}

// allow spends one token of key. When none is left it reports how long
// until one is.
func (l *limiter) allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= l.window {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxLimiterKeys {
			return false, l.window
		}
		b = &bucket{tokens: l.limit, at: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = min(l.limit, b.tokens+l.limit*elapsed.Seconds()/l.window.Seconds())
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.limit * float64(l.window))
}

// sweep drops buckets untouched for a whole window: they have refilled, so
// forgetting them changes nothing.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.at) >= l.window {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}
