package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/netguard"
	"github.com/gavel-auctions/gavel/web"
)

// edge is what a node runs at its edge: the guarded listener, and the
// metrics server apart from the site.
type edge struct {
	guard   *netguard.Listener
	metrics *http.Server
	// served receives why the HTTP server stopped serving; serve exits on
	// it, so a node that cannot serve never stays up deaf.
	served chan error
}

// streamDeferAccept is how long the kernel of a node that serves streams
// holds a new connection that has not sent its request yet
// (netguard.DeferAccept): in a burst of stream connections, one waiting
// for its request costs the node nothing until it speaks (#18). Every
// HTTP client speaks first; a silent connection past the caps gets its
// canned 429/503 once it speaks, or once this passes. api nodes take no
// streams and accept at once.
const streamDeferAccept = 5 * time.Second

// guard wraps the site's listener in the node's connection caps and its
// EMFILE-proof Accept (internal/netguard).
func (n *node) guard(ln net.Listener) net.Listener {
	if n.cfg.Role.ServesStreams() && netguard.DeferAccept(ln, streamDeferAccept) {
		n.log.Info("connections are accepted once they have sent data", "up_to", streamDeferAccept)
	}
	maxConns := n.cfg.Edge.MaxConns
	if maxConns == 0 {
		maxConns = config.AutoMaxConns(fileLimit())
	}
	n.edge.guard = netguard.Wrap(ln, netguard.Options{MaxConns: maxConns, MaxConnsPerIP: n.cfg.Edge.ConnsPerIP(), Logger: n.log})
	n.log.Info("connection caps", "max_conns", maxConns, "max_conns_per_ip", n.cfg.Edge.ConnsPerIP())
	return n.edge.guard
}

// fileLimit is the process's open-file limit (Go raises the soft limit to
// the hard one at start-up).
func fileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur == 0 {
		return 1024
	}
	return r.Cur
}

// served reports why the site's HTTP server stopped serving: serve exits
// on it (serve.go), so that a node that cannot serve is restarted rather
// than staying up and deaf.
func (n *node) served(err error) {
	if err == nil {
		err = errors.New("the listener closed")
	}
	select {
	case n.edge.served <- fmt.Errorf("http server stopped: %w", err):
	default:
	}
}

// edgeMetrics counts the listener's connections and refusals.
func (n *node) edgeMetrics(reg *prometheus.Registry) {
	stats := func(f func(netguard.Stats) int64) func() float64 {
		return func() float64 {
			if n.edge.guard == nil {
				return 0
			}
			return float64(f(n.edge.guard.Stats()))
		}
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gavel_conns_open", Help: "Open HTTP connections, streams included."},
			stats(func(s netguard.Stats) int64 { return s.Open })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gavel_conns_refused_node_total", Help: "Connections refused at the node's cap (GAVEL_MAX_CONNS)."},
			stats(func(s netguard.Stats) int64 { return s.RefusedNode })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gavel_conns_refused_ip_total", Help: "Connections refused at the per-IP cap (GAVEL_MAX_CONNS_PER_IP)."},
			stats(func(s netguard.Stats) int64 { return s.RefusedIP })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gavel_accept_errors_total", Help: "Accept errors retried, such as running out of file descriptors."},
			stats(func(s netguard.Stats) int64 { return s.AcceptErrors })),
	)
}

// startMetrics serves /metrics on GAVEL_METRICS_ADDR. Metrics are not worth
// refusing to run auctions over: a busy port is logged and the node goes
// on without them.
func (n *node) startMetrics(reg *prometheus.Registry) {
	n.edgeMetrics(reg)
	addr := n.cfg.Edge.MetricsAddr
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		n.log.Error("metrics are not served: set GAVEL_METRICS_ADDR to a free host:port, or off", "addr", addr, "err", err)
		return
	}
	var h http.Handler = web.MetricsHandler(reg, n.log)
	if n.cfg.Edge.Pprof {
		h = withPprof(h)
	}
	n.edge.metrics = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		if err := n.edge.metrics.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("metrics server stopped", "err", err)
		}
	}()
	n.log.Info("metrics", "url", "http://"+ln.Addr().String()+"/metrics")
}

// withPprof adds Go's profiles under /debug/pprof/ to the metrics handler
// (GAVEL_PPROF=on): how `gavel bench sse --profile` sees where a node's
// CPU goes. A CPU profile must end within the server's WriteTimeout.
func withPprof(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// closeEdge stops the metrics server.
func (n *node) closeEdge() {
	if n.edge.metrics != nil {
		_ = n.edge.metrics.Close()
	}
}

// edgeWebConfig passes the edge settings the web layer needs.
func edgeWebConfig(cfg config.Config, w *web.Config) {
	w.TrustedProxies = cfg.Edge.Proxies()
}
