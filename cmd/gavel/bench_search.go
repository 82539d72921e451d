package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
	"github.com/gavel-auctions/gavel/internal/bench/searchbench"
	"github.com/gavel-auctions/gavel/internal/database"
)

// benchSearch is `gavel bench search`: it seeds a fresh database on the
// PostgreSQL server of DATABASE_URL (or TEST_DATABASE_URL) with --lots
// lots and times every query shape (internal/bench/searchbench). With
// --seeded it times the queries on a database an earlier --keep run left.
func benchSearch(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench search", flag.ContinueOnError)
	fs.SetOutput(stdout)
	lots := fs.Int("lots", 1_000_000, "lots to seed")
	iterations := fs.Int("iterations", 200, "timed queries per shape")
	keep := fs.Bool("keep", false, "keep the seeded database and print its URL (to study query plans, or for --seeded)")
	seeded := fs.String("seeded", "", "URL of a database an earlier --keep run seeded: time the queries on it without seeding")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := searchbench.Options{Lots: *lots, Iterations: *iterations}
	if *seeded != "" {
		db, _, err := database.Open(ctx, *seeded, "")
		if err != nil {
			return err
		}
		defer database.Close(db)
		o.Seeded = true
		return searchbench.Run(ctx, db, o, stdout)
	}
	fresh, err := benchkit.OpenFresh(ctx, getenv, "bench search", "make bench-search")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintf(stdout, "database kept: %s\n", fresh.URL)
		defer database.Close(fresh.DB)
	} else {
		defer fresh.Close()
	}
	return searchbench.Run(ctx, fresh.DB, o, stdout)
}
