package benchkit

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// pgCounters are PostgreSQL's cumulative counters that tell one phase's
// database work from another's: commits of the benchmark's database, and
// the cluster's WAL records, bytes, writes and flushes.
type pgCounters struct {
	ok                              bool
	commits, rollbacks              int64
	walRecords, walBytes, walWrites int64
	walSyncs                        int64
	statements                      []string // top statements since the phase began, if pg_stat_statements is loaded
}

// readPGCounters reads the counters on conn. At a phase's start it resets
// pg_stat_statements (when the cluster preloads it), so that at its end
// the top statements are the phase's own; readers forgive a missing
// extension or view.
func readPGCounters(ctx context.Context, conn *pgx.Conn, start bool) pgCounters {
	var c pgCounters
	// The statistics collector publishes a backend's counts when it goes
	// idle, at most once a second; reading in a fresh snapshot.
	_, _ = conn.Exec(ctx, "SELECT pg_stat_clear_snapshot()")
	err := conn.QueryRow(ctx, `SELECT d.xact_commit, d.xact_rollback, w.wal_records, w.wal_bytes::bigint, w.wal_write, w.wal_sync
		FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()`).
		Scan(&c.commits, &c.rollbacks, &c.walRecords, &c.walBytes, &c.walWrites, &c.walSyncs)
	c.ok = err == nil
	if start {
		_, _ = conn.Exec(ctx, "SELECT pg_stat_statements_reset()")
		return c
	}
	rows, err := conn.Query(ctx, `SELECT calls, total_exec_time, wal_records, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT 20`)
	if err != nil {
		return c
	}
	defer rows.Close()
	for rows.Next() {
		var calls, walRecs int64
		var total float64
		var q string
		if rows.Scan(&calls, &total, &walRecs, &q) == nil {
			c.statements = append(c.statements, fmt.Sprintf("%d calls, %.0f ms, %d WAL records: `%s`", calls, total, walRecs, strings.ReplaceAll(q, "`", "'")))
		}
	}
	return c
}

// delta describes the work between start and c over secs seconds.
func (c pgCounters) delta(start pgCounters, secs float64) string {
	if !c.ok || !start.ok || secs <= 0 {
		return "no counters"
	}
	per := func(a, b int64) float64 { return float64(a-b) / secs }
	return fmt.Sprintf("%.0f commits/s, %.0f rollbacks/s, %.0f WAL records/s, %.0f KiB WAL/s, %.0f WAL writes/s, %.0f WAL flushes/s",
		per(c.commits, start.commits), per(c.rollbacks, start.rollbacks), per(c.walRecords, start.walRecords),
		per(c.walBytes, start.walBytes)/1024, per(c.walWrites, start.walWrites), per(c.walSyncs, start.walSyncs))
}
