package ssebench

// What PostgreSQL spent during the re-home: its processes' CPU (it shares
// the machine's cores with the survivor and the clients) and, when the
// server preloads pg_stat_statements (pgrun -statements), the statements
// that took its time.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// postgresCPU is the CPU time of each process named postgres on the
// machine (the throwaway cluster's backends and background workers), by
// pid.
func postgresCPU() map[int]time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make(map[int]time.Duration)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		out[pid] = procCPU(pid)
	}
	return out
}

// postgresCPUSince is what PostgreSQL's processes spent since before (a
// postgresCPU snapshot); backends started since count in full, those that
// ended meanwhile are not seen.
func postgresCPUSince(before map[int]time.Duration) time.Duration {
	var sum time.Duration
	for pid, cpu := range postgresCPU() {
		sum += cpu - before[pid]
	}
	return sum
}

// stmtStat is one statement's share of PostgreSQL's time.
type stmtStat struct {
	Calls int64
	Rows  int64
	MS    float64
	Query string
}

// resetStatements zeroes pg_stat_statements and reports whether it is
// there to read later.
func resetStatements(db *gorm.DB) bool {
	if db == nil {
		return false
	}
	if err := db.Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").Error; err != nil {
		return false
	}
	return db.Exec("SELECT pg_stat_statements_reset()").Error == nil
}

// topStatements is the n statements of this database that took the most
// execution time since resetStatements.
func topStatements(db *gorm.DB, n int) []stmtStat {
	var out []stmtStat
	db.Raw(`SELECT calls, rows, total_exec_time AS ms, left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
		FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT ?`, n).Scan(&out)
	return out
}
