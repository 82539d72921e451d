package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"github.com/gavel-auctions/gavel/internal/sessionstore"
	"github.com/gavel-auctions/gavel/invoicing"
	"github.com/gavel-auctions/gavel/media"
	"github.com/gavel-auctions/gavel/realtime"
	"github.com/gavel-auctions/gavel/web"
)

// node is one running gavel process: its pools, background jobs and HTTP
// server. Tests start several in one process.
type node struct {
	cfg  config.Config
	log  *slog.Logger
	up   *startup // what the node still waits for (wire_startup.go)
	boot *web.Server
	mux  *handoff
	db   *gorm.DB
	ns   *server.Server // embedded NATS, when NATS_URL is empty
	nc   *nats.Conn
	svc  *bidding.Service
	inv  *invoicing.Service
	hub  *realtime.Hub
	srv  *web.Server
	ln   net.Listener
	edge edge               // wire_edge.go
	stop context.CancelFunc // ends relay, scheduler, hub and store jobs
	jobs sync.WaitGroup
	// media serves photos on API nodes (wire_media.go).
	media *media.Service
}

// nodeOption adjusts what config.Config does not cover, for benchmarks
// and tests.
type nodeOption func(*web.Config)

// startNode binds cfg.Addr, opens everything cfg names, waits for the
// database and NATS (retrying; meanwhile the probes answer and every other
// request gets a 503), then starts the jobs and serves. It returns once
// the node is ready, or with the first error waiting cannot cure.
func startNode(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...nodeOption) (*node, error) {
	n := &node{cfg: cfg, log: log}
	tuneGC(cfg.Role, log)
	started := false
	defer func() {
		if !started {
			n.close()
		}
	}()
	// The port first: a busy one is the commonest start-up error, and it
	// needs no dependency to report.
	if err := n.listen(); err != nil {
		return nil, err
	}
	db, err := openDatabaseLazy(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	n.db = db
	natsDesc := "embedded (in-process, JetStream in " + filepath.Join(cfg.DataDir, "nats") + ")"
	if cfg.NATSURL == "" {
		n.ns, err = natsserver.Start(natsserver.Options{StoreDir: filepath.Join(cfg.DataDir, "nats")})
		if err != nil {
			return nil, err
		}
	} else {
		natsDesc = config.MaskNATSURLs(cfg.NATSURL)
	}
	n.nc, err = natsserver.Connect(cfg.NATSURL, n.ns, "gavel-"+cfg.NodeName, log)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(n.nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return nil, err
	}
	log.Info("using", "database", database.Describe(cfg.DatabaseURL, cfg.DataDir), "nats", natsDesc, "role", cfg.Role, "node", cfg.NodeName)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.startMetrics(reg)
	if err := n.awaitDependencies(ctx, js, reg); err != nil {
		return nil, err
	}

	jobCtx, stop := context.WithCancel(context.Background())
	n.stop = stop
	// Every request reads its session and user; a second of caching takes
	// those reads off the database under load. The price: a logout or
	// suspension on another node takes up to that long to show here (bids
	// re-check suspension in their own transaction).
	n.svc = bidding.New(n.db, bidding.Options{Logger: log, UserCacheTTL: time.Second, RequireVerifiedEmail: cfg.Mail.VerificationRequired(),
		DefaultFees: n.defaultFees, BatchTimeout: cfg.DependencyTimeout, HashConcurrency: cfg.Edge.HashConcurrency})
	n.newInvoicing()

	store := sessionstore.New(n.db, sessionstore.WithLogger(log), sessionstore.WithReadCache(time.Second, 100_000))
	n.run(func() { store.RunCleanup(jobCtx, 5*time.Minute) })
	sessions := scs.New()
	sessions.Store = store
	sessions.Lifetime = 7 * 24 * time.Hour

	deps := web.Deps{
		Accounts: n.svc, Bidder: n.svc, Reader: n.svc, Bidders: n.svc, Sessions: sessions, Registry: reg, Logger: log,
		SessionEnder: natsSessionEnder{n.nc}, Watchers: natsWatchers{n.nc},
		Checks: n.checks(),
	}
	wireSales(&deps, n.svc)
	if cfg.Role.ServesAPI() {
		n.startInvoicing(jobCtx, &deps)
		if err := n.startNotify(ctx, js, jobCtx, &deps); err != nil {
			return nil, err
		}
		relay := bidding.NewRelay(n.svc, js, bidding.RelayOptions{Name: relayName(cfg.NodeName), DBTimeout: cfg.DependencyTimeout, YieldToBids: relayYield(cfg.RelayYield)})
		n.run(func() { _ = relay.Run(jobCtx) })
		n.run(func() { _ = n.svc.RunScheduler(jobCtx) })
		if deps.Photos, err = startMedia(ctx, n, js, jobCtx); err != nil {
			return nil, err
		}
	}
	if cfg.Role.ServesStreams() {
		n.hub, err = realtime.New(realtime.Config{Node: cfg.NodeName, Heartbeat: cfg.Heartbeat}, n.nc, n.svc, log, reg)
		if err != nil {
			return nil, err
		}
		n.run(func() { _ = n.hub.Run(jobCtx) })
		deps.Streams = n.hub
	}
	n.wireDiscovery(&deps, jobCtx)
	demo := cfg.Role.ServesAPI() && demoEnabled(ctx, cfg, n.svc)
	wcfg := web.Config{Role: web.Role(cfg.Role), CookieSecure: cfg.CookieSecure, DependencyTimeout: cfg.DependencyTimeout}
	edgeWebConfig(cfg, &wcfg)
	if demo {
		wcfg.DemoAccounts = demoAccounts
	}
	for _, o := range opts {
		o(&wcfg)
	}
	n.srv, err = web.New(wcfg, deps)
	if err != nil {
		return nil, err
	}
	if demo {
		if err := startDemo(ctx, n, jobCtx); err != nil {
			return nil, err
		}
	}
	n.serve()
	started = true
	return n, nil
}

func (n *node) run(fn func()) {
	n.jobs.Add(1)
	go func() { defer n.jobs.Done(); fn() }()
}

// URL is where the node serves, for people and tests.
func (n *node) URL() string {
	addr := n.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost"
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(addr.Port)))
}

// shutdown stops accepting connections, ends streams so clients reconnect
// elsewhere, lets requests and queued bids finish, publishes what they
// committed, and closes the pools.
func (n *node) shutdown(ctx context.Context) error {
	var errs []error
	if n.hub != nil {
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		errs = append(errs, n.hub.Shutdown(hctx))
		cancel()
	}
	if n.srv != nil {
		errs = append(errs, n.srv.App().ShutdownWithContext(ctx))
	}
	if n.svc != nil {
		errs = append(errs, n.svc.Close(ctx))
	}
	if n.stop != nil && n.cfg.Role.ServesAPI() && n.nc != nil {
		// One last relay round so events committed by the drained requests
		// leave now rather than when another node picks them up.
		if js, err := jetstream.New(n.nc); err == nil {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, _ = bidding.NewRelay(n.svc, js, bidding.RelayOptions{}).Once(rctx)
			cancel()
		}
	}
	n.close()
	return errors.Join(errs...)
}

// close releases everything without waiting for work in flight.
func (n *node) close() {
	if n.stop != nil {
		n.stop()
		n.jobs.Wait()
	}
	if n.boot != nil {
		_ = n.boot.App().ShutdownWithTimeout(time.Second)
	}
	if n.srv != nil {
		// Closes the listener too; a no-op after shutdown's.
		_ = n.srv.App().ShutdownWithTimeout(time.Second)
	}
	if n.ln != nil {
		_ = n.ln.Close()
	}
	n.closeEdge()
	if n.nc != nil {
		_ = n.nc.Drain()
	}
	if n.ns != nil {
		n.ns.Shutdown()
		n.ns.WaitForShutdown()
	}
	if n.db != nil {
		_ = database.Close(n.db)
	}
}

func openDatabase(ctx context.Context, cfg config.Config, log *slog.Logger) (*gorm.DB, error) {
	db, d, err := database.Open(ctx, cfg.DatabaseURL, cfg.DataDir, database.WithLogger(log))
	if err != nil {
		return nil, err
	}
	if err := database.Migrate(ctx, db, d); err != nil {
		_ = database.Close(db)
		return nil, err
	}
	return db, nil
}
