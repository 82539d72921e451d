package main

import (
	"context"
	"io"
	"log/slog"
)

const benchUsage = `Usage: gavel bench storm [--bidders N] [--duration D] [--auctions N] [--skip-http]
       gavel bench sse [--conns N] [--nodes K] [--clients C] [--bids M] [--heartbeat D]
                       [--short-heartbeat D] [--idle D] [--skip-floor]   (see gavel bench sse -h)
       gavel bench notify [--notices N] [--bidders N] [--duration D] [--workers N]
       gavel bench sale [--lots N] [--gap S] [--watchers N] [--procs N] [--probes N]   (see gavel bench sale -h)

Load generators whose results docs/BENCHMARKS.md records; make bench runs
them against a durable throwaway PostgreSQL (TEST_DATABASE_URL).
`

func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{msg: "bench needs a scenario", usage: benchUsage}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	switch args[0] {
	case "storm":
		return benchStorm(ctx, args[1:], getenv, stdout, log)
	case "sse":
		return benchSSE(ctx, args[1:], getenv, stdout, stderr)
	case "notify":
		return benchNotify(ctx, args[1:], getenv, stdout, log)
	case "sale":
		return benchSale(ctx, args[1:], getenv, stdout, log)
	}
	return &usageError{msg: "unknown bench scenario " + args[0], usage: benchUsage}
}
