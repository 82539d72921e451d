package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"time"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
	"github.com/gavel-auctions/gavel/internal/bench/notifybench"
)

// benchNotify runs internal/bench/notifybench on a fresh database of the
// PostgreSQL in DATABASE_URL (or TEST_DATABASE_URL).
func benchNotify(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("bench notify", flag.ContinueOnError)
	notices := fs.Int("notices", 10000, "outbid notices per phase")
	bidders := fs.Int("bidders", 64, "concurrent bidders in the bid phases")
	dur := fs.Duration("duration", 10*time.Second, "length of each bid phase")
	workers := fs.Int("workers", 4, "notifier sending goroutines")
	rounds := fs.Int("rounds", 1, "working phases, each between two idle ones")
	parts := fs.String("parts", "both", "what of the notifier works in the working phases: both, consumer, senders or none")
	headStart := fs.Duration("head-start", 0, "how long the notifier works before each working phase's storm begins")
	profDir := fs.String("profile", "", "write each bid phase's profiles to this directory, and report PostgreSQL's view of each phase")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fresh, err := benchkit.OpenFresh(ctx, getenv, "bench notify", "make bench")
	if err != nil {
		return err
	}
	defer fresh.Close()
	return notifybench.Run(ctx, fresh.DB, notifybench.Options{Notices: *notices, Bidders: *bidders, Duration: *dur, Workers: *workers, Rounds: *rounds, Parts: *parts, HeadStart: *headStart,
		ProfileDir: *profDir, DBURL: fresh.URL, Log: log}, stdout)
}
