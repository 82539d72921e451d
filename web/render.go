package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// assetFS holds the page templates and the static assets; both ship inside
// the binary, so a deployed node needs no files beside it.
//
//go:embed templates static
var assetFS embed.FS

// pageNames lists the page templates; each is parsed with the layout and
// the partials into its own set, so every page may define "content".
var pageNames = []string{"home", "auction", "mybids", "listings", "sell", "admin", "login", "register", "error", "photos",
	"sales", "sale", "saledash", "saleform", "saleimport", "lotform",
	"search", "watching", "categories", "admin_categories"}

// Cache lifetimes of static assets. A URL with the current ?v= content
// hash never changes, so it may be cached for a year; any other URL (an old
// version, or none) only briefly.
const (
	staticImmutable = "public, max-age=31536000, immutable"
	staticShort     = "public, max-age=300"
)

// staticTypes are the content types of the assets we ship; anything else
// is served as bytes.
var staticTypes = map[string]string{
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".txt":  "text/plain; charset=utf-8",
	".json": "application/json",
}

// asset is one static file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	version     string // first 12 hex digits of the content's SHA-256
}

// renderer renders pages and serves assets. It is built once from the
// embedded files and is read-only afterwards, so handlers share it freely.
type renderer struct {
	pages  map[string]*template.Template
	assets map[string]asset // by path below static/, e.g. "js/stream.js"
}

// newRenderer loads the assets and parses every page template.
func newRenderer() (*renderer, error) {
	r := &renderer{pages: map[string]*template.Template{}, assets: map[string]asset{}}
	err := fs.WalkDir(assetFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct, ok := staticTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		r.assets[strings.TrimPrefix(p, "static/")] = asset{body: body, contentType: ct, version: hex.EncodeToString(sum[:])[:12]}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load static assets: %w", err)
	}
	funcs := r.funcs()
	for _, name := range append(append(pageNames, notifyPageNames...), invoicePageNames...) {
		t, err := template.New(name).Funcs(funcs).ParseFS(assetFS,
			"templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// moneyArg is the argument of the "money" partial.
type moneyArg struct {
	Amount   int64
	Currency string
}

// funcs are the template functions. None returns template.HTML: every
// value, user text included, goes through html/template's escaping.
func (r *renderer) funcs() template.FuncMap {
	return template.FuncMap{
		"static": r.staticURL,
		"money":  domain.FormatMoney,
		"amount": func(v int64, currency string) moneyArg { return moneyArg{Amount: v, Currency: currency} },
		"exp":    currencyExponent,
		"exponents": func() string {
			codes := domain.CurrencyCodes()
			pairs := make([]string, len(codes))
			for i, code := range codes {
				pairs[i] = code + ":" + strconv.Itoa(currencyExponent(code))
			}
			return strings.Join(pairs, " ")
		},
		"rfc3339":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"utc":           func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
		"statusLabel":   statusLabel,
		"shownPrice":    shownPrice,
		"invoiceStatus": invoiceStatusLabel,
		"inc":           func(i int) int { return i + 1 },
		// cover builds the argument of the "coverImg" partial: a photo
		// (nil for none) and its alt text, the lot's title.
		"cover":           func(photo *domain.PhotoView, alt string) coverArg { return coverArg{Photo: photo, Alt: alt} },
		"saleStatusLabel": saleStatusLabel,
		"filterLabel":     filterLabel,
	}
}

// staticURL returns the versioned URL of an asset, so that a new release
// is fetched at once despite the long cache lifetime.
func (r *renderer) staticURL(name string) string {
	a, ok := r.assets[name]
	if !ok {
		return "/static/" + name
	}
	return "/static/" + name + "?v=" + a.version
}

func currencyExponent(code string) int {
	c, _ := domain.LookupCurrency(code)
	return c.Exponent
}

func statusLabel(s domain.Status) string {
	switch s {
	case domain.StatusOpen:
		return "Open"
	case domain.StatusScheduled:
		return "Scheduled"
	case domain.StatusClosed:
		return "Closed"
	case domain.StatusCancelled:
		return "Cancelled"
	}
	return string(s)
}

// page is what the layout needs, plus the page's own Data.
type page struct {
	Title      string
	User       *domain.User // nil: anonymous
	Flash      string
	Nav        string // the active navigation item; also data-page on <body>
	Stream     string // URL of the page's one EventSource; "" for none
	Script     string // the page's script below static/, if any
	ServerTime time.Time
	// VerifyNotice asks an unverified user to verify their address, with a
	// resend button; "" for everyone else (pages_notify.go).
	VerifyNotice string
	// Mail is set when email is wired: the navigation links to the
	// preferences (and, for admins, the mailbox).
	Mail bool
	// Invoices is set when invoicing is wired: the navigation links to
	// the invoices.
	Invoices bool
	Self     string // this page's path and query, to come back to after a form
	Data     any
	// HasSearch and HasWatchlist show their navigation links.
	HasSearch, HasWatchlist bool
}

// render executes the named page into a buffer and only then writes it, so
// a template error becomes a clean error page instead of half a page.
func (r *renderer) render(c *fiber.Ctx, status int, name string, p page) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("render: no page template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	// Pages are per viewer and show live state: never cache them.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).Send(buf.Bytes())
}

// handleStatic serves an embedded asset with its content type and cache
// headers. A request for the current version is cacheable for a year.
func (r *renderer) handleStatic(c *fiber.Ctx) error {
	name := c.Params("*")
	a, ok := r.assets[name]
	if !ok {
		return fiber.ErrNotFound
	}
	etag := `"` + a.version + `"`
	c.Set(fiber.HeaderETag, etag)
	if c.Query("v") == a.version {
		c.Set(fiber.HeaderCacheControl, staticImmutable)
	} else {
		c.Set(fiber.HeaderCacheControl, staticShort)
	}
	c.Set(fiber.HeaderContentType, a.contentType)
	if c.Get(fiber.HeaderIfNoneMatch) == etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	return c.Status(fiber.StatusOK).Send(a.body)
}
