package ssebench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
)

// The burst (#18 points 2 and 3): `gavel bench sse --burst` has ONE client
// process open every connection at once against one node, as a crowd
// arriving together (or a reconnecting proxy) would, and follows the
// node's RSS through it: before, the peak, 3 s after the last stream went
// live, and --after that (40 s). It then delivers --bids price changes and
// reports the node's CPU per delivery. --one-binary makes the node the
// default `gavel serve` (onebinary.go) instead of a realtime-only node.

// burstFlags adds the burst mode's flags to the sse flag set.
func burstFlags(fs *flag.FlagSet, o *sseOpts) {
	fs.BoolVar(&o.burst, "burst", false, "open every connection at once from one client process and follow the node's RSS through the burst")
	fs.BoolVar(&o.oneBinary, "one-binary", false, "with --burst: the node is the one-binary default (gavel serve --role all on SQLite and in-process NATS)")
	fs.DurationVar(&o.after, "after", 40*time.Second, "with --burst: when the settled RSS is read, after the last stream went live")
}

// burstDefaults checks the burst flags and sets what the mode implies: one
// node, one client process, no floor, and (unless --dial is given) every
// connection dialled at once. set names the flags given.
func (o *sseOpts) burstDefaults(set map[string]bool) error {
	usage := func(msg string) error { return &benchkit.UsageError{Msg: "bench sse: " + msg, Usage: sseUsage} }
	if !o.burst {
		if o.oneBinary {
			return usage("--one-binary needs --burst")
		}
		return nil
	}
	switch {
	case o.killNode:
		return usage("--burst and --kill-node are separate measurements")
	case o.nodes > 1 || o.clients > 1:
		return usage("--burst measures one node against one client process")
	case o.after < 3*time.Second:
		return usage("--after must be at least 3s")
	}
	o.nodes, o.clients, o.skipFloor, o.shortHB = 1, 1, true, 0
	if !set["dial"] {
		o.dial = o.conns
	}
	return nil
}

// burstResult is what a burst run measured on its node.
type burstResult struct {
	conn                      sseConnected
	held                      float64
	base, peakLive, peak      int64 // RSS: before, the highest until every stream was live, the highest until the settled read
	at3, settled              int64 // RSS 3 s and --after after the last stream went live
	afterDeliveries           int64 // RSS 3 s after the deliveries
	peakLiveAt                time.Duration
	mem0, mem3, memSettled    map[string]float64 // the node's Go memory metrics at the same moments
	idleCPU                   time.Duration      // between the +3 s and settled reads
	idleWall                  time.Duration
	cpuDeliver, deliverWall   time.Duration
	delivered                 float64
	gavel                     *sseDelivery
	load0, load1, loadSettled string
	setupReads, setupRequests float64
	logLines                  []string
}

// rssPeak follows a process's RSS every few milliseconds and keeps the
// highest value seen.
type rssPeak struct {
	max  atomic.Int64
	at   atomic.Int64 // ns since start of the highest
	stop chan struct{}
	wg   sync.WaitGroup
}

func followRSS(pid int, every time.Duration) *rssPeak {
	p := &rssPeak{stop: make(chan struct{})}
	t0 := time.Now()
	p.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if v := procRSS(pid); v > p.max.Load() {
				p.max.Store(v)
				p.at.Store(int64(time.Since(t0)))
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	})
	return p
}

func (p *rssPeak) end() int64 {
	close(p.stop)
	p.wg.Wait()
	return p.max.Load()
}

// burstPhase runs the burst and prints its report.
func (b *sseBench) burstPhase(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	r := &burstResult{load0: benchkit.LoadAvg()}
	if b.o.oneBinary {
		if err := b.setupOneBinary(ctx); err != nil {
			return err
		}
	} else {
		if err := b.setup(ctx, getenv); err != nil {
			return err
		}
		b.logf("starting the realtime node (heartbeat %s)", b.o.heartbeat)
		if err := b.startNodes(ctx, b.o.heartbeat); err != nil {
			return err
		}
	}
	if err := sleepCtx(ctx, b.o.settle); err != nil {
		return err
	}
	node := b.nodes[0]
	r.base, r.mem0 = procRSS(node.pid), scrape(node.metricsAddr, "go_")
	peak := followRSS(node.pid, 5*time.Millisecond)
	var err error
	r.conn, err = b.connect(ctx, b.workers, 0, addrsOf(b.nodes))
	last := time.Now()
	r.peakLive, r.peakLiveAt = peak.max.Load(), time.Duration(peak.at.Load())
	if err != nil {
		peak.end()
		return err
	}
	if err := sleepCtx(ctx, time.Until(last.Add(3*time.Second))); err != nil {
		peak.end()
		return err
	}
	r.at3, r.mem3 = procRSS(node.pid), scrape(node.metricsAddr, "go_")
	c0, t0 := procCPU(node.pid), time.Now()
	if err := sleepCtx(ctx, time.Until(last.Add(b.o.after))); err != nil {
		peak.end()
		return err
	}
	r.idleCPU, r.idleWall = procCPU(node.pid)-c0, time.Since(t0)
	r.settled, r.memSettled = procRSS(node.pid), scrape(node.metricsAddr, "go_")
	r.peak = peak.end()
	r.loadSettled = benchkit.LoadAvg()
	m := nodeMetrics(node.metricsAddr)
	r.held = m["gavel_realtime_connections"]
	r.setupRequests, r.setupReads = m["gavel_realtime_snapshot_requests_total"], m["gavel_realtime_snapshot_reads_total"]

	b.logf("delivering %d price changes to %d streams", b.o.bids, r.conn.held)
	d0 := m["gavel_realtime_events_delivered_total"]
	n := 0
	c0, t0 = procCPU(node.pid), time.Now()
	ds, err := b.deliver(ctx, []*sseTrack{{name: "gavel", workers: b.workers, fire: func() (int64, error) {
		n++
		return b.placeBid(ctx, n)
	}}})
	if err != nil {
		return err
	}
	r.cpuDeliver, r.deliverWall = procCPU(node.pid)-c0, time.Since(t0)
	r.delivered = nodeMetrics(node.metricsAddr)["gavel_realtime_events_delivered_total"] - d0
	r.gavel = ds[0]
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return err
	}
	r.afterDeliveries = procRSS(node.pid)
	if err := closeWorkers(ctx, b.workers); err != nil {
		return err
	}
	stopAll(b.nodes)
	r.logLines = summarizeLog(node.logPath)
	b.nodes = nil
	r.load1 = benchkit.LoadAvg()
	b.burstReport(stdout, r)
	return nil
}

// cpuPerDelivery is the node's CPU per delivered event during the
// delivery phase, raw and less the idle rate (heartbeats, the node's own)
// measured just before.
func (r *burstResult) cpuPerDelivery() (raw, net time.Duration) {
	if r.delivered <= 0 {
		return 0, 0
	}
	idle := time.Duration(0)
	if r.idleWall > 0 {
		idle = time.Duration(float64(r.idleCPU) * float64(r.deliverWall) / float64(r.idleWall))
	}
	return time.Duration(float64(r.cpuDeliver) / r.delivered), time.Duration(float64(r.cpuDeliver-idle) / r.delivered)
}

func (b *sseBench) burstReport(w io.Writer, r *burstResult) {
	o := b.o
	host, _ := os.Hostname()
	mode := "a realtime-only node (`gavel serve --role realtime` on PostgreSQL and NATS; the api node and NATS in the benchmark process)"
	if o.oneBinary {
		mode = "the one-binary default (`gavel serve --role all`: SQLite and in-process NATS in its own data dir, demo off)"
	}
	fmt.Fprintf(w, "## SSE burst: memory per idle stream\n\n")
	fmt.Fprintf(w, "machine: %s, %d CPUs, %s %s/%s; PostgreSQL fsync=%s synchronous_commit=%s; load average %s at start, %s at the settled read, %s at end (the machine is shared)\n\n",
		host, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, b.fsync, b.syncCommit, r.load0, r.loadSettled, r.load1)
	fmt.Fprintf(w, "command: `gavel bench sse %s`: %s connections to one auction, opened at once (%d in flight) by one client process (nice %d) "+
		"from 2 loopback source addresses, %d users (%d connections each), against %s; %d price changes\n\n",
		strings.Join(o.args, " "), thousands(int64(o.conns)), o.dial, o.clientNice, len(b.cookies), o.perUser, mode, o.bids)
	per := func(rss int64) string {
		if r.conn.held == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f KiB", float64(rss-r.base)/float64(r.conn.held)/1024)
	}
	target := "≤ 4 KiB"
	if !o.oneBinary {
		target = "≤ 2 KiB (realtime-only), ≤ 4 KiB"
	}
	fmt.Fprintln(w, "| measurement | result | target |")
	fmt.Fprintln(w, "|---|---|---|")
	fmt.Fprintf(w, "| connections held | %s of %s | |\n", thousands(int64(r.held)), thousands(int64(o.conns)))
	fmt.Fprintf(w, "| the burst (TCP connect to snapshot, all) | %s (%.0f/s), %d retries, %d failed %v; %s snapshot reads for %s set-ups | |\n",
		r.conn.took.Round(100*time.Millisecond), float64(r.conn.held)/max(r.conn.took.Seconds(), 1e-9), r.conn.retries, r.conn.failed, r.conn.errs,
		thousands(int64(r.setupReads)), thousands(int64(r.setupRequests)))
	fmt.Fprintf(w, "| RSS before | %s | |\n", mib(r.base))
	fmt.Fprintf(w, "| RSS peak during the burst | %s (%.1f s into it); highest until the settled read %s | ≤ 2× settled |\n",
		mib(r.peakLive), r.peakLiveAt.Seconds(), mib(r.peak))
	fmt.Fprintf(w, "| RSS 3 s after the last stream went live | %s (%s per stream) | |\n", mib(r.at3), per(r.at3))
	fmt.Fprintf(w, "| RSS %s after (settled) | %s | |\n", o.after, mib(r.settled))
	fmt.Fprintf(w, "| **RSS per idle stream, settled** ((settled − before) ÷ streams) | **%s** | %s |\n", per(r.settled), target)
	fmt.Fprintf(w, "| RSS 3 s after the deliveries | %s (%s per stream) | |\n", mib(r.afterDeliveries), per(r.afterDeliveries))
	fmt.Fprintf(w, "| peak ÷ settled RSS | **%.2f×** (growth: %.2f×) | ≤ 2× |\n",
		float64(r.peak)/float64(max(1, r.settled)), float64(r.peak-r.base)/float64(max(1, r.settled-r.base)))
	raw, net := r.cpuPerDelivery()
	fmt.Fprintf(w, "| node CPU per delivery | **%.2f µs** less the idle rate (%.2f µs raw: %s CPU for %s deliveries in %s) | not above main's |\n",
		float64(net)/1e3, float64(raw)/1e3, r.cpuDeliver.Round(time.Millisecond), thousands(int64(r.delivered)), r.deliverWall.Round(100*time.Millisecond))
	g := r.gavel
	fmt.Fprintf(w, "| delivery | %.3f%% (%s of %s; gaps %d, duplicates %d, dropped streams %d) | 100%% |\n",
		100*float64(g.received)/float64(max(1, g.expected)), thousands(g.received), thousands(g.expected), g.gaps, g.dups, g.dropped)
	if len(g.lat) > 0 {
		fmt.Fprintf(w, "| commit → arrival p50 / p99 / max | %s / %s / %s | |\n", ms(pct(g.lat, .5)), ms(pct(g.lat, .99)), ms(g.lat[len(g.lat)-1]))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The node's Go memory (its /metrics, runtime/metrics through the Go collector):")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| | before | +3 s | +%s |\n|---|---|---|---|\n", o.after)
	for _, k := range []struct{ name, key string }{
		{"heap objects (live and not yet swept)", "go_memstats_heap_alloc_bytes"},
		{"heap in use (spans with objects)", "go_memstats_heap_inuse_bytes"},
		{"heap idle (held, not in use)", "go_memstats_heap_idle_bytes"},
		{"heap released to the OS", "go_memstats_heap_released_bytes"},
		{"goroutine stacks", "go_memstats_stack_inuse_bytes"},
		{"span structures", "go_memstats_mspan_inuse_bytes"},
		{"GC metadata", "go_memstats_gc_sys_bytes"},
		{"other runtime (poll descriptors, ...)", "go_memstats_other_sys_bytes"},
		{"next GC target", "go_memstats_next_gc_bytes"},
		{"runtime total (sys)", "go_memstats_sys_bytes"},
	} {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", k.name, mib(int64(r.mem0[k.key])), mib(int64(r.mem3[k.key])), mib(int64(r.memSettled[k.key])))
	}
	fmt.Fprintf(w, "| goroutines | %.0f | %.0f | %.0f |\n", r.mem0["go_goroutines"], r.mem3["go_goroutines"], r.memSettled["go_goroutines"])
	fmt.Fprintln(w)
	for _, l := range r.logLines {
		fmt.Fprintf(w, "- node: %s\n", l)
	}
}
