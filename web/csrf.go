package web

import (
	"net/http"
	"net/url"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// errCrossSite is the answer to a cross-site state-changing request.
var errCrossSite = &domain.Error{Code: domain.CodeForbidden, Message: "Cross-site request refused."}

// crossOrigin refuses cross-site state-changing requests, using Go's
// http.CrossOriginProtection on a request synthesized from the four inputs
// its Check reads: method, Host, Sec-Fetch-Site and Origin. Browsers send
// Sec-Fetch-Site (or at least Origin) on every POST, so a form or fetch from
// another site is refused, while same-origin requests and non-browser
// clients (which send neither header) pass. Tokens are unnecessary: the
// browser itself tells us where the request came from. Host must be the
// host the browser used, so a proxy in front has to preserve it.
func (s *Server) crossOrigin(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	site, origin := c.Get("Sec-Fetch-Site"), c.Get(fiber.HeaderOrigin)
	if site == "" && origin == "" {
		// Not a browser (or a same-origin request from a very old one):
		// Check passes these, so skip building its request. Every API
		// client (and the storm's bidders) takes this path.
		return c.Next()
	}
	req := &http.Request{
		Method: c.Method(),
		Host:   string(c.Request().Host()),
		Header: http.Header{},
		// The path, for the bypass patterns (only the RFC 8058 unsubscribe).
		URL: &url.URL{Path: c.Path()},
	}
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	if origin != "" {
		req.Header.Set(fiber.HeaderOrigin, origin)
	}
	if err := s.csrf.Check(req); err != nil {
		return errCrossSite
	}
	return c.Next()
}
