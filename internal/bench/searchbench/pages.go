package searchbench

import (
	"context"
	"encoding/json"
	"slices"
	"sync"

	"gorm.io/gorm"
)

// pageCounter measures how many 8 KB pages (shared buffers hit or read) a
// query touches, from PostgreSQL's own EXPLAIN (ANALYZE, BUFFERS). Unlike a
// latency, the count does not depend on how busy the machine is, so runs on
// a shared machine can still be compared.
type pageCounter struct {
	db *gorm.DB // a session that records the last statement it ran

	mu   sync.Mutex
	sql  string
	vars []any
}

func newPageCounter(db *gorm.DB) *pageCounter {
	pc := &pageCounter{}
	pc.db = db.Session(&gorm.Session{NewDB: true})
	record := func(tx *gorm.DB) {
		pc.mu.Lock()
		pc.sql, pc.vars = tx.Statement.SQL.String(), slices.Clone(tx.Statement.Vars)
		pc.mu.Unlock()
	}
	// Raw(...).Scan runs the row callbacks; Find runs the query ones.
	_ = pc.db.Callback().Row().After("gorm:row").Register("searchbench:record", record)
	_ = pc.db.Callback().Query().After("gorm:query").Register("searchbench:record", record)
	return pc
}

// pages runs fn (one query through pc.db), then EXPLAINs the last statement
// it ran and returns the pages that statement touched.
func (pc *pageCounter) pages(ctx context.Context, fn func() error) (int64, error) {
	if err := fn(); err != nil {
		return 0, err
	}
	pc.mu.Lock()
	q, vars := pc.sql, pc.vars
	pc.mu.Unlock()
	sqlDB, err := pc.db.DB()
	if err != nil {
		return 0, err
	}
	var raw string
	if err := sqlDB.QueryRowContext(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+q, vars...).Scan(&raw); err != nil {
		return 0, err
	}
	var plan []struct {
		Plan struct {
			Hit  int64 `json:"Shared Hit Blocks"`
			Read int64 `json:"Shared Read Blocks"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(raw), &plan); err != nil || len(plan) == 0 {
		return 0, err
	}
	return plan[0].Plan.Hit + plan[0].Plan.Read, nil
}

// median returns the median pages of the first n queries of a shape.
func (pc *pageCounter) median(ctx context.Context, run func(i int) error, n int) (int64, error) {
	var counts []int64
	for i := range max(n, 1) {
		c, err := pc.pages(ctx, func() error { return run(i) })
		if err != nil {
			return 0, err
		}
		counts = append(counts, c)
	}
	slices.Sort(counts)
	return counts[len(counts)/2], nil
}
