package searchbench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuMeter measures the CPU time the PostgreSQL backend spends on each
// query, from the kernel's /proc/<pid>/schedstat of that backend (the time
// it ran, in nanoseconds). On a machine shared with other work a query's
// wall time is mostly its wait for a CPU; the time it ran is what it would
// take on a quiet machine with the data in memory, so it is reported
// beside the wall time. It needs the server on this machine and readable
// /proc entries; otherwise ok is false and only wall times are reported.
type cpuMeter struct {
	pid int
	ok  bool
}

// newCPUMeter limits db's pool to one connection, so that every query runs
// on the backend it measures, and turns off parallel query on it: a
// parallel worker is a process of its own whose CPU time the meter would
// not see (a phrase search with one worker read as a third of its cost).
func newCPUMeter(ctx context.Context, db *sql.DB) *cpuMeter {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	m := &cpuMeter{}
	if _, err := db.ExecContext(ctx, "SET max_parallel_workers_per_gather = 0"); err != nil {
		return m
	}
	if err := db.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&m.pid); err != nil {
		return m
	}
	_, err := m.ran()
	m.ok = err == nil
	return m
}

// ran is the backend's CPU time so far.
func (m *cpuMeter) ran() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", m.pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0, fmt.Errorf("schedstat of %d: %q", m.pid, b)
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	return time.Duration(ns), err
}

// measure runs fn and returns the backend CPU time it took. If the
// backend cannot be read (the connection was replaced), the meter stops
// and reports 0 from then on.
func (m *cpuMeter) measure(fn func() error) (time.Duration, error) {
	if !m.ok {
		return 0, fn()
	}
	before, err := m.ran()
	if err != nil {
		m.ok = false
		return 0, fn()
	}
	if err := fn(); err != nil {
		return 0, err
	}
	after, err := m.ran()
	if err != nil {
		m.ok = false
		return 0, nil
	}
	return after - before, nil
}
