package web

import (
	"strings"

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
