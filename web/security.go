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

// securityHeaderValues are the headers every response carries, their
// names already in canonical form so that fasthttp stores them without
// normalising a copy per response (SetCanonical).
var securityHeaderValues = [...][2][]byte{
	{[]byte("Content-Security-Policy"), []byte(contentSecurityPolicy)},
	{[]byte("X-Content-Type-Options"), []byte("nosniff")},
	{[]byte("Referrer-Policy"), []byte("same-origin")},
	{[]byte("X-Frame-Options"), []byte("DENY")},
}

var (
	headerHSTS         = []byte("Strict-Transport-Security")
	valueHSTS          = []byte("max-age=63072000; includeSubDomains")
	headerCacheControl = []byte(fiber.HeaderCacheControl)
	valueNoStore       = []byte("no-store")
)

// setSecurityHeaders is shared with the error adapter, which also answers
// requests that never reached the middleware (an oversize body).
func setSecurityHeaders(c *fiber.Ctx, cfg Config) {
	h := &c.Response().Header
	for _, kv := range securityHeaderValues {
		h.SetCanonical(kv[0], kv[1])
	}
	if cfg.CookieSecure {
		// Secure cookies mean the site is served over TLS; keep browsers there.
		h.SetCanonical(headerHSTS, valueHSTS)
	}
	if strings.HasPrefix(c.Path(), "/api/") {
		// API answers are per-viewer and change with every bid.
		h.SetCanonical(headerCacheControl, valueNoStore)
	}
}
