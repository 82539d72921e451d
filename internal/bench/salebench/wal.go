package salebench

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// recycleWAL makes PostgreSQL's WAL look like a server's that has run for
// a while: ~300 MB of WAL over two checkpoints, after which the segments
// it wrote are renamed for reuse instead of deleted. On a fresh cluster
// the commit that first reaches each 16 MB segment creates and zero-fills
// it while every other commit waits: in this benchmark, 2–3 commits of
// 20–80 ms per probe, which a server in service does not see
// (docs/BENCHMARKS.md, "Session 6 (lead)"). It needs PostgreSQL and a role
// allowed to CHECKPOINT.
func recycleWAL(ctx context.Context, db *gorm.DB) (time.Duration, error) {
	if err := needPostgres(db, "--recycle-wal warms PostgreSQL's WAL"); err != nil {
		return 0, err
	}
	began := time.Now()
	for range 2 {
		for _, q := range []string{
			"CREATE TABLE bench_wal_warmup AS SELECT g, repeat('x', 500) AS x FROM generate_series(1, 300000) g",
			"DROP TABLE bench_wal_warmup",
			"CHECKPOINT",
		} {
			if err := db.WithContext(ctx).Exec(q).Error; err != nil {
				return 0, fmt.Errorf("--recycle-wal: %s: %w (CHECKPOINT needs a superuser or pg_checkpoint)", q, err)
			}
		}
	}
	return time.Since(began), nil
}
