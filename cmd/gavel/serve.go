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
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := n.shutdown(sctx); err != nil {
		log.Warn("shutdown was not clean", "err", err)
	}
	log.Info("stopped")
	return nil
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
