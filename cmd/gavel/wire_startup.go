package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/internal/config"

	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"github.com/gavel-auctions/gavel/internal/outage"
	"github.com/gavel-auctions/gavel/web"
)

// Start-up retries: a dependency that is not there yet (PostgreSQL still
// starting, a NATS cluster still forming) is tried again with backoff, and
// the wait is logged every startupLogEvery, so a node started before its
// dependencies serves its probes meanwhile and becomes ready by itself.
const (
	startupMinBackoff = 200 * time.Millisecond
	startupMaxBackoff = 2 * time.Second
	startupLogEvery   = 5 * time.Second
)

// startup tracks what a node still waits for. /readyz reports each
// dependency as failing until its start-up step is done, and the web
// layer refuses requests until every step is.
type startup struct {
	mu      sync.Mutex
	pending map[string]error // dependency → why it is not ready yet
	ready   bool
}

func newStartup(deps ...string) *startup {
	u := &startup{pending: map[string]error{}}
	for _, d := range deps {
		u.pending[d] = errors.New("starting")
	}
	return u
}

// check reports why dependency is not ready yet, nil once it is.
func (u *startup) check(dependency string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.pending[dependency]
}

func (u *startup) set(dependency string, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err == nil {
		delete(u.pending, dependency)
	} else {
		u.pending[dependency] = err
	}
}

// isReady reports whether the node serves its real routes.
func (u *startup) isReady() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.ready
}

func (u *startup) done() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ready = true
}

// errFatal marks a start-up error that waiting cannot cure (a wrong
// password, a broken migration): the node exits with it.
type errFatal struct{ err error }

func (e errFatal) Error() string { return e.err.Error() }
func (e errFatal) Unwrap() error { return e.err }

// await runs attempt until it succeeds, fails fatally, or ctx ends,
// backing off between tries and logging the wait every startupLogEvery.
func (u *startup) await(ctx context.Context, log *slog.Logger, dependency string, attempt func(context.Context) error) error {
	start := time.Now()
	backoff := startupMinBackoff
	var lastLog time.Time
	for tries := 1; ; tries++ {
		err := attempt(ctx)
		if err == nil {
			u.set(dependency, nil)
			if tries > 1 {
				log.Info("dependency ready", "dependency", dependency, "after", time.Since(start).Round(time.Millisecond), "tries", tries)
			}
			return nil
		}
		if fe, ok := errors.AsType[errFatal](err); ok {
			return fmt.Errorf("%s: %w", dependency, fe.err)
		}
		u.set(dependency, err)
		if time.Since(lastLog) >= startupLogEvery {
			lastLog = time.Now()
			log.Warn("waiting for a dependency", "dependency", dependency, "waited", time.Since(start).Round(time.Second), "tries", tries, "err", err)
		}
		// Jitter, so nodes started together do not retry in step.
		wait := backoff/2 + rand.N(backoff)
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped while waiting for the %s: %w", dependency, ctx.Err())
		case <-time.After(wait):
		}
		backoff = min(2*backoff, startupMaxBackoff)
	}
}

// awaitDatabase waits until PostgreSQL answers, then migrates it. A
// failure that is not the database being unreachable (a wrong password, a
// database that does not exist, a failing migration) ends start-up.
func (n *node) awaitDatabase(ctx context.Context) error {
	bound := n.cfg.DependencyTimeout
	return n.up.await(ctx, n.log, outage.Database, func(ctx context.Context) error {
		if err := database.PingTimeout(ctx, n.db, bound); err != nil {
			if outage.IsDB(err) {
				return err
			}
			return errFatal{err}
		}
		if err := database.Migrate(ctx, n.db, dialectOf(n.cfg)); err != nil {
			if outage.IsDB(err) {
				return err
			}
			return errFatal{err}
		}
		return nil
	})
}

// awaitNATS waits until NATS answers and, on API nodes, until the event
// stream exists with the configured replicas (a JetStream cluster that is
// still forming refuses it for a while).
func (n *node) awaitNATS(ctx context.Context, js jetstream.JetStream) error {
	bound := n.cfg.DependencyTimeout
	return n.up.await(ctx, n.log, outage.NATS, func(ctx context.Context) error {
		if s := n.nc.Status(); s != nats.CONNECTED {
			return fmt.Errorf("nats is %s", s)
		}
		if !n.cfg.Role.ServesAPI() {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, bound)
		defer cancel()
		_, err := natsserver.EnsureStream(ctx, js, n.cfg.NATSReplicas)
		return err
	})
}

// checks are /readyz's: each dependency fails while its start-up step is
// pending, and afterwards whenever it does not answer.
func (n *node) checks() map[string]web.Checker {
	return map[string]web.Checker{
		// Past its database and NATS, a node still wires its capabilities
		// (the photo bucket, the relay, the notifier) while the start-up
		// server answers 503 to everything else: until the real server
		// has the listener, the node is not ready, or a load balancer
		// (and the photo bench did) sends traffic to those 503s.
		"startup": func(context.Context) error {
			if !n.up.isReady() {
				return errors.New("wiring the node")
			}
			return nil
		},
		outage.Database: func(ctx context.Context) error {
			if err := n.up.check(outage.Database); err != nil {
				return err
			}
			return database.Ping(ctx, n.db)
		},
		outage.NATS: func(context.Context) error {
			if err := n.up.check(outage.NATS); err != nil {
				return err
			}
			if s := n.nc.Status(); s != nats.CONNECTED {
				return fmt.Errorf("nats is %s", s)
			}
			return nil
		},
	}
}

// listen binds the node's address, ready to be served first by the
// start-up server, then by the real one.
func (n *node) listen() error {
	n.up = newStartup(outage.Database, outage.NATS)
	lc := listenConfig(n.cfg.Role)
	ln, err := lc.Listen(context.Background(), "tcp", n.cfg.Addr)
	if err != nil {
		return fmt.Errorf("GAVEL_ADDR %s: %w", n.cfg.Addr, err)
	}
	n.edge.served = make(chan error, 1)
	ln = n.guard(ln)
	n.ln = ln
	n.mux = newHandoff(ln)
	return nil
}

// listenConfig is how a node of role listens. A realtime-only node's
// connections are streams, and a stream writes a heartbeat at least every
// 15 s: TCP keepalive probes only a connection with nothing in flight, so
// on a stream they never find a dead peer sooner than the heartbeat's
// write does. The node skips them, and the four setsockopt(2) calls per
// accepted connection that set them up, which a dead node's watchers
// arriving at thousands a second pay for on the survivor (#11 point 5).
func listenConfig(role config.Role) net.ListenConfig {
	if role == config.RoleRealtime {
		return net.ListenConfig{KeepAlive: -1}
	}
	return net.ListenConfig{}
}

// openDatabaseLazy opens the database without waiting for it: a node
// starting before PostgreSQL waits in awaitDependencies instead, serving
// its probes. SQLite is opened (and found broken) at once.
func openDatabaseLazy(ctx context.Context, cfg config.Config, log *slog.Logger) (*gorm.DB, error) {
	db, _, err := database.Open(ctx, cfg.DatabaseURL, cfg.DataDir, database.WithLogger(log),
		database.WithTimeouts(database.TimeoutsFor(cfg.DependencyTimeout)), database.Lazy())
	return db, err
}

func dialectOf(cfg config.Config) database.Dialect {
	if cfg.DatabaseURL != "" {
		return database.Postgres
	}
	return database.SQLite
}

// awaitDependencies serves the start-up server (probes, and 503 for the
// rest) while it waits for the database, migrated, and NATS, with the
// event stream on API nodes.
func (n *node) awaitDependencies(ctx context.Context, js jetstream.JetStream, reg *prometheus.Registry) error {
	boot, err := web.NewStarting(web.Config{Role: web.Role(n.cfg.Role)}, n.checks(), n.log, reg)
	if err != nil {
		return err
	}
	n.boot = boot
	go func() {
		if err := boot.App().Listener(n.mux.next(false)); err != nil {
			n.log.Error("http server stopped", "err", err)
		}
	}()
	if err := n.awaitDatabase(ctx); err != nil {
		return err
	}
	return n.awaitNATS(ctx, js)
}

// serve hands the listener from the start-up server to the real one: the
// start-up server finishes its requests, and connections accepted
// meanwhile wait for the real one.
func (n *node) serve() {
	if n.boot != nil {
		_ = n.boot.App().ShutdownWithTimeout(5 * time.Second)
		n.boot = nil
	}
	ln := n.mux.next(true)
	go func() { n.served(n.srv.App().Listener(ln)) }()
	n.up.done()
}

// relayName names this node's relay in the lease: the node's name, plus a
// random part in case two nodes were given the same one.
func relayName(node string) string {
	return fmt.Sprintf("%s-%08x", node, rand.Uint32())
}

// relayYield turns GAVEL_RELAY_YIELD into RelayOptions.YieldToBids, whose
// zero means the default: the setting's 0 means never wait.
func relayYield(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
