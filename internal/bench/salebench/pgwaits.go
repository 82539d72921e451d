package salebench

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// waitEvery is how often the wait sampler reads pg_stat_activity. Each
// read takes ~0.2 ms of a backend, so the sampler costs PostgreSQL up to
// a tenth of a core: a diagnostic, not for a run whose figures are kept.
const waitEvery = 2 * time.Millisecond

// A waitKey is what one active backend was doing at one sample: the
// statement it ran (its first words) and either "CPU" (no wait event:
// running, or runnable and waiting for a core, which PostgreSQL cannot
// tell apart) or the wait event it was in.
type waitKey struct{ stmt, state string }

// waitSampler counts, at every sample, what PostgreSQL's active client
// backends were doing. It answers where a bid's time inside PostgreSQL
// went (on CPU in which statement, or waiting on the WAL, a lock, …)
// in the live benchmark, where EXPLAIN on a quiet server does not.
type waitSampler struct {
	mu      sync.Mutex
	counts  map[waitKey]int
	samples int
	began   time.Time
	ended   time.Time
	cancel  context.CancelFunc
	done    chan struct{}
	err     error
}

// startWaits starts sampling on a connection of its own. db must be
// PostgreSQL.
func startWaits(ctx context.Context, db *gorm.DB) (*waitSampler, error) {
	if err := needPostgres(db, "--pg-waits samples PostgreSQL's pg_stat_activity"); err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &waitSampler{counts: map[waitKey]int{}, began: time.Now(), cancel: cancel, done: make(chan struct{})}
	go w.run(ctx, conn)
	return w, nil
}

func (w *waitSampler) run(ctx context.Context, conn *sql.Conn) {
	defer close(w.done)
	defer conn.Close()
	t := time.NewTicker(waitEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.sample(ctx, conn); err != nil {
			if ctx.Err() == nil {
				w.err = err
			}
			return
		}
	}
}

func (w *waitSampler) sample(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, `SELECT COALESCE(wait_event_type, ''), COALESCE(wait_event, ''), query
		FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var keys []waitKey
	for rows.Next() {
		var typ, event, query string
		if err := rows.Scan(&typ, &event, &query); err != nil {
			return err
		}
		keys = append(keys, waitKey{stmt: statementHead(query), state: waitState(typ, event)})
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

// needPostgres refuses a diagnostic that only PostgreSQL has, saying why.
func needPostgres(db *gorm.DB, what string) error {
	if name := db.Dialector.Name(); name != "postgres" {
		return fmt.Errorf("%s; this run's database is %s", what, name)
	}
	return nil
}

// stop ends the sampling and writes the table to file.
func (w *waitSampler) stop(file string) error {
	w.cancel()
	<-w.done
	w.ended = time.Now()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	w.write(f)
	return errors.Join(w.err, f.Close())
}

// statementHead names a statement by its first words, whitespace
// collapsed: enough to tell the bid path's statements apart.
func statementHead(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	const n = 56
	if len(q) > n {
		q = q[:n] + "…"
	}
	return q
}

func waitState(typ, event string) string {
	if typ == "" {
		return "CPU"
	}
	return typ + ":" + event
}

// write prints the counts as a markdown table, the largest first, each
// with the time it stands for: its samples times the mean interval.
func (w *waitSampler) write(out io.Writer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	span := w.ended.Sub(w.began)
	every := waitEvery
	if w.samples > 0 {
		every = span / time.Duration(w.samples)
	}
	fmt.Fprintf(out, "PostgreSQL's active client backends, sampled from pg_stat_activity every %s (mean %s) for %s: %d samples.\n",
		waitEvery, every.Round(10*time.Microsecond), span.Round(time.Millisecond), w.samples)
	fmt.Fprintln(out, "\"CPU\" is no wait event: running, or runnable and waiting for a core.")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| statement | state | samples | ≈ time |")
	fmt.Fprintln(out, "|---|---|---|---|")
	keys := make([]waitKey, 0, len(w.counts))
	for k := range w.counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b waitKey) int {
		if c := cmp.Compare(w.counts[b], w.counts[a]); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.stmt, b.stmt), cmp.Compare(a.state, b.state))
	})
	for _, k := range keys {
		n := w.counts[k]
		fmt.Fprintf(out, "| `%s` | %s | %d | %s |\n", strings.ReplaceAll(k.stmt, "|", "\\|"), k.state, n,
			(time.Duration(n) * every).Round(time.Millisecond))
	}
}
