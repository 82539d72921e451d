package bidding

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestEventIndexes checks what each event row costs in indexes on
// PostgreSQL, and that the statements that find events by id or age still
// reach them through an index: migration 00017 dropped events_pkey, which
// every event paid an entry for and no query needed. With sequential scans
// discouraged, a statement no index can serve still shows one.
func TestEventIndexes(t *testing.T) {
	db := testpg.DB(t)
	var names []string
	if err := db.Raw("SELECT indexname FROM pg_indexes WHERE tablename = 'events' ORDER BY 1").Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	want := []string{"events_channel_seq", "events_published_created_at", "events_sale_seq", "events_unpublished"}
	if !slices.Equal(names, want) {
		t.Fatalf("indexes on events: %v, want %v", names, want)
	}
	tx := db.Begin()
	defer tx.Rollback()
	if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, sql, index string
		args             []any
	}{
		{"relay's marking", sqlFinishPG, "events_unpublished", []any{7, 1, time.Now(), []int64{1, 2, 3}}},
		{"retention sweep", chunkDelete("events", sweepEventsWhere, "ctid"), "events_published_created_at", []any{time.Now(), sweepChunk}},
	} {
		var lines []string
		if err := tx.Raw("EXPLAIN "+c.sql, c.args...).Scan(&lines).Error; err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		plan := strings.Join(lines, "\n")
		if strings.Contains(plan, "Seq Scan on events") || !strings.Contains(plan, c.index) {
			t.Errorf("%s: plan does not find events through %s:\n%s", c.name, c.index, plan)
		}
	}
}
