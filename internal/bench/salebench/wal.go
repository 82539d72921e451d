package salebench

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/internal/database"
)

// recycleWAL makes PostgreSQL's WAL look like a server's that has run for
// a while (database.RecycleWAL: ~300 MB of WAL over two checkpoints). On a
// fresh cluster the commit that first reaches each 16 MB segment creates
// and zero-fills it while every other commit waits: in this benchmark,
// 2–3 commits of 20–80 ms per probe, which a server in service does not
// see (docs/BENCHMARKS.md, "Session 8 (lead)").
func recycleWAL(ctx context.Context, db *gorm.DB) (time.Duration, error) {
	if err := needPostgres(db, "--recycle-wal warms PostgreSQL's WAL"); err != nil {
		return 0, err
	}
	began := time.Now()
	if err := database.RecycleWAL(ctx, db); err != nil {
		return 0, fmt.Errorf("--recycle-wal: %w (CHECKPOINT needs a superuser or pg_checkpoint)", err)
	}
	return time.Since(began), nil
}
