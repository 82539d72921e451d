package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/gavel-auctions/gavel/internal/config"
)

// bidGCPercent is the GC percent of a node that commits bids, unless GOGC
// is set. A bid's commit is a few milliseconds of the node's CPU between
// database round trips, and the collector's mark phase, which takes a
// core of a two-core machine for 10–50 ms, is what the slowest commits
// are made of: in a trace of `gavel bench sale`, the 5 of 85 cascading
// bids that overlapped a mark phase took 23.5 ms at p50 against 14.4 for
// the 80 that did not (docs/BENCHMARKS.md, "Session 10"). With a live
// heap of tens of MB and ~45 MB/s allocated while a sale closes, the
// default of 100 collects every ~0.7 s; 400 collects a quarter as often,
// for a heap of up to five times the live data instead of twice.
// Realtime-only nodes, whose live heap is their streams (#18), keep Go's
// default.
const bidGCPercent = 400

// tuneGC sets bidGCPercent on nodes that serve the API (and so commit
// bids), unless the operator chose with GOGC. GOMEMLIMIT still bounds the
// heap where it is set: the collector then runs sooner as the limit nears.
func tuneGC(role config.Role, log *slog.Logger) {
	if !role.ServesAPI() {
		return
	}
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	if was := debug.SetGCPercent(bidGCPercent); was != bidGCPercent {
		log.Info("GC percent set for a node that commits bids (GOGC overrides)", "percent", bidGCPercent, "was", was)
	}
}
