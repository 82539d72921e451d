package benchkit

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// PGWaitKey is what one backend was doing at one sample: What (its
// statement, its session state, or the background work it does, as the
// sampling query chose) and Wait, its wait event as type:event, or ""
// when it had none: running, or runnable and waiting for a core, which
// PostgreSQL cannot tell apart.
type PGWaitKey struct{ What, Wait string }

// PGWaits counts, sample by sample, the rows a query of pg_stat_activity
// returns: where PostgreSQL's backends spent a phase, on CPU in what or
// waiting on what, in a live run where EXPLAIN on a quiet server does not
// tell.
type PGWaits struct {
	mu      sync.Mutex
	counts  map[PGWaitKey]int
	samples int
	began   time.Time
	ended   time.Time
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
}

// SamplePGWaits runs query on conn every step until Stop. The query
// returns rows of (what, wait_event_type, wait_event), NULLs coalesced to
// empty strings, and should leave out its own backend (pid <> pg_backend_pid()). The
// sampler owns conn and closes it.
func SamplePGWaits(ctx context.Context, conn *sql.Conn, step time.Duration, query string) *PGWaits {
	ctx, cancel := context.WithCancel(ctx)
	w := &PGWaits{counts: map[PGWaitKey]int{}, began: time.Now(), cancel: cancel, done: make(chan struct{})}
	go w.run(ctx, conn, step, query)
	return w
}

func (w *PGWaits) run(ctx context.Context, conn *sql.Conn, step time.Duration, query string) {
	defer close(w.done)
	defer conn.Close()
	t := time.NewTicker(step)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.sample(ctx, conn, query); err != nil {
			if ctx.Err() == nil {
				w.err = err
			}
			return
		}
	}
}

func (w *PGWaits) sample(ctx context.Context, conn *sql.Conn, query string) error {
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	var keys []PGWaitKey
	for rows.Next() {
		var what, typ, event string
		if err := rows.Scan(&what, &typ, &event); err != nil {
			return err
		}
		k := PGWaitKey{What: what}
		if typ != "" {
			k.Wait = typ + ":" + event
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.samples++
	for _, k := range keys {
		w.counts[k]++
	}
	return nil
}

// Stop ends the sampling and reports why it ended early, if it did (the
// counts up to then stand).
func (w *PGWaits) Stop() error {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended.IsZero() {
		w.ended = time.Now()
	}
	return w.err
}

// Samples reports how many samples were taken.
func (w *PGWaits) Samples() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples
}

// Counts returns a copy of the counts and the keys by count, largest
// first.
func (w *PGWaits) Counts() (map[PGWaitKey]int, []PGWaitKey) {
	w.mu.Lock()
	counts := maps.Clone(w.counts)
	w.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b PGWaitKey) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a.What, b.What), cmp.Compare(a.Wait, b.Wait))
	})
	return counts, keys
}

// WriteTable writes the counts, after Stop, as a markdown table, the
// largest first, each with the time it stands for: its samples times the
// mean interval between samples. A key without a wait event shows as
// "CPU".
func (w *PGWaits) WriteTable(out io.Writer, step time.Duration) {
	counts, keys := w.Counts()
	w.mu.Lock()
	span, samples := w.ended.Sub(w.began), w.samples
	w.mu.Unlock()
	every := step
	if samples > 0 {
		every = span / time.Duration(samples)
	}
	fmt.Fprintf(out, "PostgreSQL's active client backends, sampled from pg_stat_activity every %s (mean %s) for %s: %d samples.\n",
		step, every.Round(10*time.Microsecond), span.Round(time.Millisecond), samples)
	fmt.Fprintln(out, "\"CPU\" is no wait event: running, or runnable and waiting for a core.")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| statement | state | samples | ≈ time |")
	fmt.Fprintln(out, "|---|---|---|---|")
	for _, k := range keys {
		state := cmp.Or(k.Wait, "CPU")
		fmt.Fprintf(out, "| `%s` | %s | %d | %s |\n", strings.ReplaceAll(k.What, "|", "\\|"), state, counts[k],
			(time.Duration(counts[k]) * every).Round(time.Millisecond))
	}
}
