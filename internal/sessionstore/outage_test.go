package sessionstore

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/database"
)

// TestDownDatabaseIsUnavailable: with the database down, loading and
// saving a session fail with an unavailable error (503), never an
// internal one (500), which is what most requests saw in an outage.
func TestDownDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	db, _, err := database.Open(context.Background(), fmt.Sprintf("postgres://u@127.0.0.1:%d/db?sslmode=disable", port), "", database.Lazy())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	s := New(db)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := s.FindCtx(ctx, "token"); domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Errorf("FindCtx = %v, want unavailable", err)
	}
	if err := s.CommitCtx(ctx, "token", []byte("x"), time.Now().Add(time.Hour)); domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Errorf("CommitCtx = %v, want unavailable", err)
	}
	if err := s.DeleteCtx(ctx, "token"); domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Errorf("DeleteCtx = %v, want unavailable", err)
	}
}
