package database_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A duplicate key is the caller's business (a 409), not an error in the
// log; a real failure still is one.
func TestUniqueViolationIsNotLoggedAsError(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, url string }{{"postgres", testpg.URL(t)}, {"sqlite", ""}} {
		t.Run(tt.name, func(t *testing.T) {
			var logs lockedBuffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			db, _, err := database.Open(context.Background(), tt.url, t.TempDir(), database.WithLogger(log))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = database.Close(db) })
			if err := db.Exec("CREATE TABLE u (email TEXT PRIMARY KEY)").Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Exec("INSERT INTO u (email) VALUES ('a@example.com')").Error; err != nil {
				t.Fatal(err)
			}
			err = db.Exec("INSERT INTO u (email) VALUES ('a@example.com')").Error
			if !database.IsUniqueViolation(err) {
				t.Fatalf("duplicate insert: %v, want a unique violation", err)
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("a duplicate key was logged as an error:\n%s", logs.String())
			}
			_ = db.Exec("SELECT * FROM no_such_table").Error
			if !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("a real failure was not logged:\n%s", logs.String())
			}
		})
	}
}
