package benchkit

// Evidence of where bids wait: per-phase CPU, block, mutex and goroutine
// profiles of this process (the node and the in-process service run here),
// and PostgreSQL's own view of what its sessions wait on.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the wait sampler
)

// Sampling rates while profiling: one blocking event per 10 µs blocked, one
// mutex contention event in 10. Enough to rank the waits without slowing
// the phase measurably.
const (
	blockRate    = 10_000
	mutexRate    = 10
	pgSampleStep = 20 * time.Millisecond
)

// PhaseProfile records one phase's evidence into dir, files named after
// the phase's slug.
type PhaseProfile struct {
	dir, slug string
	cpu       *os.File
	waits     *PGWaits // nil: no database connection for the sampler
	sampleDB  *sql.DB
	mid       *time.Timer
	conn      *pgx.Conn
	began     time.Time
	pg0       pgCounters
}

// slugOf turns a phase name into a file name.
func slugOf(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if s := b.String(); s != "" && !strings.HasSuffix(s, "-") {
				b.WriteByte('-')
			}
		}
	}
	return strings.Trim(b.String(), "-")
}

// StartPhaseProfile starts a phase's profiles: CPU for the whole phase, block
// and mutex counts from now (written as a base and a final profile, to be
// read with pprof -diff_base), a goroutine dump at mid-phase, and a
// sampler of pg_stat_activity on its own connection to dbURL. An empty
// dir returns nil, and Finish accepts nil.
func StartPhaseProfile(ctx context.Context, dir, name, dbURL string, d time.Duration) (*PhaseProfile, error) {
	if dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := &PhaseProfile{dir: dir, slug: slugOf(name)}
	runtime.SetBlockProfileRate(blockRate)
	runtime.SetMutexProfileFraction(mutexRate)
	p.write("block-base", "block", 0)
	p.write("mutex-base", "mutex", 0)
	f, err := os.Create(p.path("cpu"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile (is --cpuprofile also set?): %w", err)
	}
	p.cpu = f
	p.mid = time.AfterFunc(d/2, func() { p.write("goroutines-mid", "goroutine", 1) })
	// The sampler gets a connection of its own: it ends with a cancelled
	// query, which closes it. Without one the profiles still work and
	// the report says "no samples".
	if db, err := sql.Open("pgx", dbURL); err == nil {
		if conn, err := db.Conn(ctx); err == nil {
			p.sampleDB = db
			p.waits = SamplePGWaits(ctx, conn, pgSampleStep, phaseWaitsQuery)
		} else {
			db.Close()
		}
	}
	if p.conn, err = pgx.Connect(ctx, dbURL); err == nil {
		p.pg0 = readPGCounters(ctx, p.conn, true)
	}
	p.began = time.Now()
	return p, nil
}

// phaseWaitsQuery samples the client sessions of the benchmark's
// database by state and wait event, and the background work that
// competes with them: autovacuum workers (by what they vacuum) and a
// checkpoint in progress.
const phaseWaitsQuery = `SELECT coalesce(state, ''), coalesce(wait_event_type, ''), coalesce(wait_event, '')
	FROM pg_stat_activity
	WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
	UNION ALL
	SELECT CASE WHEN backend_type = 'checkpointer' THEN 'checkpointer' ELSE left(query, 60) END,
		coalesce(wait_event_type, ''), coalesce(wait_event, '')
	FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'
		OR (backend_type = 'checkpointer' AND coalesce(wait_event, '') <> 'CheckpointerMain')`

func (p *PhaseProfile) path(kind string) string {
	ext := ".pprof"
	if kind == "goroutines-mid" {
		ext = ".txt"
	}
	return filepath.Join(p.dir, p.slug+"."+kind+ext)
}

func (p *PhaseProfile) write(kind, profile string, debug int) {
	f, err := os.Create(p.path(kind))
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.Lookup(profile).WriteTo(f, debug)
}

// Finish stops the phase's profiles and writes a one-line summary of the
// PostgreSQL sessions to w: the average number in each state and wait.
func (p *PhaseProfile) Finish(w io.Writer) {
	if p == nil {
		return
	}
	pprof.StopCPUProfile()
	p.cpu.Close()
	p.mid.Stop()
	p.write("block", "block", 0)
	p.write("mutex", "mutex", 0)
	samples := 0
	if p.waits != nil {
		_ = p.waits.Stop() // a sampler that failed part-way keeps its counts
		p.sampleDB.Close()
		samples = p.waits.Samples()
	}
	runtime.SetBlockProfileRate(0)
	runtime.SetMutexProfileFraction(0)
	fmt.Fprintf(w, "- %s: profiles in %s/%s.*; PostgreSQL sessions, average over %d samples: %s\n",
		p.slug, p.dir, p.slug, samples, p.summary())
	if p.conn != nil {
		secs := time.Since(p.began).Seconds()
		pg1 := readPGCounters(context.Background(), p.conn, false)
		p.conn.Close(context.Background())
		fmt.Fprintf(w, "  - PostgreSQL: %s\n", pg1.delta(p.pg0, secs))
		for _, st := range pg1.statements {
			fmt.Fprintf(w, "  - %s\n", st)
		}
	}
}

func (p *PhaseProfile) summary() string {
	if p.waits == nil || p.waits.Samples() == 0 {
		return "no samples"
	}
	counts, keys := p.waits.Counts()
	n := float64(p.waits.Samples())
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		label := k.What
		if k.Wait != "" {
			label += " / " + k.Wait
		}
		parts = append(parts, fmt.Sprintf("%s %.1f", label, float64(counts[k])/n))
	}
	return strings.Join(parts, ", ")
}
