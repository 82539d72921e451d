// Command hostile runs Gavel's hostile-client suite (package
// internal/hostile) against bin/gavel and prints a table of results. It
// runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL or
// DATABASE_URL names a server it may create databases on (make security
// starts one). It exits 1 if any scenario failed.
//
//	go run ./internal/hostile/cmd/hostile [-gavel bin/gavel] [-short] [-only NAME] [-db sqlite,postgres]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gavel-auctions/gavel/internal/hostile"
)

func main() {
	os.Exit(run())
}

func run() int {
	gavel := flag.String("gavel", "bin/gavel", "the gavel binary to attack")
	short := flag.Bool("short", false, "the short version, as in make test")
	only := flag.String("only", "", "run only the scenarios whose names begin with one of these, comma-separated")
	dbs := flag.String("db", "sqlite,postgres", "databases to run on")
	quiet := flag.Bool("q", false, "print only the table")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := hostile.Options{Gavel: *gavel, Short: *short, Only: *only, SQLite: strings.Contains(*dbs, "sqlite")}
	if !*quiet {
		o.Log = os.Stderr
	}
	if strings.Contains(*dbs, "postgres") {
		o.PostgresAdmin = os.Getenv("TEST_DATABASE_URL")
		if o.PostgresAdmin == "" {
			o.PostgresAdmin = os.Getenv("DATABASE_URL")
		}
		if o.PostgresAdmin == "" {
			fmt.Fprintln(os.Stderr, "hostile: PostgreSQL needs TEST_DATABASE_URL or DATABASE_URL (make security starts one); use -db sqlite to skip it")
			return 2
		}
	}
	results, err := hostile.Run(ctx, o)
	fmt.Print(hostile.Table(results))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		return 1
	}
	failed := 0
	for _, r := range results {
		for _, f := range r.Failures {
			failed++
			fmt.Fprintf(os.Stderr, "FAIL [%s] %s: %s\n", r.DB, r.Scenario, f)
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}
