package ssebench

// The SSE benchmark's phases: connect, idle, deliver.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
	"github.com/gavel-auctions/gavel/realtime"
)

func (b *sseBench) run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	if b.o.burst {
		return b.burstPhase(ctx, getenv, stdout)
	}
	if err := b.setup(ctx, getenv); err != nil {
		return err
	}
	if b.o.killNode {
		return b.killPhase(ctx, stdout)
	}
	r := &sseResult{srcs: max(2, (b.o.conns+19999)/20000), fsync: b.fsync, syncCm: b.syncCommit, load0: benchkit.LoadAvg()}
	if err := b.mainPhase(ctx, r); err != nil {
		return err
	}
	if b.o.shortHB > 0 {
		b.logf("second idle measurement: heartbeat %s", b.o.shortHB)
		if err := b.startNodes(ctx, b.o.shortHB); err != nil {
			return err
		}
		var err error
		if r.connShort, err = b.connect(ctx, b.workers, 1, addrsOf(b.nodes)); err != nil {
			return err
		}
		if err := sleepCtx(ctx, b.o.settle); err != nil {
			return err
		}
		cpu, hb, _, err := b.idleCPU(ctx, b.o.shortHB)
		if err != nil {
			return err
		}
		for i := range r.nodes {
			r.nodes[i].cpuShort = cpu[i]
		}
		r.hbShortRate = hb
		if err := closeWorkers(ctx, b.workers); err != nil {
			return err
		}
		stopAll(b.nodes)
		b.nodes = nil
	}
	r.load1 = benchkit.LoadAvg()
	b.report(stdout, r)
	return nil
}

func addrsOf(ps []*sseProc) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.addr)
	}
	return out
}

// mainPhase measures memory, idle CPU and delivery on realtime nodes with
// the main heartbeat. The floor's sockets are held at the same time, and
// each price change is followed by a floor frame once it has been
// delivered, so both see the same machine.
func (b *sseBench) mainPhase(ctx context.Context, r *sseResult) error {
	b.logf("starting %d realtime nodes (heartbeat %s)", b.o.nodes, b.o.heartbeat)
	if err := b.startNodes(ctx, b.o.heartbeat); err != nil {
		return err
	}
	if err := sleepCtx(ctx, time.Second); err != nil {
		return err
	}
	// The nodes' own cost with no stream at all, to tell it from the
	// per-stream cost.
	empty := max(5*time.Second, b.o.idle/4)
	c0 := make([]time.Duration, len(b.nodes))
	for i, p := range b.nodes {
		c0[i] = procCPU(p.pid)
	}
	emptyFrom := time.Now()
	if err := sleepCtx(ctx, empty); err != nil {
		return err
	}
	for i, p := range b.nodes {
		r.nodes = append(r.nodes, sseNodeStat{name: strings.SplitN(p.name, "-", 2)[0], rssBase: procRSS(p.pid),
			cpuEmpty: 100 * float64(procCPU(p.pid)-c0[i]) / float64(time.Since(emptyFrom))})
	}
	var err error
	if r.conn, err = b.connect(ctx, b.workers, 0, addrsOf(b.nodes)); err != nil {
		return err
	}
	if !b.o.skipFloor {
		b.logf("raw write floor: %d floor servers", b.o.nodes)
		if err := b.startFloors(ctx); err != nil {
			return err
		}
		if r.floorConn, err = b.connect(ctx, b.floorWorkers, 2, addrsOf(b.floors)); err != nil {
			return err
		}
	}
	if err := sleepCtx(ctx, b.o.settle); err != nil {
		return err
	}
	for i, p := range b.nodes {
		r.nodes[i].rssConn = procRSS(p.pid)
		m := nodeMetrics(p.metricsAddr)
		r.nodes[i].held = m["gavel_realtime_connections"]
		r.nodes[i].snapReqs, r.nodes[i].snapReads = m["gavel_realtime_snapshot_requests_total"], m["gavel_realtime_snapshot_reads_total"]
		if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid)); err == nil {
			r.nodes[i].files = len(fds)
		}
	}
	cpu, hb, busy, err := b.idleCPU(ctx, b.o.heartbeat)
	if err != nil {
		return err
	}
	r.hbRate, r.busy = hb, busy
	for i, p := range b.nodes {
		r.nodes[i].cpu = cpu[i]
		r.nodes[i].rssIdle = procRSS(p.pid)
	}

	b.logf("delivering %d price changes to %d streams", b.o.bids, r.conn.held)
	n := 0
	tracks := []*sseTrack{{name: "gavel", workers: b.workers, fire: func() (int64, error) {
		n++
		return b.placeBid(ctx, n)
	}}}
	var seq, short int64
	var loops []time.Duration
	if !b.o.skipFloor {
		tracks = append(tracks, &sseTrack{name: "floor", workers: b.floorWorkers, fire: func() (int64, error) {
			seq++
			replies, err := callAll(ctx, b.floors, func(int) sseCmd { return sseCmd{Op: "fire", Seq: seq} }, time.Minute)
			var longest time.Duration
			for _, rp := range replies {
				longest = max(longest, rp.Took)
				short += rp.WouldBlock
			}
			loops = append(loops, longest)
			return seq, err
		}})
	}
	b0, t0 := machineCPU()
	ds, err := b.deliver(ctx, tracks)
	if err != nil {
		return err
	}
	r.busyDeliver = busySince(b0, t0)
	r.gavel = ds[0]
	if len(ds) > 1 {
		r.floor = ds[1]
		r.floor.loops, r.floor.shortWrites = loops, short
	}
	for i, p := range b.nodes {
		m := nodeMetrics(p.metricsAddr)
		r.nodes[i].delivered = m["gavel_realtime_events_delivered_total"]
		r.nodes[i].slow = m["gavel_realtime_slow_consumers_total"]
		r.nodes[i].rejected = m[`gavel_realtime_rejected_total{reason="node"}`] + m[`gavel_realtime_rejected_total{reason="user"}`]
	}
	if err := closeWorkers(ctx, append(b.workers, b.floorWorkers...)); err != nil {
		return err
	}
	stopAll(append(b.nodes, b.floors...))
	for i, p := range b.nodes {
		r.nodes[i].logLines = summarizeLog(p.logPath)
	}
	b.nodes, b.floors = nil, nil
	return nil
}

// summarizeLog condenses a node's log: slow-query warnings are counted,
// anything else is quoted (the first few lines).
func summarizeLog(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	slow, other := 0, 0
	var slowest time.Duration
	tables := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if strings.Contains(line, `msg="SQL executed"`) {
			slow++
			if _, rest, ok := strings.Cut(line, "trace.duration="); ok {
				d, _ := time.ParseDuration(strings.Fields(rest)[0])
				slowest = max(slowest, d)
			}
			for _, t := range []string{"sessions", "users", "auctions", "events"} {
				if strings.Contains(line, "FROM "+t) || strings.Contains(line, `FROM \"`+t+`\"`) {
					tables[t] = true
				}
			}
			continue
		}
		if other++; other <= 3 {
			out = append(out, "`"+line+"`")
		}
	}
	if other > 3 {
		out = append(out, fmt.Sprintf("and %d more lines", other-3))
	}
	if slow > 0 {
		names := slices.Sorted(maps.Keys(tables))
		out = append([]string{fmt.Sprintf("%d slow-SQL warnings (slowest %s; reads of %s)", slow, slowest.Round(time.Millisecond),
			strings.Join(names, ", "))}, out...)
	}
	return out
}

// connect has workers open every stream of a phase against addrs. Phases
// use distinct source addresses, so that none waits for the ports the
// previous one closed.
func (b *sseBench) connect(ctx context.Context, workers []*sseProc, phase int, addrs []string) (sseConnected, error) {
	n, c := b.o.conns, len(workers)
	srcs := make([]string, max(2, (n+19999)/20000))
	for j := range srcs {
		srcs[j] = fmt.Sprintf("127.0.%d.%d", phase, j+2)
	}
	timeout := time.Minute + time.Duration(n/100)*time.Second
	b.logf("connecting %d streams to %d servers from %d processes", n, len(addrs), c)
	replies, err := callAll(ctx, workers, func(w int) sseCmd {
		first, last := w*n/c, (w+1)*n/c
		u0, u1 := first/b.o.perUser, max(first, last-1)/b.o.perUser
		return sseCmd{Op: "connect", Addrs: addrs, Path: b.path, Cookies: b.cookies[u0 : u1+1], CookieBase: u0,
			PerUser: b.o.perUser, First: first, Count: last - first, Srcs: srcs, Dial: b.o.dial, Timeout: timeout, Rehome: b.rehome}
	}, timeout+time.Minute)
	out := sseConnected{errs: make(map[string]int64)}
	for _, rp := range replies {
		out.held += rp.Open
		out.failed += rp.Failed
		out.retries += rp.Retries
		out.took = max(out.took, rp.Took)
		for k, v := range rp.Errors {
			out.errs[k] += v
		}
	}
	b.logf("%d streams live, %d failed, %d retries in %s %v", out.held, out.failed, out.retries, out.took.Round(time.Millisecond), out.errs)
	return out, err
}

func closeWorkers(ctx context.Context, workers []*sseProc) error {
	_, err := callAll(ctx, workers, func(int) sseCmd { return sseCmd{Op: "close"} }, time.Minute)
	return err
}

func status(ctx context.Context, workers []*sseProc, seq int64) (open, count, hb int64, err error) {
	replies, err := callAll(ctx, workers, func(int) sseCmd { return sseCmd{Op: "status", Seq: seq} }, 30*time.Second)
	for _, rp := range replies {
		open, count, hb = open+rp.Open, count+rp.Count, hb+rp.Heartbeats
	}
	return open, count, hb, err
}

// idleWindow is the idle window for heartbeat hb: --idle rounded up to
// whole heartbeats.
func (o sseOpts) idleWindow(hb time.Duration) time.Duration {
	return (o.idle + hb - 1) / hb * hb
}

// idleCPU measures each node's CPU over the idle window, in % of one core,
// the heartbeats the clients received per second meanwhile, and how busy
// the whole machine was (% of all cores). The nodes write heartbeats in
// bursts on wall-clock slots (realtime.HeartbeatSlot), so the window
// starts halfway between two slots and spans whole heartbeats: it then
// holds exactly the bursts of the heartbeat rate, where a window cut
// across a burst would count it in or out whole.
func (b *sseBench) idleCPU(ctx context.Context, hb time.Duration) ([]float64, float64, float64, error) {
	slot := realtime.HeartbeatSlot(hb)
	now := time.Now()
	if err := sleepCtx(ctx, now.Truncate(slot).Add(slot+slot/2).Sub(now)); err != nil {
		return nil, 0, 0, err
	}
	window := b.o.idleWindow(hb)
	_, _, hb0, err := status(ctx, b.workers, 0)
	if err != nil {
		return nil, 0, 0, err
	}
	c0 := make([]time.Duration, len(b.nodes))
	for i, p := range b.nodes {
		c0[i] = procCPU(p.pid)
	}
	t0 := time.Now()
	mb0, mt0 := machineCPU()
	b.logf("idle for %s", window)
	if err := sleepCtx(ctx, t0.Add(window).Sub(time.Now())); err != nil {
		return nil, 0, 0, err
	}
	out := make([]float64, len(b.nodes))
	wall := time.Since(t0)
	for i, p := range b.nodes {
		out[i] = 100 * float64(procCPU(p.pid)-c0[i]) / float64(wall)
	}
	busy := busySince(mb0, mt0)
	_, _, hb1, err := status(ctx, b.workers, 0)
	return out, float64(hb1-hb0) / wall.Seconds(), busy, err
}

// deliver makes b.o.bids events on each track in turn, each once the
// previous one has reached every live stream of its track (or 30 s passed)
// and at least b.o.spacing after it, then gathers every arrival.
func (b *sseBench) deliver(ctx context.Context, tracks []*sseTrack) ([]*sseDelivery, error) {
	for range b.o.bids {
		for _, t := range tracks {
			t0 := time.Now()
			seq, err := t.fire()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			t.seqs = append(t.seqs, seq)
			if err := sleepCtx(ctx, time.Until(t0.Add(b.o.spacing))); err != nil {
				return nil, err
			}
			for deadline := t0.Add(30 * time.Second); ; {
				open, count, _, err := status(ctx, t.workers, seq)
				if err != nil {
					return nil, err
				}
				if count >= open || time.Now().After(deadline) {
					break
				}
				if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
		return nil, err
	}
	var out []*sseDelivery
	for _, t := range tracks {
		replies, err := callAll(ctx, t.workers, func(int) sseCmd { return sseCmd{Op: "report"} }, 5*time.Minute)
		if err != nil {
			return nil, err
		}
		out = append(out, summarize(replies, t.seqs))
	}
	return out, nil
}
