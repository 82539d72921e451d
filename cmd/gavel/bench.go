package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
	"github.com/gavel-auctions/gavel/internal/bench/photobench"
	"github.com/gavel-auctions/gavel/internal/bench/ssebench"
	"github.com/gavel-auctions/gavel/internal/bench/stormbench"
	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/web"
)

const benchUsage = `Usage: gavel bench storm [--bidders N] [--duration D] [--auctions N] [--skip-http] [--client-nice N]
       gavel bench sse [--conns N] [--nodes K] [--clients C] [--bids M] [--heartbeat D]
                       [--short-heartbeat D] [--idle D] [--skip-floor]   (see gavel bench sse -h)
       gavel bench notify [--notices N] [--bidders N] [--duration D] [--workers N]
       gavel bench sale [--lots N] [--gap S] [--watchers N] [--procs N] [--probes N]   (see gavel bench sale -h)
       gavel bench photos [--runs N] [--conns C] [--duration D] [--uploads N] [--client-nice N]
       gavel bench search [--lots N] [--iterations N] [--keep | --seeded URL]

Load generators whose results docs/BENCHMARKS.md records; make bench runs
them against a durable throwaway PostgreSQL (TEST_DATABASE_URL).
`

// runBench is `gavel bench`: a thin front to the load generators, which
// live under internal/bench.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{msg: "bench needs a scenario", usage: benchUsage}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var err error
	switch args[0] {
	case "storm":
		err = stormbench.Main(ctx, args[1:], getenv, stdout, log, startBenchNode)
	case "sse":
		err = ssebench.Main(ctx, args[1:], getenv, stdout, stderr, startBenchNode)
	case "notify":
		err = benchNotify(ctx, args[1:], getenv, stdout, log)
	case "sale":
		err = benchSale(ctx, args[1:], getenv, stdout, log)
	case "photos":
		err = photobench.Main(ctx, args[1:], getenv, stdout, log)
	case "search":
		err = benchSearch(ctx, args[1:], getenv, stdout)
	default:
		return &usageError{msg: "unknown bench scenario " + args[0], usage: benchUsage}
	}
	if ue, ok := errors.AsType[*benchkit.UsageError](err); ok {
		return &usageError{msg: ue.Msg, usage: ue.Usage}
	}
	return err
}

// startBenchNode is the benchkit.StartNode that the load generators drive.
// The per-user bid limit, the login and registration limits per IP and the
// per-IP connection cap protect production from one runaway client; a
// benchmark's clients all come from loopback and fire as fast as they can
// on purpose. Its metrics are not served: benchmarks run beside other
// nodes, which may hold the default metrics port.
func startBenchNode(ctx context.Context, cfg config.Config, log *slog.Logger) (benchkit.Node, error) {
	lift := liftClientLimits(&cfg)
	n, err := startNode(ctx, cfg, log, lift)
	if err != nil {
		return nil, err
	}
	return benchNode{n}, nil
}

// liftClientLimits turns off, in cfg and in the web config the returned
// option sets, the limits that stop one client (all of a benchmark's come
// from loopback), and the metrics listener.
func liftClientLimits(cfg *config.Config) nodeOption {
	cfg.Edge.MaxConnsPerIP, cfg.Edge.MetricsAddr = 0, ""
	return func(w *web.Config) {
		w.BidLimit, w.LoginIPLimit, w.RegisterLimit = 1<<30, 1<<30, 1<<30
	}
}

// benchNode is a node seen by a load generator.
type benchNode struct{ *node }

func (n benchNode) Shutdown(ctx context.Context) error { return n.shutdown(ctx) }

var _ benchkit.Node = benchNode{}
