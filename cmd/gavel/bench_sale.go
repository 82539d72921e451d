package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
	"github.com/gavel-auctions/gavel/internal/bench/salebench"
	"github.com/gavel-auctions/gavel/internal/config"
)

// benchSale runs internal/bench/salebench against a node started here on a
// fresh database of the PostgreSQL in DATABASE_URL (or TEST_DATABASE_URL),
// with embedded NATS. `gavel bench sale watch` is its watcher process.
func benchSale(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	if len(args) > 0 && args[0] == "watch" {
		return salebench.WatchMain(ctx, args[1:], os.Stdin, stdout)
	}
	fs := flag.NewFlagSet("bench sale", flag.ContinueOnError)
	var o salebench.Options
	fs.IntVar(&o.Lots, "lots", 500, "lots in the sale")
	fs.IntVar(&o.Gap, "gap", 1, "seconds between lots")
	fs.IntVar(&o.SoftClose, "soft-close", 1, "soft close, seconds")
	fs.IntVar(&o.Watchers, "watchers", 2000, "catalogue streams, held by separate processes")
	fs.IntVar(&o.Procs, "procs", 4, "watcher processes")
	fs.IntVar(&o.Probes, "probes", 200, "cascading bids on lot 1 before it closes")
	fs.IntVar(&o.SnipeEvery, "snipe-every", 5, "every n-th lot gets a bid inside its soft close")
	fs.DurationVar(&o.Lead, "lead", 60*time.Second, "from publishing to the first close")
	fs.StringVar(&o.ProbeProfile, "probe-profile", "", "write the process's Go CPU profile during the cascade probe to this file")
	fs.StringVar(&o.ProbeAllocs, "probe-allocs", "", "write the allocation profile at the probe's end to this file, and the one at its start to FILE.base (go tool pprof -sample_index=alloc_space -diff_base FILE.base FILE)")
	fs.StringVar(&o.ProbeTrace, "probe-trace", "", "write a Go execution trace of the first --trace-for of the cascade probe to this file")
	fs.DurationVar(&o.TraceFor, "trace-for", 8*time.Second, "how much of the probe --probe-trace covers")
	fs.BoolVar(&o.RecycleWAL, "recycle-wal", false, "write and checkpoint ~300 MB of WAL first, so that PostgreSQL reuses WAL segments as a server in service does")
	fs.StringVar(&o.PGWaits, "pg-waits", "", "write what PostgreSQL's backends did during the cascade probe (pg_stat_activity sampled every 2 ms) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "gavel-bench-sale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fresh, err := benchkit.OpenFresh(ctx, getenv, "bench sale", "make bench")
	if err != nil {
		return err
	}
	defer fresh.Close()
	cfg := config.Default()
	cfg.Addr, cfg.Role, cfg.DatabaseURL, cfg.NATSURL = "127.0.0.1:0", config.RoleAll, fresh.URL, ""
	cfg.DataDir, cfg.Demo, cfg.NodeName = filepath.Join(tmp, "node"), config.DemoOff, "bench-sale"
	// Its 125 watcher accounts log in from one address: the login limit
	// per address refused all but the first few.
	lift := liftClientLimits(&cfg)
	n, err := startNode(ctx, cfg, log, lift)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.shutdown(sctx)
	}()
	o.Log = log
	return salebench.Run(ctx, salebench.Env{Svc: n.svc, DB: n.db, BaseURL: n.URL(), Exe: exe, TmpDir: tmp,
		Streams: func() int64 { return n.hub.Stats().Connections },
		Notes:   fmt.Sprintf("%d CPUs, load %s at the start; one node (API and realtime, embedded NATS) in the benchmark's process", runtime.NumCPU(), benchkit.LoadAvg())},
		o, stdout)
}
