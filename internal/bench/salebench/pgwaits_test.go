package salebench

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// TestWaitSampler: a backend sleeping in pg_sleep for 300 ms while the
// sampler runs shows as that statement in Timeout:PgSleep, for about the
// samples 300 ms holds, and the sampler never counts its own query.
func TestWaitSampler(t *testing.T) {
	db := testpg.DB(t)
	ctx := context.Background()
	w, err := startWaits(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("SELECT pg_sleep(0.3)").Error; err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "waits.md")
	if err := stopWaitsTo(w, file); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `SELECT pg_sleep\\(0\\.3\\)` \\| Timeout:PgSleep \\| (\\d+) \\| (\\d+)ms \\|$").FindSubmatch(out)
	if row == nil {
		t.Fatalf("no row for the sleeping backend:\n%s", out)
	}
	// 150 samples at 2 ms; a loaded machine ticks late, never early.
	if n, _ := strconv.Atoi(string(row[1])); n < 20 || n > 160 {
		t.Errorf("%d samples of a 300 ms sleep at %s, want 20–160:\n%s", n, waitEvery, out)
	}
	if ms, _ := strconv.Atoi(string(row[2])); ms < 200 || ms > 400 {
		t.Errorf("the sleep stands for %d ms, want ~300:\n%s", ms, out)
	}
	if bytes.Contains(out, []byte("| `SELECT left(regexp_replace(query")) {
		t.Errorf("the sampler counted its own query:\n%s", out)
	}
}

// TestDiagnosticsNeedPostgreSQL: on SQLite, --pg-waits and --recycle-wal
// are refused with a message that says why, and Run refuses --pg-waits
// before it creates anything.
func TestDiagnosticsNeedPostgreSQL(t *testing.T) {
	ctx := context.Background()
	db, _, err := database.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		run  func() error
	}{
		{"startWaits", func() error { _, err := startWaits(ctx, db); return err }},
		{"recycleWAL", func() error { _, err := recycleWAL(ctx, db); return err }},
		// No tables: had Run gone on, creating the accounts would have
		// failed on them instead.
		{"Run --pg-waits", func() error {
			return Run(ctx, Env{DB: db}, Options{PGWaits: filepath.Join(t.TempDir(), "w.md")}, io.Discard)
		}},
	} {
		if err := tt.run(); err == nil || !strings.Contains(err.Error(), "PostgreSQL") || !strings.Contains(err.Error(), "sqlite") {
			t.Errorf("%s on SQLite: %v, want an error naming PostgreSQL and this database", tt.name, err)
		}
	}
}
