package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"time"

	"github.com/gavel-auctions/gavel/internal/bench/notifybench"
	"github.com/gavel-auctions/gavel/internal/database"
)

// benchNotify runs internal/bench/notifybench on a fresh database of the
// PostgreSQL in DATABASE_URL (or TEST_DATABASE_URL).
func benchNotify(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("bench notify", flag.ContinueOnError)
	notices := fs.Int("notices", 10000, "outbid notices per phase")
	bidders := fs.Int("bidders", 64, "concurrent bidders in the bid phases")
	dur := fs.Duration("duration", 10*time.Second, "length of each bid phase")
	workers := fs.Int("workers", 4, "notifier sending goroutines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	admin := getenv("DATABASE_URL")
	if admin == "" {
		admin = getenv("TEST_DATABASE_URL")
	}
	if admin == "" {
		return errors.New("bench notify needs PostgreSQL: set DATABASE_URL or TEST_DATABASE_URL (make bench starts a durable throwaway cluster)")
	}
	dbURL, drop, err := freshDatabase(ctx, admin)
	if err != nil {
		return err
	}
	defer drop()
	db, d, err := database.Open(ctx, dbURL, "")
	if err != nil {
		return err
	}
	defer database.Close(db)
	if err := database.Migrate(ctx, db, d); err != nil {
		return err
	}
	return notifybench.Run(ctx, db, notifybench.Options{Notices: *notices, Bidders: *bidders, Duration: *dur, Workers: *workers, Log: log}, stdout)
}
