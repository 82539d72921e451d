package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/database"
)

// shutdownTimeout bounds the drain after SIGTERM: requests and queued bids
// finish, streams end at once so clients reconnect to another node.
const shutdownTimeout = 20 * time.Second

// serve runs a node in cfg.Role until ctx ends, then shuts it down
// gracefully.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	n, err := startNode(ctx, cfg, log)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped (SIGINT, SIGTERM) while waiting for a dependency.
			log.Info("stopped before start-up finished", "err", err)
			return nil
		}
		return err
	}
	log.Info("gavel is ready", "url", n.URL())
	return n.serveUntil(ctx, log)
}

// serveUntil waits until ctx ends or the node can no longer serve, then shuts the
// node down; it returns why the node stopped serving, if it did.
func (n *node) serveUntil(ctx context.Context, log *slog.Logger) error {
	var served error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case served = <-n.edge.served:
		// A node that cannot serve must exit so that its supervisor
		// restarts it, rather than stay up and deaf.
		log.Error("cannot serve; shutting down", "err", served)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := n.shutdown(sctx); err != nil {
		log.Warn("shutdown was not clean", "err", err)
	}
	log.Info("stopped")
	return served
}

// migrateCmd applies pending migrations and returns.
func migrateCmd(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("migrated", "database", database.Describe(cfg.DatabaseURL, cfg.DataDir))
	return database.Close(db)
}
