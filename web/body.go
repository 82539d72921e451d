package web

import (
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// readBody returns the request body as it arrived on the wire, refusing a
// Content-Encoding other than identity (415) and a body over limit bytes
// (413). Every handler reads bodies through it, never through c.Body():
// Fiber's Body undoes up to three layers of gzip, deflate or br with no
// bound, so ten kilobytes on the wire can become gigabytes in memory.
//
// limit is the route's own bound; the server's BodyLimit must be at least
// the largest of them (uploads), so this is where small routes stay small.
func readBody(c *fiber.Ctx, limit int) ([]byte, error) {
	if enc := strings.TrimSpace(c.Get(fiber.HeaderContentEncoding)); enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, domain.Errorf(codeUnsupported, "Send the body uncompressed: Content-Encoding %q is not accepted.", truncate(enc, 40))
	}
	body := c.BodyRaw()
	if len(body) > limit {
		return nil, domain.Errorf(codeTooLarge, "The request body is %d bytes; this endpoint accepts at most %d.", len(body), limit)
	}
	return body, nil
}
