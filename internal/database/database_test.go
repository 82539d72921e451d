package database_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

func mustOpen(tb testing.TB, url, dataDir string) (*gorm.DB, database.Dialect) {
	tb.Helper()
	db, d, err := database.Open(context.Background(), url, dataDir)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = database.Close(db) })
	return db, d
}

func mustMigrate(tb testing.TB, db *gorm.DB, d database.Dialect) {
	tb.Helper()
	if err := database.Migrate(context.Background(), db, d); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
}

// schemaVersion is goose's highest applied version.
func schemaVersion(tb testing.TB, db *gorm.DB) (version int64, rows int64) {
	tb.Helper()
	if err := db.Raw("SELECT MAX(version_id), COUNT(*) FROM goose_db_version").Row().Scan(&version, &rows); err != nil {
		tb.Fatalf("read goose_db_version: %v", err)
	}
	return version, rows
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		open func(t *testing.T) (*gorm.DB, database.Dialect)
	}{
		{"postgres", func(t *testing.T) (*gorm.DB, database.Dialect) { return mustOpen(t, testpg.URL(t), "") }},
		{"sqlite", func(t *testing.T) (*gorm.DB, database.Dialect) { return mustOpen(t, "", t.TempDir()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, d := tt.open(t)
			if string(d) != tt.name {
				t.Fatalf("dialect = %q, want %q", d, tt.name)
			}
			mustMigrate(t, db, d)
			v1, n1 := schemaVersion(t, db)
			if v1 < 1 {
				t.Fatalf("version after first Migrate = %d", v1)
			}
			mustMigrate(t, db, d)
			if v2, n2 := schemaVersion(t, db); v2 != v1 || n2 != n1 {
				t.Fatalf("second Migrate changed goose_db_version: (%d,%d) -> (%d,%d)", v1, n1, v2, n2)
			}
			// The schema is there and usable: the session table takes a row.
			if err := db.Exec("INSERT INTO sessions (token, data, expiry) VALUES (?, ?, ?)", "t", []byte("x"), time.Now().UTC()).Error; err != nil {
				t.Fatalf("insert into sessions: %v", err)
			}
		})
	}
}

func TestConcurrentMigratePostgres(t *testing.T) {
	t.Parallel()
	url := testpg.URL(t)
	const replicas = 3
	dbs := make([]*gorm.DB, replicas)
	for i := range dbs {
		dbs[i], _ = mustOpen(t, url, "")
	}
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i, db := range dbs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			errs[i] = database.Migrate(ctx, db, database.Postgres)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	_, rows := schemaVersion(t, dbs[0])
	var files int64
	entries, err := os.ReadDir(filepath.Join("..", "..", "migrations", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".sql" {
			files++
		}
	}
	// goose writes a version-0 row, then one row per migration.
	if rows != files+1 {
		t.Errorf("goose_db_version has %d rows, want %d (each migration applied once)", rows, files+1)
	}
}

func TestSQLiteOpen(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	db, d := mustOpen(t, "", dir)
	if d != database.SQLite {
		t.Fatalf("dialect = %q", d)
	}
	if _, err := os.Stat(filepath.Join(dir, database.SQLiteFile)); err != nil {
		t.Fatalf("database file: %v", err)
	}
	pragmas := []struct {
		name string
		want string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	}
	for _, p := range pragmas {
		var got string
		if err := db.Raw("PRAGMA " + p.name).Row().Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", p.name, err)
		}
		if got != p.want {
			t.Errorf("PRAGMA %s = %q, want %q", p.name, got, p.want)
		}
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if got := sqlDB.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("MaxOpenConnections = %d, want 1", got)
	}
	mustMigrate(t, db, d)
	// A transaction works with the single connection, and foreign keys are
	// enforced.
	err = db.Transaction(func(tx *gorm.DB) error {
		return tx.Exec("INSERT INTO auction_bidders (auction_id, user_id, alias) VALUES (999, 999, 'x')").Error
	})
	if err == nil {
		t.Error("insert violating foreign keys succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		url, dataDir  string
		wantErrSubstr string
	}{
		{"mysql url", "mysql://u:secret@h/db", "", "postgres://"},
		{"no data dir", "", "", "no data directory"},
		{"unreachable postgres", "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2", "", "postgres 127.0.0.1:1/db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := database.Open(context.Background(), tt.url, tt.dataDir)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if got := err.Error(); !strings.Contains(got, tt.wantErrSubstr) || strings.Contains(got, "secret") {
				t.Errorf("error %q: want it to contain %q and no password", got, tt.wantErrSubstr)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, dataDir, want string
	}{
		{"", "./data", "sqlite ./data/gavel.db"},
		{"", "/var/lib/gavel", "sqlite /var/lib/gavel/gavel.db"},
		{"postgres://gavel:s3cret@db:5432/gavel?sslmode=disable", "", "postgres db:5432/gavel"},
		{"postgresql://gavel@db/gavel", "", "postgres db:5432/gavel"},
		{"postgres:///gavel?host=/run/postgresql", "", "postgres local socket/gavel"},
		{"postgres://u:p@[::1", "", "postgres (unparsable URL)"},
	}
	for _, tt := range tests {
		if got := database.Describe(tt.url, tt.dataDir); got != tt.want {
			t.Errorf("Describe(%q, %q) = %q, want %q", tt.url, tt.dataDir, got, tt.want)
		}
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	db, _ := mustOpen(t, "", t.TempDir())
	if err := database.Ping(context.Background(), db); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	_ = database.Close(db)
	if err := database.Ping(context.Background(), db); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
}
