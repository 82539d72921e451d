package web

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// How request bodies are bounded.
//
// The server runs with fasthttp's StreamRequestBody: fasthttp reads at
// most 8 KiB of a body before the handler chain runs, and bodyGuard, the
// first middleware that looks at a request, decides what happens to the
// rest. An ordinary route's body (at most Config.BodyLimit) is read there,
// through a bounded reader, and kept as the request's raw body, so every
// later reader (readBody, c.FormValue) sees those bytes and nothing more.
// An upload route (registered with uploadRoute, with its own larger limit)
// is left streaming: its handler checks who is asking first and then calls
// readBody, which reads the stream through the same kind of bounded reader.
// Whatever the route, no body makes the server hold more than the route's
// limit, and no body is ever decompressed.
//
// Never read a body with c.Body() (it inflates up to three layers of
// gzip/deflate/br with no bound), c.BodyParser, c.FormFile or
// c.MultipartForm; TestNoUnboundedBodyReads enforces this.

// Body limits and upload defaults.
const (
	// DefaultUploadLimit bounds an upload route's body unless the route
	// asks for less: a 16 MiB photo.
	DefaultUploadLimit = 16 << 20
	// DefaultMaxUploads is how many upload bodies a node reads at once;
	// the rest wait up to defaultUploadWait, then get 503.
	DefaultMaxUploads = 8
	defaultUploadWait = 5 * time.Second
	// uploadReadTimeout replaces the server's read timeout while an upload
	// body is read: 16 MiB takes over two minutes at 1 Mbit/s.
	uploadReadTimeout = 5 * time.Minute
	// localsUpload holds the *uploadBody of a request on an upload route.
	localsUpload = "gavel.upload"
	// maxDrain is how much of a refused body the server reads and throws
	// away so that it can answer and keep the connection, as net/http
	// does; past it the connection is closed instead, and a client still
	// sending may see a reset rather than the answer.
	maxDrain = 256 << 10
)

// uploadRule is one upload route: a method and a path pattern whose ":x"
// segments match any one segment.
type uploadRule struct {
	method string
	segs   []string
	limit  int
}

// uploadRoute registers handlers on method and path as an upload route
// whose body may be up to limit bytes (DefaultUploadLimit when limit <= 0,
// never above Config.UploadLimit). Its handler must authorize the request
// before it reads the body, and read it only with readBody(c, limit).
func (s *Server) uploadRoute(method, path string, limit int, handlers ...fiber.Handler) fiber.Router {
	if limit <= 0 || limit > s.cfg.UploadLimit {
		limit = s.cfg.UploadLimit
	}
	s.uploads = append(s.uploads, uploadRule{method: method, segs: splitPath(path), limit: limit})
	return s.app.Add(method, path, handlers...)
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

// uploadLimit returns the limit of the upload route method and path match,
// if any.
func (s *Server) uploadLimit(method, path string) (int, bool) {
	if len(s.uploads) == 0 {
		return 0, false
	}
	segs := splitPath(path)
rules:
	for _, r := range s.uploads {
		if r.method != method || len(r.segs) != len(segs) {
			continue
		}
		for i, seg := range r.segs {
			if !strings.HasPrefix(seg, ":") && seg != segs[i] {
				continue rules
			}
		}
		return r.limit, true
	}
	return 0, false
}

// uploadBody is the state of a streaming upload body.
type uploadBody struct {
	limit    int
	wait     time.Duration
	slots    chan struct{}
	acquired bool
	consumed bool
}

// bodyGuard refuses ambiguous framing and compressed bodies, and bounds
// every body by its route's limit (see the comment at the top of this
// file). A refusal that leaves body bytes unread closes the connection, so
// they cannot be read as the next request.
func (s *Server) bodyGuard(c *fiber.Ctx) error {
	if err := checkFraming(c); err != nil {
		c.Response().Header.SetConnectionClose()
		return err
	}
	h := &c.Request().Header
	length := h.ContentLength() // -1 chunked, -2 none
	hasBody := length > 0 || length == -1
	if enc := strings.TrimSpace(string(h.Peek(fiber.HeaderContentEncoding))); enc != "" && !strings.EqualFold(enc, "identity") {
		if hasBody {
			c.Response().Header.SetConnectionClose()
		}
		return domain.Errorf(codeUnsupported, "Send the body uncompressed: Content-Encoding %q is not accepted.", truncate(enc, 40))
	}
	if !hasBody {
		return c.Next()
	}
	limit, upload := s.uploadLimit(c.Method(), c.Path())
	if !upload {
		limit = s.cfg.BodyLimit
	}
	if length > limit {
		if length > limit+maxDrain || !drain(c) {
			c.Response().Header.SetConnectionClose()
		}
		return tooLarge(length, limit)
	}
	if upload {
		u := &uploadBody{limit: limit, wait: s.uploadWait, slots: s.uploadSlots}
		c.Locals(localsUpload, u)
		defer func() {
			if u.acquired {
				<-u.slots
			}
			if !u.consumed && !drain(c) {
				c.Response().Header.SetConnectionClose()
			}
		}()
		return c.Next()
	}
	if _, err := readStream(c, limit); err != nil {
		if domain.ErrorCode(err) != codeTooLarge || !drain(c) {
			c.Response().Header.SetConnectionClose()
		}
		return err
	}
	return c.Next()
}

// drain reads and discards what is left of the request body, up to
// maxDrain bytes, and reports whether the body ended within them: then the
// connection is clean for the next request.
func drain(c *fiber.Ctx) bool {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return true
	}
	n, err := io.Copy(io.Discard, io.LimitReader(stream, maxDrain+1))
	return err == nil && n <= maxDrain
}

// checkFraming refuses a request whose body length is ambiguous: two
// Content-Length headers (fasthttp would take the last one, a proxy might
// take the first), Content-Length with Transfer-Encoding, or a
// Transfer-Encoding other than chunked. These are how request smuggling
// starts.
func checkFraming(c *fiber.Ctx) error {
	return framingProblem(c.Request().Header.RawHeaders())
}

// holdAmbiguousBodies is fasthttp's HeaderReceived hook. fasthttp reads up
// to 8 KiB of a body (as long as its last Content-Length says) before any
// handler runs; for a request whose framing checkFraming will refuse, it
// lets fasthttp read one byte instead, so that the 400 comes at once
// rather than after a wait for a body that, by the other reading of the
// headers, is not coming.
func holdAmbiguousBodies(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if framingProblem(h.RawHeaders()) != nil {
		return fasthttp.RequestConfig{MaxRequestBodySize: 1}
	}
	return fasthttp.RequestConfig{}
}

// asciiLowerEqual reports whether b lower-cased (ASCII letters only, as
// strings.ToLower leaves these names) is lower.
func asciiLowerEqual(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// framingProblem reads raw request headers for checkFraming.
func framingProblem(raw []byte) error {
	var lengths, encodings int
	var te string
	for len(raw) > 0 {
		var line []byte
		line, raw, _ = bytes.Cut(raw, []byte("\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		// No lower-cased copy of every header name: this runs twice per
		// request, and each copy was garbage.
		switch name = bytes.TrimSpace(name); {
		case asciiLowerEqual(name, "content-length"):
			lengths++
		case asciiLowerEqual(name, "transfer-encoding"):
			encodings++
			te = strings.ToLower(string(bytes.TrimSpace(value)))
		}
	}
	switch {
	case lengths > 1:
		return domain.Errorf(codeMalformed, "The request has %d Content-Length headers; send exactly one.", lengths)
	case encodings > 0 && lengths > 0:
		return domain.Errorf(codeMalformed, "The request has both Content-Length and Transfer-Encoding; send one of them.")
	case encodings > 1 || (encodings == 1 && te != "chunked"):
		return domain.Errorf(codeMalformed, "Transfer-Encoding %q is not supported; send a Content-Length or use chunked alone.", truncate(te, 40))
	}
	return nil
}

func tooLarge(n, limit int) error {
	if n < 0 {
		return domain.Errorf(codeTooLarge, "The request body is over the %d bytes this endpoint accepts.", limit)
	}
	return domain.Errorf(codeTooLarge, "The request body is %d bytes; this endpoint accepts at most %d.", n, limit)
}

// readStream reads the rest of the request body through a reader bounded
// at limit+1 bytes and keeps it as the raw body, so later readers see only
// those bytes. Without a stream (the body is already in memory) it checks
// the length of what is there.
func readStream(c *fiber.Ctx, limit int) ([]byte, error) {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		body := c.BodyRaw()
		if len(body) > limit {
			return nil, tooLarge(len(body), limit)
		}
		return body, nil
	}
	var buf bytes.Buffer
	if n := c.Request().Header.ContentLength(); n > 0 {
		buf.Grow(n)
	}
	_, err := buf.ReadFrom(io.LimitReader(stream, int64(limit)+1))
	if err != nil {
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, domain.Errorf(codeMalformed, "The request body arrived too slowly; send it again.")
		}
		return nil, domain.Errorf(codeMalformed, "The request body could not be read: it ended early or its chunked encoding is broken.")
	}
	if buf.Len() > limit {
		return nil, tooLarge(-1, limit)
	}
	body := buf.Bytes()
	c.Request().SetBodyRaw(body)
	return body, nil
}

// readBody returns the request body, at most limit bytes (413 past it).
// Every handler reads bodies through it. On an upload route it reads the
// stream bodyGuard left open, after taking one of the node's upload slots
// (503 when none frees up in time); elsewhere bodyGuard has already read
// the body and refused compressed ones.
func readBody(c *fiber.Ctx, limit int) ([]byte, error) {
	u, _ := c.Locals(localsUpload).(*uploadBody)
	if u == nil || u.consumed {
		body := c.BodyRaw()
		if len(body) > limit {
			return nil, tooLarge(len(body), limit)
		}
		return body, nil
	}
	limit = min(limit, u.limit)
	if !u.acquired {
		t := time.NewTimer(u.wait)
		select {
		case u.slots <- struct{}{}:
			u.acquired = true
			t.Stop()
		case <-t.C:
			return nil, &domain.Error{Code: domain.CodeUnavailable,
				Message: "Too many uploads are in progress; try again in a few seconds.",
				Extra:   map[string]any{retryAfterExtra: 5}}
		}
	}
	if conn := c.Context().Conn(); conn != nil {
		_ = conn.SetReadDeadline(time.Now().Add(uploadReadTimeout))
	}
	body, err := readStream(c, limit)
	if err != nil {
		return nil, err
	}
	u.consumed = true
	return body, nil
}
