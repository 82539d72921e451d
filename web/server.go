// Package web serves every HTTP route of Gavel with Fiber: the JSON API,
// the server-rendered pages and their assets, and the SSE stream routes
// (whose connections it hands to a Streams implementation).
package web

import (
	"log/slog"
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

// Config holds the web layer's settings.
type Config struct {
	Role         Role
	CookieSecure bool
	BodyLimit    int           // bytes; default 64 KiB
	LoginLimit   int           // login attempts per window per client; default 10
	LoginWindow  time.Duration // default 1 minute
	BidLimit     int           // bids per window per user; default 20
	BidWindow    time.Duration // default 1 second
	// Now is the server clock (UTC); tests may replace it.
	Now func() time.Time
}

// Deps are the implementations the web layer consumes; cmd/gavel wires them.
type Deps struct {
	Accounts Accounts
	Bidder   Bidder
	Reader   AuctionReader
	Streams  Streams
	Sessions *scs.SessionManager
	Checks   map[string]Checker // for /readyz, e.g. "database", "nats"
	Registry *prometheus.Registry
	Logger   *slog.Logger
}

// Server is Gavel's HTTP front: one Fiber app.
type Server struct {
	cfg  Config
	deps Deps
	app  *fiber.App
}

// App returns the Fiber app, for Listen, Shutdown and app.Test.
func (s *Server) App() *fiber.App { return s.app }
