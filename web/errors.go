package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Transport-level codes: failures of the request itself that no domain code
// describes. They live in the same table as the domain codes so that one
// place decides every status.
const (
	codeMalformed   domain.Code = "malformed"            // 400: not parseable
	codeTooLarge                = domain.CodeTooLarge    // 413
	codeUnsupported             = domain.CodeUnsupported // 415
)

// problemKind is how one code is presented over HTTP.
type problemKind struct {
	status int
	title  string
}

// problems is THE table from error code to HTTP status. Nothing else in
// Gavel decides a status for an error.
var problems = map[domain.Code]problemKind{
	domain.CodeInvalid:      {http.StatusUnprocessableEntity, "Invalid input"},
	domain.CodeNotFound:     {http.StatusNotFound, "Not found"},
	domain.CodeConflict:     {http.StatusConflict, "Conflict"},
	domain.CodeForbidden:    {http.StatusForbidden, "Forbidden"},
	domain.CodeUnauthorized: {http.StatusUnauthorized, "Unauthorized"},
	domain.CodeGone:         {http.StatusGone, "Gone"},
	domain.CodeRateLimited:  {http.StatusTooManyRequests, "Too many requests"},
	domain.CodeUnavailable:  {http.StatusServiceUnavailable, "Service unavailable"},
	domain.CodeInternal:     {http.StatusInternalServerError, "Internal error"},
	codeMalformed:           {http.StatusBadRequest, "Malformed request"},
	codeTooLarge:            {http.StatusRequestEntityTooLarge, "Request body too large"},
	codeUnsupported:         {http.StatusUnsupportedMediaType, "Unsupported media type"},
}

// codeByStatus inverts problems, to give Fiber's own errors (unknown route,
// oversize body) a code. Every status in the table is distinct.
var codeByStatus = func() map[int]domain.Code {
	m := make(map[int]domain.Code, len(problems))
	for code, k := range problems {
		m[k.status] = code
	}
	return m
}()

// Default Retry-After values when the error does not carry "retry_after".
const (
	defaultRetryRateLimited  = 1 * time.Second
	defaultRetryUnavailable  = 5 * time.Second
	genericInternalMessage   = "An internal error occurred. Please try again."
	problemContentType       = "application/problem+json"
	retryAfterExtra          = "retry_after"
	problemTypePrefix        = "/problems/"
	maxFiberMessageInProblem = 200
)

// reservedProblemMembers may not be overwritten by an error's Extra.
var reservedProblemMembers = map[string]bool{
	"type": true, "title": true, "status": true, "detail": true,
	"code": true, "errors": true, "instance": true,
}

// htmlErrorRenderer renders an error page for a non-API request. The pages
// code sets Server.htmlError; without it errors are plain text.
type htmlErrorRenderer func(c *fiber.Ctx, status int, message string) error

// problem is an error resolved for the wire.
type problem struct {
	code       domain.Code
	status     int
	title      string
	known      bool // code is in the table: type is /problems/<code>
	detail     string
	fields     map[string]string
	extra      map[string]any
	retryAfter time.Duration
}

// resolve classifies err: a *domain.Error keeps its code and message, a
// *fiber.Error gets the code of its status, anything else is internal.
func resolve(err error) problem {
	var de *domain.Error
	var fe *fiber.Error
	p := problem{code: domain.CodeInternal, detail: genericInternalMessage}
	if timedOut(err) {
		err = errTimedOut
	}
	switch {
	case errors.As(err, &de):
		// A code missing from the table is a bug: treat it as internal.
		if _, ok := problems[de.Code]; ok && de.Code != domain.CodeInternal {
			p.code, p.detail, p.fields, p.extra = de.Code, de.Message, de.Fields, de.Extra
		}
	case errors.As(err, &fe):
		p.status = fe.Code
		if code, ok := codeByStatus[fe.Code]; ok {
			p.code = code
		} else {
			p.code = domain.Code(strings.ReplaceAll(strings.ToLower(http.StatusText(fe.Code)), " ", "_"))
		}
		p.detail = fe.Message
		switch {
		case fe.Code == http.StatusNotFound:
			// Fiber's message echoes the path; say less.
			p.detail = "No such page or resource."
		case fe.Code == http.StatusRequestHeaderFieldsTooLarge:
			// The request line and headers overflow the server's read
			// buffer (4 KB): most often a very long search in the address.
			p.detail = "The address or headers of this request are too long for the server (about 4 KB in all): shorten the search text or the filters."
		case fe.Code == http.StatusRequestTimeout:
			p.detail = readTimeoutMessage
		case fe.Code >= 500:
			p.detail = genericInternalMessage
		case len(p.detail) > maxFiberMessageInProblem:
			p.detail = p.detail[:maxFiberMessageInProblem]
		}
	}
	if k, ok := problems[p.code]; ok {
		p.known, p.title = true, k.title
		if p.status == 0 {
			p.status = k.status
		}
	}
	if p.status == 0 {
		p.status = http.StatusInternalServerError
	}
	if p.title == "" {
		p.title = http.StatusText(p.status)
	}
	switch p.status {
	case http.StatusTooManyRequests:
		p.retryAfter = retryAfterOf(p.extra, defaultRetryRateLimited)
	case http.StatusServiceUnavailable:
		p.retryAfter = retryAfterOf(p.extra, defaultRetryUnavailable)
	}
	return p
}

// retryAfterOf reads Extra["retry_after"] (seconds as a number, or a
// time.Duration) and falls back to def.
func retryAfterOf(extra map[string]any, def time.Duration) time.Duration {
	switch v := extra[retryAfterExtra].(type) {
	case time.Duration:
		return v
	case int:
		return time.Duration(v) * time.Second
	case int64:
		return time.Duration(v) * time.Second
	case float64:
		return time.Duration(v * float64(time.Second))
	}
	return def
}

// retryAfterSeconds rounds d up to whole seconds, at least 1, as
// Retry-After requires.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// rateLimited builds the rate_limited error a limiter returns.
func rateLimited(message string, retry time.Duration) *domain.Error {
	return &domain.Error{
		Code:    domain.CodeRateLimited,
		Message: message,
		Extra:   map[string]any{retryAfterExtra: retryAfterSeconds(retry)},
	}
}

// handleError is the one adapter from a handler's error to a response: it is
// Fiber's ErrorHandler and is also called by the observe middleware. API and
// stream paths get problem+json, other paths the pages' HTML error hook.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	p := resolve(err)
	switch {
	case p.code == domain.CodeInternal || (p.status >= 500 && p.code != domain.CodeUnavailable):
		s.log.Error("request failed",
			slog.String("method", c.Method()),
			slog.String("path", c.Path()),
			slog.String("route", c.Route().Path),
			slog.Int("status", p.status),
			slog.Any("err", err))
	case p.code == domain.CodeUnavailable:
		// Expected under load or during a dependency outage: not a bug.
		s.refusals.log(s.log, c.Route().Path, err)
	}
	// Errors raised outside the middleware chain (oversize body) skip the
	// security middleware, so set the headers here as well.
	setSecurityHeaders(c, s.cfg)
	if p.retryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.FormatInt(retryAfterSeconds(p.retryAfter), 10))
	}
	if p.code == domain.CodeUnavailable && strings.HasPrefix(c.Path(), "/stream/") && c.Method() == fiber.MethodGet {
		return writeStreamRetry(c, p)
	}
	// A 408 comes only from fasthttp giving up on a request's body, and it
	// clears the request first, so the path is gone. Who stalls mid-body
	// for 15 s is nearly always a script on the API, not a browser posting
	// a small form: answer the API's way.
	if !wantsProblemJSON(c.Path()) && p.status != http.StatusRequestTimeout {
		if s.htmlError != nil {
			return s.htmlError(c, p.status, p.detail)
		}
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(p.status).SendString(p.detail)
	}
	return writeProblem(c, p)
}

// wantsProblemJSON reports whether path is served as JSON: the API and the
// streams (an EventSource sees only the status, a script can read the body).
func wantsProblemJSON(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/api" || strings.HasPrefix(path, "/stream/")
}

// writeProblem writes p as an RFC 9457 problem document.
func writeProblem(c *fiber.Ctx, p problem) error {
	b, ok := appendProblem(nil, p)
	if !ok {
		b = marshalProblem(p)
	}
	c.Set(fiber.HeaderContentType, problemContentType)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(p.status).Send(b)
}

// marshalProblem is the problem document through json.Marshal of a map:
// what appendProblem's output must equal, and its fallback.
func marshalProblem(p problem) []byte {
	body := make(map[string]any, 6+len(p.extra))
	for k, v := range p.extra {
		if !reservedProblemMembers[k] {
			body[k] = v
		}
	}
	body["type"] = "about:blank"
	if p.known {
		body["type"] = problemTypePrefix + string(p.code)
	}
	body["title"] = p.title
	body["status"] = p.status
	body["detail"] = p.detail
	body["code"] = p.code
	if len(p.fields) > 0 {
		body["errors"] = p.fields
	}
	b, err := json.Marshal(body)
	if err != nil {
		// An Extra member that cannot be encoded: drop the extras rather
		// than fail the error response itself.
		b = fmt.Appendf(nil, `{"type":"about:blank","title":%q,"status":%d,"detail":%q,"code":%q}`,
			p.title, p.status, p.detail, p.code)
	}
	return b
}

// recoverPanics turns a panic in a later handler into an internal error with
// its stack, so the one adapter answers 500 and logs it.
func (s *Server) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return c.Next()
}
