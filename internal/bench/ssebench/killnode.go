package ssebench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
)

// The reconnect storm (#11 point 5): `gavel bench sse --kill-node` holds
// the streams over K ≥ 2 realtime nodes, kills the first node with SIGKILL
// while price changes keep coming, and times how long its watchers take to
// stream again from the survivors. The clients behave as EventSources
// would: each waits the retry: delay its stream was given, then reconnects
// with Last-Event-ID to the next node that accepts it (a proxy's choice).
// Every stream's price seqs are checked for gaps and duplicates across the
// move.

// killResult is what the kill-node run measured.
type killResult struct {
	conn              sseConnected
	held              int64 // streams live before the kill
	victim            int64 // streams on the killed node
	rehomed           int64
	first, took       time.Duration // kill → first and last stream live again
	cpu               time.Duration // the survivors' CPU from the kill until all were back
	clientCPU         time.Duration // the client processes' CPU meanwhile
	selfCPU           time.Duration // this process's (the api node placing the bids, NATS)
	wall              time.Duration // kill → all back
	busy              float64       // the machine's CPU busy meanwhile, % of all cores
	gaps, dups, open  int64
	failed, retries   int64
	bids              int
	delivered, wanted int64 // deliveries of the last price change
	load0, load1      string
	late, setup       [3]float64    // moves, worst client process: retry: wake-up lateness and set-up latency, p50/p90/max ms
	logs              []string      // the survivors' slow-SQL warnings and other log lines
	tried, back       []int64       // the moves' arrival curve (moveCurve), all client processes
	pgCPU             time.Duration // PostgreSQL's processes' CPU meanwhile
	stmts             []stmtStat    // its top statements meanwhile (pg_stat_statements preloaded)
	errs              map[string]int64
}

// killPhase runs the reconnect storm and prints its report.
func (b *sseBench) killPhase(ctx context.Context, stdout io.Writer) error {
	r := killResult{load0: benchkit.LoadAvg()}
	b.logf("starting %d realtime nodes", b.o.nodes)
	if err := b.startNodes(ctx, b.o.heartbeat); err != nil {
		return err
	}
	var err error
	b.rehome = true
	if r.conn, err = b.connect(ctx, b.workers, 0, victimAddrs(addrsOf(b.nodes), b.o.conns, b.o.victim)); err != nil {
		return err
	}
	if err := sleepCtx(ctx, b.o.settle); err != nil {
		return err
	}
	victim := b.nodes[0]
	r.victim = int64(nodeMetrics(victim.metricsAddr)["gavel_realtime_connections"])
	if r.held, _, _, err = status(ctx, b.workers, 0); err != nil {
		return err
	}
	n := 0
	fire := func() (int64, error) {
		n++
		return b.placeBid(ctx, n)
	}
	if _, err := fire(); err != nil {
		return err
	}
	b.logf("killing %s (%d streams) with SIGKILL", victim.name, r.victim)
	var cpu0, ccpu0 time.Duration
	for _, p := range b.nodes[1:] {
		cpu0 += procCPU(p.pid)
	}
	for _, p := range b.workers {
		ccpu0 += procCPU(p.pid)
	}
	busy0, total0 := machineCPU()
	self0 := procCPU(os.Getpid())
	statements := resetStatements(b.db)
	pg0 := postgresCPU()
	profiled := b.profileSurvivors(ctx)
	killed := time.Now()
	_ = syscall.Kill(-victim.pid, syscall.SIGKILL)
	// Price changes keep coming while the watchers move, so each resume
	// has something to replay.
	var seq int64
	deadline := killed.Add(2 * time.Minute)
	for {
		if seq, err = fire(); err != nil {
			return err
		}
		replies, err := callAll(ctx, b.workers, func(int) sseCmd { return sseCmd{Op: "status"} }, 30*time.Second)
		if err != nil {
			return err
		}
		var open, rehomed, first, last int64
		for _, rp := range replies {
			open, rehomed, last = open+rp.Open, rehomed+rp.Rehomed, max(last, rp.LastLive)
			if rp.FirstLive > 0 && (first == 0 || rp.FirstLive < first) {
				first = rp.FirstLive
			}
		}
		// Done when the killed node's streams are all back; the clients
		// may not even have seen the kill on the first poll.
		if (rehomed >= r.victim && open >= r.held) || time.Now().After(deadline) {
			r.rehomed = rehomed
			for _, p := range b.nodes[1:] {
				r.cpu += procCPU(p.pid)
			}
			r.cpu -= cpu0
			for _, p := range b.workers {
				r.clientCPU += procCPU(p.pid)
			}
			r.clientCPU -= ccpu0
			r.busy = busySince(busy0, total0)
			r.selfCPU = procCPU(os.Getpid()) - self0
			r.pgCPU = postgresCPUSince(pg0)
			if statements {
				r.stmts = topStatements(b.db, 8)
			}
			r.wall = time.Since(killed)
			if last > 0 {
				r.took = time.Unix(0, last).Sub(killed)
				r.first = time.Unix(0, first).Sub(killed)
			}
			break
		}
		if err := sleepCtx(ctx, b.o.stormBids); err != nil {
			return err
		}
	}
	// One more change once everyone is back, delivered to every stream.
	if seq, err = fire(); err != nil {
		return err
	}
	r.bids = n
	for until := time.Now().Add(30 * time.Second); ; {
		open, count, _, err := status(ctx, b.workers, seq)
		if err != nil {
			return err
		}
		r.delivered, r.wanted = count, open
		if count >= open || time.Now().After(until) {
			break
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	replies, err := callAll(ctx, b.workers, func(int) sseCmd { return sseCmd{Op: "status"} }, 30*time.Second)
	if err != nil {
		return err
	}
	r.errs = map[string]int64{}
	for _, rp := range replies {
		for k, v := range rp.Errors {
			r.errs[k] += v
		}
		r.gaps, r.dups, r.open = r.gaps+rp.Gaps, r.dups+rp.Dups, r.open+rp.Open
		r.failed, r.retries = r.failed+rp.Failed, r.retries+rp.Retries
	}
	closed, err := callAll(ctx, b.workers, func(int) sseCmd { return sseCmd{Op: "close", Since: killed.UnixNano()} }, time.Minute)
	if err != nil {
		return err
	}
	for _, rp := range closed {
		for i := range 3 {
			r.late[i], r.setup[i] = max(r.late[i], rp.MoveLate[i]), max(r.setup[i], rp.MoveTook[i])
		}
		r.tried, r.back = sumCurves(r.tried, rp.Tried), sumCurves(r.back, rp.Back)
	}
	if err := profiled(); err != nil {
		b.logf("profile: %v", err)
	}
	stopAll(b.nodes[1:])
	for _, p := range b.nodes[1:] {
		for _, l := range summarizeLog(p.logPath) {
			r.logs = append(r.logs, p.name+": "+l)
		}
	}
	b.nodes = nil
	r.load1 = benchkit.LoadAvg()
	b.killReport(stdout, r)
	return nil
}

func (b *sseBench) killReport(w io.Writer, r killResult) {
	// The storm's own rate: the set-ups from the first watcher back to the
	// last, per survivor. The retry: jitter spreads arrivals over half the
	// retry delay, so this is also bounded by how fast they arrive.
	rate := 0.0
	if spread := r.took - r.first; spread > 0 {
		rate = float64(r.rehomed) / spread.Seconds() / float64(max(1, b.o.nodes-1))
	}
	fmt.Fprintf(w, "## Reconnect storm: a realtime node killed\n\n")
	host, _ := os.Hostname()
	fmt.Fprintf(w, "machine: %s, %d CPUs, %s; PostgreSQL fsync=%s synchronous_commit=%s; load average %s at start, %s at end\n\n",
		host, runtime.NumCPU(), runtime.Version(), b.fsync, b.syncCommit, r.load0, r.load1)
	victimFlag := ""
	if b.o.victim > 0 {
		victimFlag = fmt.Sprintf(" --victim %d", b.o.victim)
	}
	if b.o.stormBids != 200*time.Millisecond {
		victimFlag += " --storm-bids " + b.o.stormBids.String()
	}
	fmt.Fprintf(w, "command: `gavel bench sse --kill-node --conns %d --nodes %d%s`: %d streams to one auction over %d realtime node processes; "+
		"the first is killed with SIGKILL while price changes keep coming; clients wait their stream's retry: and reconnect with Last-Event-ID to the next node that accepts them\n\n",
		b.o.conns, b.o.nodes, victimFlag, b.o.conns, b.o.nodes)
	fmt.Fprintln(w, "| measurement | result | target |")
	fmt.Fprintln(w, "|---|---|---|")
	fmt.Fprintf(w, "| streams live before the kill | %d (connected in %s) | |\n", r.held, r.conn.took.Round(100*time.Millisecond))
	fmt.Fprintf(w, "| streams on the killed node | %d | 16,000 |\n", r.victim)
	fmt.Fprintf(w, "| streaming again from the survivors | %d | all |\n", r.rehomed)
	fmt.Fprintf(w, "| kill → last watcher streaming again (retry: wait included) | **%s** | ≤ 5 s |\n", r.took.Round(10*time.Millisecond))
	fmt.Fprintf(w, "| kill → first watcher streaming again | %s | |\n", r.first.Round(10*time.Millisecond))
	fmt.Fprintf(w, "| set-ups per surviving node per second, first to last (arrivals spread by retry: jitter) | %.0f | ≥ 4,000 |\n", rate)
	if r.rehomed > 0 {
		fmt.Fprintf(w, "| survivors' CPU meanwhile (price changes and heartbeats included) | %s, %.0f µs per stream moved | |\n",
			r.cpu.Round(10*time.Millisecond), float64(r.cpu.Microseconds())/float64(r.rehomed))
	}
	fmt.Fprintf(w, "| moved watcher's reconnect, from its retry: delay's end: start late by (client lag) p50 / p90 / max | %.0f / %.0f / %.0f ms | |\n", r.late[0], r.late[1], r.late[2])
	fmt.Fprintf(w, "| moved watcher's reconnect start → stream head (survivor's set-up latency) p50 / p90 / max | %.0f / %.0f / %.0f ms | |\n", r.setup[0], r.setup[1], r.setup[2])
	fmt.Fprintf(w, "| client processes' CPU meanwhile | %s | |\n", r.clientCPU.Round(10*time.Millisecond))
	fmt.Fprintf(w, "| bench process's CPU meanwhile (api node placing the bids, NATS) | %s | |\n", r.selfCPU.Round(10*time.Millisecond))
	fmt.Fprintf(w, "| PostgreSQL's CPU meanwhile | %s | |\n", r.pgCPU.Round(10*time.Millisecond))
	rest := time.Duration(r.busy/100*float64(runtime.NumCPU())*float64(r.wall)) - r.cpu - r.clientCPU - r.selfCPU - r.pgCPU
	fmt.Fprintf(w, "| machine CPU busy meanwhile | %.0f%% of %d cores over %s; the rest (other processes) %s | |\n",
		r.busy, runtime.NumCPU(), r.wall.Round(10*time.Millisecond), rest.Round(10*time.Millisecond))
	fmt.Fprintf(w, "| gaps / duplicates across the move | **%d / %d** | 0 / 0 |\n", r.gaps, r.dups)
	fmt.Fprintf(w, "| last price change delivered | %d of %d streams | all |\n", r.delivered, r.wanted)
	fmt.Fprintf(w, "| price changes during the run | %d | |\n", r.bids)
	fmt.Fprintf(w, "| set-up retries / failures | %d / %d %v | |\n", r.retries, r.failed, r.errs)
	curveTable(w, r.tried, r.back)
	if len(r.stmts) > 0 {
		fmt.Fprintf(w, "\nPostgreSQL's statements from the kill until all were back (pg_stat_statements):\n\n")
		fmt.Fprintln(w, "| calls | rows per call | ms in all | statement |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, s := range r.stmts {
			fmt.Fprintf(w, "| %d | %.1f | %.0f | `%s` |\n", s.Calls, float64(s.Rows)/float64(max(1, s.Calls)), s.MS, strings.ReplaceAll(s.Query, "|", "\\|"))
		}
	}
	if len(r.logs) > 0 {
		fmt.Fprintln(w)
		for _, l := range r.logs {
			fmt.Fprintf(w, "- %s\n", l)
		}
	}
}

// victimAddrs weights the node list so that about victim of conns streams
// land on the first node, which is the one killed: the clients spread
// streams over the list round-robin, and a stream moving off a dead entry
// is refused there at once and goes on to the next. victim 0 keeps the
// even spread.
func victimAddrs(addrs []string, conns, victim int) []string {
	rest := len(addrs) - 1
	if victim <= 0 || rest <= 0 || conns <= victim {
		return addrs
	}
	// victim / (k + rest) of every k + rest streams go to the first node.
	k := max(1, int(math.Round(float64(victim)*float64(rest)/float64(conns-victim))))
	out := make([]string, 0, k+rest)
	for range k {
		out = append(out, addrs[0])
	}
	return append(out, addrs[1:]...)
}

// profileSurvivors starts fetching each surviving node's CPU profile for
// the next profileSeconds (--profile DIR; the nodes run with
// GAVEL_PPROF=on) and returns a func that waits for them to be written.
func (b *sseBench) profileSurvivors(ctx context.Context) func() error {
	if b.o.profile == "" {
		return func() error { return nil }
	}
	const profileSeconds = 20 // within the metrics server's 30 s WriteTimeout
	errs := make(chan error, len(b.nodes))
	for _, p := range b.nodes[1:] {
		go func() {
			path := filepath.Join(b.o.profile, p.name+".cpu.pprof")
			errs <- fetchTo(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.metricsAddr, profileSeconds), path)
		}()
	}
	return func() error {
		var first error
		for range b.nodes[1:] {
			first = cmpOr(first, <-errs)
		}
		if first == nil {
			b.logf("survivors' CPU profiles written to %s", b.o.profile)
		}
		return first
	}
}

// fetchTo writes the body of a GET of url to path.
func fetchTo(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s (is GAVEL_PPROF on?)", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
