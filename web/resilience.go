package web

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gavel-auctions/gavel/domain"
)

// DefaultDependencyTimeout bounds how long a request waits for the
// database and the other dependencies before it answers 503.
const DefaultDependencyTimeout = 5 * time.Second

// errStarting answers every request but the probes while the node starts.
var errStarting = &domain.Error{
	Code:    domain.CodeUnavailable,
	Message: "Gavel is starting up; nothing was lost. Please try again in a few seconds.",
	Extra:   map[string]any{retryAfterExtra: 2},
}

// errTimedOut answers a request that ran out of its time bound with an
// error no store translated.
var errTimedOut = &domain.Error{
	Code:    domain.CodeUnavailable,
	Message: "The server took too long to answer; nothing was lost. Please try again in a few seconds.",
	Extra:   map[string]any{retryAfterExtra: 2},
}

// NewStarting builds the server a node runs while it waits for its
// database and NATS: the probes (/readyz runs checks, which say what is
// still missing) and the metrics, and a 503 with Retry-After for every
// other route (streams: a retry), so an orchestrator and a browser both
// know to come back. The node then shuts it down and serves its real
// server on the same listener.
func NewStarting(cfg Config, checks map[string]Checker, log *slog.Logger, reg *prometheus.Registry) (*Server, error) {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	metrics, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: Deps{Checks: checks, Logger: log, Registry: reg}, log: log,
		now: func() time.Time { return cfg.Now().UTC() }, metrics: metrics}
	s.app = fiber.New(fiber.Config{
		Immutable:             true,
		ErrorHandler:          s.handleError,
		ReadTimeout:           readTimeout,
		IdleTimeout:           idleTimeout,
		DisableStartupMessage: true,
	})
	s.app.Use(s.securityHeaders, s.observe, s.recoverPanics)
	s.routesOps()
	s.app.Use(func(*fiber.Ctx) error { return errStarting })
	return s, nil
}

// bounded gives every request a deadline of Config.DependencyTimeout, so
// no request waits longer than that on a database or a queue that is
// down, paused or overloaded: what it was waiting for fails, and the
// client gets a 503 it can retry. A stream's deadline covers only its set-up
// (its session and user); the stream itself is served past the handler.
func (s *Server) bounded(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.DependencyTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// timedOut reports an error caused by a request's deadline that no store
// translated into a domain error.
func timedOut(err error) bool {
	if _, ok := errors.AsType[*domain.Error](err); ok {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// writeStreamRetry answers a stream that cannot be set up now (a
// dependency is down, the node is full or restarting). EventSource gives
// up for good after any answer but 200 text/event-stream, so this is a
// 200 stream holding only a retry delay, with jitter so that the clients of
// a node that failed do not come back all at once, and a comment saying
// why; then the connection closes and the browser reconnects by itself.
func writeStreamRetry(c *fiber.Ctx, p problem) error {
	base := p.retryAfter
	if base <= 0 {
		base = defaultRetryUnavailable
	}
	retry := base/2 + rand.N(base)
	var b strings.Builder
	b.WriteString("retry: ")
	b.WriteString(strconv.FormatInt(retry.Milliseconds(), 10))
	b.WriteString("\n: ")
	// A comment is one line; a message never holds a line break, but make
	// sure of it.
	b.WriteString(strings.NewReplacer("\r", " ", "\n", " ").Replace(p.detail))
	b.WriteString("\n\n")
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderRetryAfter, strconv.FormatInt(retryAfterSeconds(retry), 10))
	c.Context().SetConnectionClose()
	return c.Status(fiber.StatusOK).SendString(b.String())
}

// refusalLogEvery spaces the log lines about requests refused with 503: in
// an outage every request is refused, and one line a second per node says
// as much as thousands.
const refusalLogEvery = time.Second

// refusalLog logs 503 refusals at most once per refusalLogEvery, with how
// many it left out.
type refusalLog struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

func (r *refusalLog) log(log *slog.Logger, route string, err error) {
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.last) < refusalLogEvery {
		r.skipped++
		r.mu.Unlock()
		return
	}
	skipped := r.skipped
	r.last, r.skipped = now, 0
	r.mu.Unlock()
	log.Warn("request refused", slog.String("route", route), slog.Any("err", err), slog.Int("also_refused", skipped))
}

// readyLogEvery spaces the "not ready" lines while nothing changes: probes
// come every second or faster (orchestrators, load balancers, the fault
// suite), and an outage needs a line every few seconds, not one per probe.
const readyLogEvery = 5 * time.Second

// readyLog logs readiness failures when what fails changes, and otherwise
// at most once per readyLogEvery; and once when the node is ready again.
type readyLog struct {
	mu      sync.Mutex
	failing string // the failing checks' names, "" when ready
	last    time.Time
	skipped int
}

func (r *readyLog) log(log *slog.Logger, failed map[string]string, now time.Time) {
	names := strings.Join(slices.Sorted(maps.Keys(failed)), ",")
	r.mu.Lock()
	was, skipped := r.failing, r.skipped
	if names == was && (names == "" || now.Sub(r.last) < readyLogEvery) {
		r.skipped++
		r.mu.Unlock()
		return
	}
	r.failing, r.last, r.skipped = names, now, 0
	r.mu.Unlock()
	if names == "" {
		log.Info("ready again", slog.String("was_failing", was))
		return
	}
	log.Warn("not ready", slog.Any("failed", failed), slog.Int("probes_not_logged", skipped))
}
