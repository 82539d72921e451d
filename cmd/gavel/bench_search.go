package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"

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
		db, _, err := database.Open(ctx, untimedURL(*seeded), "")
		if err != nil {
			return err
		}
		defer database.Close(db)
		o.Seeded = true
		return searchbench.Run(ctx, db, o, stdout)
	}
	// Seeding (COPY, the GIN build) and the slowest shapes under load run
	// far past the serving bound the pool would otherwise set on every
	// statement (5 s).
	untimedEnv := func(k string) string {
		if v := getenv(k); v != "" && (k == "DATABASE_URL" || k == "TEST_DATABASE_URL") {
			return untimedURL(v)
		}
		return getenv(k)
	}
	fresh, err := benchkit.OpenFresh(ctx, untimedEnv, "bench search", "make bench-search")
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

// untimedURL turns off the session timeouts of a PostgreSQL URL (a URL's
// own settings win over the pool's defaults); it returns other strings
// unchanged.
func untimedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return s
	}
	q := u.Query()
	for _, k := range []string{"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"} {
		if q.Get(k) == "" {
			q.Set(k, "0")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
