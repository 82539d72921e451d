package salebench

import (
	"context"
	"testing"

	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestRecycleWAL: after the warm-up, pg_wal holds segments ready for reuse
// (min_wal_size keeps at least 80 MB of them, 5 segments), where the
// tests' fresh cluster has one to three; and the warm-up's table is gone.
func TestRecycleWAL(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ~300 MB of WAL")
	}
	db := testpg.DB(t)
	segments := func() int {
		var n int
		if err := db.Raw("SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := segments()
	if _, err := recycleWAL(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	after := segments()
	t.Logf("WAL segments: %d before, %d after", before, after)
	if after < 5 {
		t.Errorf("%d WAL segments after the warm-up (%d before), want at least 5", after, before)
	}
	var left bool
	if err := db.Raw("SELECT to_regclass('wal_warmup') IS NOT NULL").Scan(&left).Error; err != nil {
		t.Fatal(err)
	}
	if left {
		t.Error("the warm-up's table was left behind")
	}
}
