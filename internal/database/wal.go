package database

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// RecycleWAL brings a fresh cluster's WAL to the steady state of a server
// that has been running: it writes ~2 × 160 MB of WAL, each followed by a
// checkpoint, after which PostgreSQL keeps the old segments, renamed, for
// the WAL to come (as many as the WAL between checkpoints needs, within
// max_wal_size), instead of creating and zero-filling each new one inside
// the commit that reaches it. db's role must be allowed to CHECKPOINT (a
// superuser or pg_checkpoint). Benchmarks use it (gavel bench sale
// --recycle-wal, bidding's BenchmarkSaleBids) so that what they time is a
// server in service, not a fresh cluster's first minutes.
func RecycleWAL(ctx context.Context, db *gorm.DB) error {
	for range 2 {
		for _, q := range []string{
			"CREATE TABLE wal_warmup AS SELECT g, repeat('x', 500) AS x FROM generate_series(1, 300000) g",
			"DROP TABLE wal_warmup",
			"CHECKPOINT",
		} {
			if err := db.WithContext(ctx).Exec(q).Error; err != nil {
				return fmt.Errorf("recycling the WAL: %s: %w", q, err)
			}
		}
	}
	return nil
}
