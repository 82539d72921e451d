package photobench

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
)

// Main is `gavel bench photos`: the node runs as a child process of this
// binary (on a fresh, migrated database of the PostgreSQL in DATABASE_URL
// or TEST_DATABASE_URL, else on SQLite), and its clients as further
// children. With --client it is one of those clients.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	if slices.ContainsFunc(args, func(a string) bool { return a == "--client" || a == "-client" }) {
		return ClientMain(ctx, args, stdout)
	}
	fs := flag.NewFlagSet("bench photos", flag.ContinueOnError)
	var o Options
	fs.IntVar(&o.Runs, "runs", 5, "timed runs of processing the 12 MP photo")
	fs.IntVar(&o.Conns, "conns", 32, "thumbnail client connections")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each request-rate phase")
	fs.IntVar(&o.Uploads, "uploads", 50, "simultaneous 12 MP uploads")
	fs.IntVar(&o.ClientNice, "client-nice", 19, "nice value of the client processes (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o.Exe, o.Log = exe, log
	if getenv("DATABASE_URL") != "" || getenv("TEST_DATABASE_URL") != "" {
		fresh, err := benchkit.OpenFresh(ctx, getenv, "bench photos", "make bench")
		if err != nil {
			return err
		}
		defer fresh.Close()
		o.DatabaseURL = fresh.URL
	}
	return Run(ctx, o, stdout)
}
