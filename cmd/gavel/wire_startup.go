package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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

// Ready is nil once the node has started.
func (u *startup) Ready() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ready {
		return nil
	}
	return errors.New("starting")
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
		if err := database.Migrate(ctx, n.db, n.dialect); err != nil {
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

// serve starts the HTTP server on the node's listener.
func (n *node) serve() {
	go func() {
		if err := n.srv.App().Listener(n.ln); err != nil {
			n.log.Error("http server stopped", "err", err)
		}
	}()
}

// relayName names this node's relay in the lease: the node's name, plus a
// random part in case two nodes were given the same one.
func relayName(node string) string {
	return fmt.Sprintf("%s-%08x", node, rand.Uint32())
}
