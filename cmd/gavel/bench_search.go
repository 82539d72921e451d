package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	searchbench "github.com/gavel-auctions/gavel/internal/bench/search"
	"github.com/gavel-auctions/gavel/internal/database"
)

// benchSearch is `gavel bench search`: it seeds a fresh database on the
// PostgreSQL server of DATABASE_URL (or TEST_DATABASE_URL) with --lots
// lots and times every query shape (internal/bench/search).
func benchSearch(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench search", flag.ContinueOnError)
	fs.SetOutput(stdout)
	lots := fs.Int("lots", 1_000_000, "lots to seed")
	iterations := fs.Int("iterations", 200, "timed queries per shape")
	keep := fs.Bool("keep", false, "keep the seeded database and print its URL (to study query plans)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	admin := getenv("DATABASE_URL")
	if admin == "" {
		admin = getenv("TEST_DATABASE_URL")
	}
	if admin == "" {
		return errors.New("bench search needs PostgreSQL: set DATABASE_URL or TEST_DATABASE_URL (make bench starts a throwaway cluster)")
	}
	dbURL, drop, err := freshDatabase(ctx, admin)
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintf(stdout, "database kept: %s\n", dbURL)
	} else {
		defer drop()
	}
	db, d, err := database.Open(ctx, dbURL, "")
	if err != nil {
		return err
	}
	defer database.Close(db)
	if err := database.Migrate(ctx, db, d); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return searchbench.Run(ctx, db, searchbench.Options{Lots: *lots, Iterations: *iterations}, stdout)
}
