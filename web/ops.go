package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// readyTimeout bounds all readiness checks together, so a hung dependency
// makes /readyz answer 503 instead of hanging the orchestrator's probe.
const readyTimeout = 2 * time.Second

// maxCheckMessage keeps a failing check's message short in /readyz.
const maxCheckMessage = 200

// routeUnmatched labels requests that matched no route, so that scans of
// random URLs cannot create unbounded metric series.
const routeUnmatched = "unmatched"

// handleHealthz reports that the process is alive; it checks nothing else.
func (s *Server) handleHealthz(c *fiber.Ctx) error {
	return writeJSON(c, fiber.StatusOK, fiber.Map{"status": "ok"})
}

// handleReadyz runs every Deps.Checks concurrently and answers 200 only if
// all of them pass within readyTimeout. The public answer names what is
// down and nothing more: the details (hosts, users, driver errors) go to
// the log and to administrators (/api/v1/admin/health).
func (s *Server) handleReadyz(c *fiber.Ctx) error {
	passed, failed := s.runChecks(c.UserContext())
	s.readiness.log(s.log, failed, time.Now())
	if len(failed) > 0 {
		public := make(map[string]string, len(failed))
		for name := range failed {
			public[name] = "unavailable"
		}
		return writeJSON(c, fiber.StatusServiceUnavailable, fiber.Map{"status": "unavailable", "failed": public})
	}
	return writeJSON(c, fiber.StatusOK, fiber.Map{"status": "ok", "checks": passed})
}

// runChecks runs every Deps.Checks concurrently, within readyTimeout
// together, and returns the names that passed and the failures' messages.
func (s *Server) runChecks(ctx context.Context) (passed, failed map[string]string) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	// Buffered so that a check that ignores ctx and returns late does not
	// block its goroutine forever.
	results := make(chan result, len(s.deps.Checks))
	for name, check := range s.deps.Checks {
		go func() {
			results <- result{name, runCheck(ctx, check)}
		}()
	}
	failed = map[string]string{}
	passed = map[string]string{}
	pending := make(map[string]bool, len(s.deps.Checks))
	for name := range s.deps.Checks {
		pending[name] = true
	}
	for len(pending) > 0 {
		select {
		case r := <-results:
			delete(pending, r.name)
			if r.err != nil {
				failed[r.name] = truncate(r.err.Error(), maxCheckMessage)
			} else {
				passed[r.name] = "ok"
			}
		case <-ctx.Done():
			for name := range pending {
				failed[name] = "timed out after " + readyTimeout.String()
			}
			pending = nil
		}
	}
	return passed, failed
}

// runCheck runs one check, turning a panic into a failure.
func runCheck(ctx context.Context, check Checker) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("check panicked: %v", r)
		}
	}()
	return check(ctx)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// MetricsHandler serves reg's metrics at /metrics, for the node's own
// metrics listener (GAVEL_METRICS_ADDR): the site itself does not serve
// them, so a proxy in front cannot expose them by accident.
func MetricsHandler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError),
	}))
	return mux
}

// httpMetrics are the request counters and latency histogram.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) (*httpMetrics, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gavel_http_requests_total",
		Help: "HTTP requests by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gavel_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern and method (stream routes excluded).",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "method"})
	m := &httpMetrics{}
	var err error
	if m.requests, err = register(reg, requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or reuses the collector already registered under
// its name (two servers sharing one registry).
func register[C prometheus.Collector](reg *prometheus.Registry, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register metrics: %w", err)
	}
	return c, nil
}

// observe runs the rest of the chain, hands any error to the one adapter
// (so the status it records is the final one), and records the request.
// It labels by route pattern, never the raw URL, to bound cardinality.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	route := c.Route().Path
	if err != nil {
		var fe *fiber.Error
		if errors.As(err, &fe) && (fe.Code == fiber.StatusNotFound || fe.Code == fiber.StatusMethodNotAllowed) {
			route = routeUnmatched
		}
		if herr := s.handleError(c, err); herr != nil {
			s.log.Error("write error response", slog.Any("err", herr))
			c.Status(fiber.StatusInternalServerError)
		}
	}
	method := metricMethod(c.Method())
	route = strings.Clone(route)
	s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(c.Response().StatusCode())).Inc()
	// A stream's "duration" is its whole life; it says nothing about latency.
	if !strings.HasPrefix(route, "/stream/") {
		s.metrics.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	}
	return nil
}

// metricMethod copies the method (Fiber may reuse its bytes) and folds
// non-standard methods into one label value.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return strings.Clone(m)
	}
	return "OTHER"
}
