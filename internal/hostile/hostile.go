// Package hostile is Gavel's hostile-client suite: it starts a real node
// (bin/gavel, by exec) on SQLite and on PostgreSQL and attacks it the way
// a hostile client would, then checks that the node still serves and
// holds no more goroutines or memory than before.
//
//   - the authorization matrix: every route of `gavel routes` × seven
//     actors, each with its expected status (matrix_cases.go);
//   - a leak scan of every response for what its viewer may not see;
//   - a bad-input battery fuzzed from docs/API.md: never a 5xx;
//   - decompression bombs and oversized, endless or ambiguous bodies;
//   - connection floods against the per-IP and per-node caps, slow
//     headers, running out of file descriptors;
//   - limiter and login floods, with an honest login after each, and the
//     page latency during a login flood against idle.
//
// `make security` runs it in full and prints a table (docs/SECURITY.md);
// TestHostileShort runs a short version in `make test`. Nothing here is
// imported by the product: the node is a black box reached over HTTP.
package hostile

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Options configure a run.
type Options struct {
	// Gavel is the binary to attack (bin/gavel).
	Gavel string
	// PostgresAdmin is a PostgreSQL URL allowed to CREATE DATABASE, on
	// which the run creates a database of its own; PostgresURL, instead,
	// is an empty database to use as it is. With neither, the run is on
	// SQLite only.
	PostgresAdmin, PostgresURL string
	// SQLite runs on SQLite too.
	SQLite bool
	// Short scales every scenario down for `make test`.
	Short bool
	// Only, if set, runs only the scenarios whose names begin with one of
	// its comma-separated parts.
	Only string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// Result is one scenario on one database.
type Result struct {
	DB, Scenario string
	Requests     int
	Summary      string // what happened, in a few words
	Failures     []string
	Before       Usage
	After        Usage
	Took         time.Duration
}

// Passed reports whether the scenario found nothing wrong.
func (r Result) Passed() bool { return len(r.Failures) == 0 }

// scenario is one attack. It reports what it did; failures are what the
// node got wrong.
type scenario struct {
	name string
	run  func(r *runner, ctx context.Context) (requests int, summary string, failures []string)
	// ownNode scenarios start a node of their own (running out of file
	// descriptors), so the shared node's baseline does not apply.
	ownNode bool
}

func scenarios() []scenario {
	return []scenario{
		{name: "authorization matrix", run: (*runner).matrix},
		{name: "bad-input battery", run: (*runner).battery},
		{name: "leak scan", run: (*runner).leaks},
		{name: "decompression bombs", run: (*runner).bombs},
		{name: "body limits and framing", run: (*runner).bodies},
		{name: "connection flood", run: (*runner).connFlood},
		{name: "slow headers", run: (*runner).slowHeaders},
		{name: "limiter flood", run: (*runner).limiterFlood},
		{name: "login flood", run: (*runner).loginFlood},
		{name: "page latency under a login flood", run: (*runner).loginLatency},
		{name: "out of file descriptors", run: (*runner).emfile, ownNode: true},
	}
}

// runner holds one database's run.
type runner struct {
	o     Options
	db    string
	dbURL string
	w     *world
	// seen are the responses kept for the leak scan.
	seen []exchange
	// routes are the node's routes, from gavel routes.
	routes []Route
}

func (r *runner) logf(format string, args ...any) {
	if r.o.Log != nil {
		fmt.Fprintf(r.o.Log, "hostile [%s] "+format+"\n", append([]any{r.db}, args...)...)
	}
}

// scale returns full, or short in a short run.
func (r *runner) scale(full, short int) int {
	if r.o.Short {
		return short
	}
	return full
}

// Run runs the suite on each database asked for.
func Run(ctx context.Context, o Options) ([]Result, error) {
	routes, err := Routes(ctx, o.Gavel)
	if err != nil {
		return nil, err
	}
	var dbs []string
	if o.SQLite {
		dbs = append(dbs, "sqlite")
	}
	if o.PostgresAdmin != "" || o.PostgresURL != "" {
		dbs = append(dbs, "postgres")
	}
	var results []Result
	for _, db := range dbs {
		res, err := runOn(ctx, o, db, routes)
		results = append(results, res...)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

func runOn(ctx context.Context, o Options, db string, routes []Route) ([]Result, error) {
	r := &runner{o: o, db: db, routes: routes}
	if db == "postgres" && o.PostgresURL != "" {
		r.dbURL = o.PostgresURL
	} else if db == "postgres" {
		url, drop, err := freshDatabase(ctx, o.PostgresAdmin)
		if err != nil {
			return nil, err
		}
		defer drop()
		r.dbURL = url
	}
	start := time.Now()
	w, err := newWorld(ctx, NodeOptions{Gavel: o.Gavel, DatabaseURL: r.dbURL,
		Env: []string{fmt.Sprintf("GAVEL_MAX_CONNS=%d", floodMaxConns), fmt.Sprintf("GAVEL_MAX_CONNS_PER_IP=%d", floodMaxConnsPerIP)}})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", db, err)
	}
	defer w.close()
	r.w = w
	r.logf("node up and world built in %s", time.Since(start).Round(time.Millisecond))
	var results []Result
	for _, s := range scenarios() {
		if !selected(o.Only, s.name) {
			continue
		}
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
		results = append(results, r.runScenario(ctx, s))
	}
	return results, nil
}

// selected reports whether the scenario name begins with one of only's
// comma-separated parts; all are when only is empty.
func selected(only, name string) bool {
	if only == "" {
		return true
	}
	for part := range strings.SplitSeq(only, ",") {
		if part = strings.TrimSpace(part); part != "" && strings.HasPrefix(name, part) {
			return true
		}
	}
	return false
}

// runScenario runs s, then checks that the node still serves and that
// its goroutines and heap are back near where they were.
func (r *runner) runScenario(ctx context.Context, s scenario) Result {
	res := Result{DB: r.db, Scenario: s.name}
	r.logf("%s…", s.name)
	before, err := r.w.node.Usage()
	if err != nil && !s.ownNode {
		res.Failures = append(res.Failures, "metrics before: "+err.Error())
	}
	res.Before = before
	start := time.Now()
	res.Requests, res.Summary, res.Failures = s.run(r, ctx)
	res.Took = time.Since(start)
	if !s.ownNode {
		res.Failures = append(res.Failures, r.stillServes(ctx)...)
		after, failures := r.settle(ctx, before)
		res.After = after
		res.Failures = append(res.Failures, failures...)
	}
	r.logf("%s: %d requests, %s, %d failures (%s)", s.name, res.Requests, res.Summary, len(res.Failures), res.Took.Round(time.Millisecond))
	for _, f := range res.Failures {
		r.logf("  FAIL %s", f)
	}
	return res
}

// stillServes checks the node after an attack: it runs, its pages and API
// answer, and an honest user can log in.
func (r *runner) stillServes(ctx context.Context) []string {
	if exited, err := r.w.node.Exited(); exited {
		return []string{fmt.Sprintf("the node exited (%v):\n%s", err, r.w.node.LogTail(20))}
	}
	var out []string
	c := newClient(r.w.node.URL, r.w.pool.take(), 1)
	defer c.close()
	for _, path := range []string{"/healthz", "/", "/api/v1/auctions"} {
		if resp := c.do(ctx, request{Method: "GET", Path: path}); resp.Err != nil || resp.Status != 200 {
			out = append(out, fmt.Sprintf("afterwards GET %s: %d %v", path, resp.Status, resp.Err))
		}
	}
	honest := &actor{name: "honest", acct: r.w.actors["newcomer"].acct, c: c}
	if _, err := r.w.session(ctx, honest); err != nil {
		out = append(out, "afterwards an honest login failed: "+err.Error())
	}
	return out
}

// Slack allowed over the baseline once an attack is over: a few
// goroutines come and go on their own (the scheduler, NATS), and the heap
// keeps some of what it grew to until the runtime returns it.
const (
	goroutineSlack = 25
	heapSlack      = 48 << 20
	settleTime     = 60 * time.Second
)

// settle waits until the node's goroutines and heap are back within slack
// of before, and says so if they are not.
func (r *runner) settle(ctx context.Context, before Usage) (Usage, []string) {
	deadline := time.Now().Add(settleTime)
	for {
		after, err := r.w.node.Usage()
		if err != nil {
			return after, []string{"metrics after: " + err.Error()}
		}
		if after.Goroutines <= before.Goroutines+goroutineSlack && after.HeapInuse <= before.HeapInuse+heapSlack {
			return after, nil
		}
		if time.Now().After(deadline) {
			return after, []string{fmt.Sprintf("not back to its baseline after %s: before %s, after %s", settleTime, before, after)}
		}
		select {
		case <-ctx.Done():
			return after, []string{ctx.Err().Error()}
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Table renders results as a markdown table.
func Table(results []Result) string {
	var b strings.Builder
	b.WriteString("| database | scenario | requests | what happened | goroutines before → after | heap MiB before → after | result |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		verdict := "pass"
		if !r.Passed() {
			verdict = fmt.Sprintf("**FAIL** (%d)", len(r.Failures))
		}
		usage := "—"
		heap := "—"
		if r.Before.Goroutines > 0 && r.After.Goroutines > 0 {
			usage = fmt.Sprintf("%d → %d", r.Before.Goroutines, r.After.Goroutines)
			heap = fmt.Sprintf("%.1f → %.1f", r.Before.HeapInuse/(1<<20), r.After.HeapInuse/(1<<20))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s |\n", r.DB, r.Scenario, r.Requests, r.Summary, usage, heap, verdict)
	}
	return b.String()
}
