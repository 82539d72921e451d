package chaos

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// RunOptions configure a fault run.
type RunOptions struct {
	Cluster  ClusterOptions
	Short    bool // one kill and one outage, about a minute in all
	Storm    StormOptions
	Watchers WatcherOptions
	// Baseline is the quiet period before the first fault (default 10s,
	// short 5s); Gap the time between faults (default 10s, short 6s).
	Baseline, Gap time.Duration
	// Bound is the nodes' GAVEL_DEPENDENCY_TIMEOUT (default 5s).
	Bound time.Duration
	Out   io.Writer
}

// Outcome is a finished run: its evidence, the checks' results, and the
// cluster, still running (the self-test tampers with it); Close it.
type Outcome struct {
	Cluster  *Cluster
	Evidence *Evidence
	Results  []Result
}

// OK reports whether every check passed.
func (o *Outcome) OK() bool { return allOK(o.Results) }

func allOK(rs []Result) bool {
	for _, r := range rs {
		if !r.OK {
			return false
		}
	}
	return len(rs) > 0
}

// Run starts the cluster, runs the storm and the watchers through every
// fault, waits for everything to settle, and checks the evidence. An error
// means the run itself could not be done; failed checks are in Results.
func Run(ctx context.Context, o RunOptions) (*Outcome, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Bound <= 0 {
		o.Bound = 5 * time.Second
	}
	if o.Baseline <= 0 {
		o.Baseline = map[bool]time.Duration{false: 10 * time.Second, true: 5 * time.Second}[o.Short]
	}
	if o.Gap <= 0 {
		o.Gap = map[bool]time.Duration{false: 10 * time.Second, true: 6 * time.Second}[o.Short]
	}
	o.Cluster.Log = o.Out
	if o.Cluster.Env == nil {
		o.Cluster.Env = map[string]string{}
	}
	o.Cluster.Env["GAVEL_DEPENDENCY_TIMEOUT"] = o.Bound.String()
	c, err := StartCluster(ctx, o.Cluster)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Cluster: c}
	faults := Faults(c, o.Short)
	// The auctions end from a third of the way through the faults to just
	// after the last: closes happen under faults, and bids flow until the
	// end. Faults take longer than their hold (restarts, readiness), so
	// allow for that.
	plan := o.Baseline
	for _, f := range faults {
		plan += f.Hold + o.Gap + 3*time.Second
	}
	// Heals can take longer than planned on a busy machine (a node's
	// restart, crash recovery), and recovery needs bids to measure: the
	// last auction ends a quarter of the plan after it.
	if o.Storm.FirstEnd == 0 {
		o.Storm.FirstEnd, o.Storm.LastEnd = max(plan/3, 15*time.Second), plan+plan/4+o.Gap
	}
	j := &journal{}
	storm := NewStorm(c, j, o.Storm)
	watchers := NewWatchers(c, j, o.Watchers)
	if err := storm.Setup(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("storm setup: %w", err)
	}
	if err := watchers.Setup(ctx, storm.Auctions); err != nil {
		c.Close()
		return nil, fmt.Errorf("watchers setup: %w", err)
	}
	c.logf("storm      %d bidders on %d auctions; %d watchers", storm.opts.Bidders, len(storm.Auctions), len(watchers.ws))

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	var wg sync.WaitGroup
	wg.Go(func() { storm.Run(runCtx) })
	var wwg sync.WaitGroup
	wwg.Go(func() { watchers.Run(watchCtx) })

	ev := &Evidence{Bound: o.Bound, BaselineFrom: time.Now().Add(2 * time.Second)}
	sleep(ctx, o.Baseline)
	ev.BaselineTo = time.Now()
	for _, f := range faults {
		if err := f.Apply(ctx, c); err != nil {
			stopRun()
			stopWatch()
			wg.Wait()
			wwg.Wait()
			c.Close()
			return nil, err
		}
		ev.Faults = append(ev.Faults, f)
		sleep(ctx, o.Gap)
	}
	c.logf("settle     waiting for the bidding to end, every auction to close and every watcher to catch up")
	wg.Wait() // the bidders stop at the auctions' ends
	ev.StormEnd = time.Now()
	if err := settle(ctx, c, storm, watchers); err != nil {
		c.logf("settle     %v", err)
	}
	stopWatch()
	wwg.Wait()
	ev.End = time.Now()
	ev.Requests, ev.Acks, ev.Watchers = j.all(), storm.Acks(), watchers.Logs()
	for _, a := range storm.Auctions {
		ev.Auctions = append(ev.Auctions, a.ID)
	}
	if err := collect(ctx, c, ev); err != nil {
		c.Close()
		return nil, err
	}
	out.Evidence, out.Results = ev, Check(ev)
	return out, nil
}

// collect reads the database and the stream into ev, trying again for a
// minute: on a loaded machine, JetStream can be between leaders for a few
// seconds ("no responders") long after the last fault.
func collect(ctx context.Context, c *Cluster, ev *Evidence) error {
	var err error
	if ev.DB, err = retry(ctx, func() (DBState, error) { return loadDB(ctx, c.AppURL) }); err != nil {
		return fmt.Errorf("read the database: %w", err)
	}
	if ev.Stream, err = retry(ctx, func() ([]StreamMsg, error) { return loadStream(ctx, c.NATSURL()) }); err != nil {
		return fmt.Errorf("read the stream: %w", err)
	}
	// Jobs that go on after the storm (invoicing, notices) may commit and
	// publish events between the two reads, so the stream can end with
	// events newer than the database's snapshot. Those rows are read now
	// and join the snapshot: an event the outbox truly lacks stays missing.
	known := make(map[string]bool, len(ev.DB.Events))
	for _, e := range ev.DB.Events {
		known[e.EventID] = true
	}
	var late []string
	for _, m := range ev.Stream {
		if !known[m.EventID] {
			late = append(late, m.EventID)
		}
	}
	if len(late) == 0 {
		return nil
	}
	rows, err := retry(ctx, func() ([]EventRow, error) { return loadLateEvents(ctx, c.AppURL, late) })
	if err != nil {
		return fmt.Errorf("read the events published after the snapshot: %w", err)
	}
	ev.DB.Events = append(ev.DB.Events, rows...)
	return nil
}

func retry[T any](ctx context.Context, f func() (T, error)) (T, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := f()
		if err == nil || time.Now().After(deadline) || !sleep(ctx, time.Second) {
			return v, err
		}
	}
}

// settle waits, within a few minutes, for every auction to close, the
// outbox to drain, and every watcher to reach each auction's last event.
func settle(ctx context.Context, c *Cluster, s *Storm, w *Watchers) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.AppURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	ids := make([]int64, len(s.Auctions))
	for i, a := range s.Auctions {
		ids[i] = a.ID
	}
	for {
		var open, pending int
		final := map[int64]int64{}
		err := conn.QueryRow(ctx, "SELECT count(*) FROM auctions WHERE id = ANY($1) AND status <> 'closed'", ids).Scan(&open)
		if err == nil {
			err = conn.QueryRow(ctx, "SELECT count(*) FROM events WHERE published_at IS NULL").Scan(&pending)
		}
		if err == nil {
			rows, qerr := conn.Query(ctx, "SELECT id, seq FROM auctions WHERE id = ANY($1)", ids)
			if qerr == nil {
				for rows.Next() {
					var id, seq int64
					if rows.Scan(&id, &seq) == nil {
						final[id] = seq
					}
				}
				rows.Close()
			}
		}
		caught, behind := w.caughtUp(final)
		if err == nil && open == 0 && pending == 0 && caught {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not settled: %d auctions open, %d events unpublished, %s (%v)", open, pending, behind, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Summary counts the run's traffic for the report.
func (ev *Evidence) Summary() string {
	kinds := map[string]int{}
	for _, r := range ev.Requests {
		kinds[r.Kind]++
	}
	got := 0
	for _, w := range ev.Watchers {
		got += len(w.Got)
	}
	return strconv.Itoa(kinds["bid"]) + " bid requests, " + strconv.Itoa(len(ev.Acks)) + " receipts, " +
		strconv.Itoa(kinds["stream"]) + " stream connections, " + strconv.Itoa(got) + " events at watchers, " +
		ev.End.Sub(ev.BaselineFrom).Round(time.Second).String() + " of faults and storm"
}
