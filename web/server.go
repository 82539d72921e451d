// Package web serves every HTTP route of Gavel with Fiber: the JSON API,
// the server-rendered pages and their assets, and the SSE stream routes
// (whose connections it hands to a Streams implementation).
package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Role selects which routes a node serves.
type Role string

// Node roles.
const (
	RoleAll      Role = "all"
	RoleAPI      Role = "api"
	RoleRealtime Role = "realtime"
)

// Config holds the web layer's settings. Zero fields take the defaults
// noted beside them.
type Config struct {
	Role         Role // default RoleAll
	CookieSecure bool
	BodyLimit    int // bytes; default 64 KiB (every route but uploads)
	// UploadLimit caps the body of any upload route (uploadRoute); default
	// DefaultUploadLimit. MaxUploads bounds the upload bodies read at once;
	// default DefaultMaxUploads.
	UploadLimit int
	MaxUploads  int
	// LoginLimit is the failed logins one client IP may have on one
	// account within LoginWindow (default 10 in 15 minutes);
	// LoginAccountLimit the failed logins of one account from anywhere
	// within LoginAccountWindow (default 100 an hour), the ceiling on
	// guessing from many addresses; LoginIPLimit the login attempts of one
	// client IP within LoginIPWindow (default 30 a minute), whatever the
	// accounts.
	LoginLimit         int
	LoginWindow        time.Duration
	LoginAccountLimit  int
	LoginAccountWindow time.Duration
	LoginIPLimit       int
	LoginIPWindow      time.Duration
	// RegisterLimit is the registrations of one client IP within
	// RegisterWindow; default 20 an hour.
	RegisterLimit  int
	RegisterWindow time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client (clientip.go). Empty: every request is from its peer.
	TrustedProxies []netip.Prefix
	BidLimit       int           // bids per window per user; default 20
	BidWindow      time.Duration // default 1 second
	// DependencyTimeout bounds how long one request waits on the database
	// or another dependency before it answers 503; default 5s.
	DependencyTimeout time.Duration
	// StreamSetups bounds the stream set-ups in flight on this node
	// (session and user reads up to a live stream); default 256.
	StreamSetups int
	// Now is the server clock (UTC); tests may replace it.
	Now func() time.Time
	// DemoAccounts are listed on the login page (the demo is running).
	DemoAccounts []DemoAccount
}

// Defaults for zero Config fields and fixed server timeouts.
const (
	DefaultBodyLimit          = 64 << 10
	DefaultLoginLimit         = 10
	DefaultLoginWindow        = 15 * time.Minute
	DefaultLoginAccountLimit  = 100
	DefaultLoginAccountWindow = time.Hour
	DefaultLoginIPLimit       = 30
	DefaultLoginIPWindow      = time.Minute
	DefaultRegisterLimit      = 20
	DefaultRegisterWindow     = time.Hour
	DefaultBidLimit           = 20
	DefaultBidWindow          = time.Second

	// readTimeout bounds reading one request (head and body), so a slow
	// client cannot hold a worker; streams are hijacked after the request
	// is read, so it never cuts them.
	readTimeout = 15 * time.Second
	// readTimeoutMessage is the 408's detail: the read timeout, in words.
	readTimeoutMessage = "The request's body did not arrive within 15 seconds, so the server stopped waiting and changed nothing. Send the request again in one piece."
	// idleTimeout closes keep-alive connections that stay quiet.
	idleTimeout = 2 * time.Minute
)

func (c Config) withDefaults() Config {
	if c.Role == "" {
		c.Role = RoleAll
	}
	if c.BodyLimit <= 0 {
		c.BodyLimit = DefaultBodyLimit
	}
	if c.UploadLimit <= 0 {
		c.UploadLimit = DefaultUploadLimit
	}
	if c.MaxUploads <= 0 {
		c.MaxUploads = DefaultMaxUploads
	}
	if c.LoginLimit <= 0 {
		c.LoginLimit = DefaultLoginLimit
	}
	if c.LoginWindow <= 0 {
		c.LoginWindow = DefaultLoginWindow
	}
	if c.LoginAccountLimit <= 0 {
		c.LoginAccountLimit = DefaultLoginAccountLimit
	}
	if c.LoginAccountWindow <= 0 {
		c.LoginAccountWindow = DefaultLoginAccountWindow
	}
	if c.LoginIPLimit <= 0 {
		c.LoginIPLimit = DefaultLoginIPLimit
	}
	if c.LoginIPWindow <= 0 {
		c.LoginIPWindow = DefaultLoginIPWindow
	}
	if c.RegisterLimit <= 0 {
		c.RegisterLimit = DefaultRegisterLimit
	}
	if c.RegisterWindow <= 0 {
		c.RegisterWindow = DefaultRegisterWindow
	}
	if c.BidLimit <= 0 {
		c.BidLimit = DefaultBidLimit
	}
	if c.BidWindow <= 0 {
		c.BidWindow = DefaultBidWindow
	}
	if c.DependencyTimeout <= 0 {
		c.DependencyTimeout = DefaultDependencyTimeout
	}
	if c.StreamSetups <= 0 {
		c.StreamSetups = DefaultStreamSetups
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Deps are the implementations the web layer consumes; cmd/gavel wires them.
type Deps struct {
	Accounts Accounts
	Bidder   Bidder
	Reader   AuctionReader
	Streams  Streams
	Photos   Photos // optional: nil serves no photos
	Sessions *scs.SessionManager
	Checks   map[string]Checker // for /readyz, e.g. "database", "nats"
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// Optional capabilities (deps_<thing>.go): nil leaves their routes out.
	Notices    Notices
	Reinstater Reinstater
	Invoicing  Invoicing
	Bidders    Bidders
	Sales      SaleService
	// SessionEnder closes a logged-out session's streams on every node.
	SessionEnder SessionEnder
	// Watchers counts who has a seller's auctions open (deps_watchers.go).
	Watchers   Watchers
	Categories Categories // categories: tree, browse, admin edits
	Search     Searcher   // /search and GET /api/v1/search
	Watchlist  Watchlist  // watch buttons, /me/watching, watcher counts
	SaleLeads  SaleLeads  // a sale card's cover (deps_catalogue.go)
}

// check reports the dependencies role needs but deps lacks.
func (d Deps) check(role Role) error {
	var errs []error
	need := func(ok bool, name string) {
		if !ok {
			errs = append(errs, fmt.Errorf("web: role %q needs Deps.%s", role, name))
		}
	}
	need(d.Sessions != nil, "Sessions")
	need(d.Accounts != nil, "Accounts")
	switch role {
	case RoleAPI, RoleAll:
		need(d.Bidder != nil, "Bidder")
		need(d.Reader != nil, "Reader")
	case RoleRealtime:
		need(d.Streams != nil, "Streams")
	default:
		errs = append(errs, fmt.Errorf("web: unknown role %q", role))
	}
	return errors.Join(errs...)
}

// Server is Gavel's HTTP front: one Fiber app.
type Server struct {
	cfg  Config
	deps Deps
	app  *fiber.App

	log     *slog.Logger
	now     func() time.Time // cfg.Now in UTC
	csrf    *http.CrossOriginProtection
	metrics *httpMetrics
	// loginLimit is keyed by account (email) and client IP,
	// loginAccountLimit by account, loginIPLimit and registerLimit by
	// client IP (limits.go), bidLimit and photoLimit (uploads, API and
	// forms alike) by user id.
	photoLimit        *limiter
	loginLimit        *limiter
	loginAccountLimit *limiter
	loginIPLimit      *limiter
	registerLimit     *limiter
	guestLimit        *limiter // guest sessions started per client address (guest.go)
	bidLimit          *limiter
	mailLimit         *limiter // per IP, verification and reset requests (api_notify.go)
	pages             *pages   // set by routesPages
	// uploads are the routes whose bodies may exceed cfg.BodyLimit, and
	// uploadSlots bounds how many of those bodies are read at once.
	uploads     []uploadRule
	uploadSlots chan struct{}
	uploadWait  time.Duration
	// htmlError renders error pages for non-API paths; the pages code sets
	// it in routesPages. Nil means plain text.
	htmlError htmlErrorRenderer
	refusals  refusalLog
	readiness readyLog

	// setups holds one token per stream set-up in flight (streamgate.go);
	// nil when this node serves no streams.
	setups    chan struct{}
	setupWait time.Duration // streamSetupWait; tests shorten it
}

// idleWorkerDuration is how long fasthttp keeps an idle worker goroutine
// (and its stack) for the next connection; see New.
const idleWorkerDuration = time.Second

// New builds the server for cfg.Role: RoleAPI serves the API, the pages and
// the ops routes; RoleRealtime the streams and the ops routes; RoleAll
// everything (the streams only when deps.Streams is set). It sets the
// session cookie attributes on deps.Sessions.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := deps.check(cfg.Role); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	metrics, err := newHTTPMetrics(deps.Registry)
	if err != nil {
		return nil, err
	}
	clock := cfg.Now
	s := &Server{
		cfg:               cfg,
		deps:              deps,
		log:               deps.Logger,
		now:               func() time.Time { return clock().UTC() },
		csrf:              http.NewCrossOriginProtection(),
		metrics:           metrics,
		loginLimit:        newLimiter(cfg.LoginLimit, cfg.LoginWindow, clock),
		loginAccountLimit: newLimiter(cfg.LoginAccountLimit, cfg.LoginAccountWindow, clock),
		loginIPLimit:      newLimiter(cfg.LoginIPLimit, cfg.LoginIPWindow, clock),
		registerLimit:     newLimiter(cfg.RegisterLimit, cfg.RegisterWindow, clock),
		guestLimit:        newLimiter(guestSessionLimit, guestSessionWindow, clock),
		bidLimit:          newLimiter(cfg.BidLimit, cfg.BidWindow, clock),
		photoLimit:        newLimiter(photoRateLimit, photoRateWindow, clock),

		uploadSlots: make(chan struct{}, cfg.MaxUploads),
		uploadWait:  defaultUploadWait,
	}
	configureSessions(deps.Sessions, cfg, s.log)
	if (cfg.Role == RoleRealtime || cfg.Role == RoleAll) && deps.Streams != nil {
		s.setups, s.setupWait = make(chan struct{}, cfg.StreamSetups), streamSetupWait
	}

	s.app = fiber.New(fiber.Config{
		// Fiber's zero-allocation strings alias buffers that are reused by
		// the next request; anything kept past the handler (metric labels,
		// values passed to services) would change under us.
		Immutable: true,
		// Bodies stream: bodyGuard bounds each by its route's limit
		// (body.go), so BodyLimit only sizes fasthttp's first read.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    cfg.BodyLimit,
		ErrorHandler:                 s.handleError,
		ReadTimeout:                  readTimeout,
		IdleTimeout:                  idleTimeout,
		WriteTimeout:                 0, // a write deadline would cut streams; they set their own per write
		DisableStartupMessage:        true,
	})
	s.app.Server().HeaderReceived = holdAmbiguousBodies
	// Stream connections are hijacked and owned by Streams, which closes
	// them itself when the stream ends.
	s.app.Server().KeepHijackedConns = true
	// fasthttp keeps a goroutine per connection it served, with the stack
	// that request grew, for MaxIdleWorkerDuration (10s by default). After
	// a burst of stream set-ups that is thousands of 8-16 KiB stacks; retired
	// sooner, they are gone before the hub gives free memory back
	// (realtime/memreturn.go, 3s after set-ups go quiet). Starting a
	// goroutine for a later connection costs about a microsecond.
	s.app.Server().MaxIdleWorkerDuration = idleWorkerDuration

	// Order: headers first so every answer has them; observe then sees the
	// final status of everything inside it (it runs the error adapter);
	// bodies are bounded before anything can read them; cross-site
	// requests are refused before the session store is read; stream
	// set-ups take their slot before it too. The dependency bound starts
	// once a set-up has its slot: in a reconnect storm thousands wait at
	// the gate (up to streamSetupWait), and a bound that counted that
	// wait would time their session reads out once they got a slot.
	s.app.Use(s.securityHeaders, s.observe, s.bodyGuard, s.recoverPanics, s.crossOrigin, s.gateStreamSetups, s.bounded, s.sessions)

	s.routesOps()
	if cfg.Role == RoleAPI || cfg.Role == RoleAll {
		s.routesAPI()
		s.routesSalesAPI()
		s.routesHealth()
		s.routesPages()
		s.routesNotify()
		s.routesInvoicing()
		s.routesPhotos()
		s.routesHistory()
		s.routesWatchers()
		s.routesDiscovery()
	}
	if (cfg.Role == RoleRealtime || cfg.Role == RoleAll) && deps.Streams != nil {
		s.routesStreams()
	}
	return s, nil
}

// App returns the Fiber app, for Listen, Shutdown and app.Test.
func (s *Server) App() *fiber.App { return s.app }

// routesOps registers the probes every node serves. Metrics have a
// listener of their own (MetricsHandler).
func (s *Server) routesOps() {
	s.app.Get("/healthz", s.handleHealthz)
	s.app.Get("/readyz", s.handleReadyz)
}

// routesAPI registers the JSON API; docs/API.md documents it.
func (s *Server) routesAPI() {
	api := s.app.Group("/api/v1")

	api.Post("/users", s.handleUserCreate)
	api.Post("/session", s.handleSessionCreate)
	api.Delete("/session", s.handleSessionDelete)
	api.Get("/me", s.handleMe)

	api.Post("/auctions", s.handleAuctionCreate)
	api.Get("/auctions", s.handleAuctionList)
	api.Get("/auctions/:id", s.handleAuctionGet)
	api.Patch("/auctions/:id", s.handleAuctionUpdate)
	api.Post("/auctions/:id/cancel", s.handleAuctionCancel)

	api.Post("/auctions/:id/bids", s.handleBidCreate)
	api.Get("/auctions/:id/bids", s.handleBidList)
	api.Post("/auctions/:id/buy-now", s.handleBuyNow)
	api.Post("/auctions/:id/bids/:bid/cancel", s.handleBidCancel)

	api.Post("/admin/users/:id/suspend", s.handleUserSuspend)
	api.Get("/admin/users", s.handleUserList)
	api.Get("/admin/audit", s.handleAuditList)
}

// routesStreams registers the SSE routes, whose connections go to Streams.
func (s *Server) routesStreams() {
	s.app.Get("/stream/auctions/:id", s.handleAuctionStream)
	s.app.Get("/stream/auctions", s.handleAuctionsStream)
	s.app.Get("/stream/me", s.handleMeStream)
	s.app.Get("/stream/admin", s.handleAdminStream)
	s.routesSaleStreams()
	s.routesMux()
}
