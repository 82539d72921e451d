package database_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/outage"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func mustOpenTimeouts(t *testing.T, url string, to database.Timeouts) *gorm.DB {
	t.Helper()
	db, _, err := database.Open(context.Background(), url, "", database.WithTimeouts(to))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	return db
}

func show(t *testing.T, db *gorm.DB, name string) string {
	t.Helper()
	var v string
	if err := db.Raw("SELECT current_setting(?)", name).Row().Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSessionTimeouts checks that every connection carries PostgreSQL's own
// timeouts, and that a setting in the URL wins.
func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	url := testpg.URL(t)
	db := mustOpenTimeouts(t, url, database.DefaultTimeouts())
	for name, want := range map[string]string{
		"statement_timeout":                   "5s",
		"lock_timeout":                        "5s",
		"idle_in_transaction_session_timeout": "2s",
		"tcp_keepalives_idle":                 "5",
		"tcp_keepalives_count":                "3",
		"tcp_user_timeout":                    "10000",
	} {
		if got := show(t, db, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	own := mustOpenTimeouts(t, url+"&statement_timeout=1234", database.DefaultTimeouts())
	if got := show(t, own, "statement_timeout"); got != "1234ms" {
		t.Errorf("statement_timeout from the URL = %q, want 1234ms", got)
	}
}

// TestStalledTransactionIsEnded plays a paused node: it takes a row lock
// and goes quiet inside its transaction. The server ends that session, so
// another session gets the lock within the idle timeout, and the stalled
// one cannot commit afterwards.
func TestStalledTransactionIsEnded(t *testing.T) {
	t.Parallel()
	to := database.Timeouts{Statement: 20 * time.Second, Lock: 20 * time.Second, IdleInTransaction: 300 * time.Millisecond}
	db := mustOpenTimeouts(t, testpg.URL(t), to)
	if err := db.Exec("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)").Error; err != nil {
		t.Fatal(err)
	}
	stalled := db.Begin()
	if err := stalled.Exec("UPDATE t SET v = 1 WHERE id = 1").Error; err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := db.Exec("UPDATE t SET v = 2 WHERE id = 1").Error; err != nil {
		t.Fatalf("the other session's update: %v", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("waited %v for the stalled session's lock", waited)
	}
	err := stalled.Commit().Error
	if err == nil {
		t.Fatal("the stalled transaction committed after the server ended it")
	}
	var v int
	if err := db.Raw("SELECT v FROM t WHERE id = 1").Row().Scan(&v); err != nil || v != 2 {
		t.Fatalf("v = %d, %v; want 2", v, err)
	}
}

// TestLockWaitIsBounded: a statement waiting on a lock held by a live but
// slow transaction gives up at lock_timeout with an unavailable error.
func TestLockWaitIsBounded(t *testing.T) {
	t.Parallel()
	to := database.Timeouts{Statement: 20 * time.Second, Lock: 200 * time.Millisecond, IdleInTransaction: 20 * time.Second}
	db := mustOpenTimeouts(t, testpg.URL(t), to)
	if err := db.Exec("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)").Error; err != nil {
		t.Fatal(err)
	}
	holder := db.Begin()
	defer holder.Rollback()
	if err := holder.Exec("UPDATE t SET v = 1 WHERE id = 1").Error; err != nil {
		t.Fatal(err)
	}
	err := db.Exec("UPDATE t SET v = 2 WHERE id = 1").Error
	if domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Fatalf("lock wait ended with %v, want unavailable", err)
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); !ok || pe.Code != "55P03" {
		t.Fatalf("cause = %v, want lock_not_available", err)
	}
}

// TestDownDatabaseIsUnavailable: with nothing listening, every GORM call
// and Ping fail with an unavailable error, not an internal one.
func TestDownDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	url := fmt.Sprintf("postgres://u@127.0.0.1:%d/db?sslmode=disable", port)
	if _, _, err := database.Open(context.Background(), url, ""); !outage.IsDB(err) {
		t.Fatalf("Open of a down database = %v, want a dependency error", err)
	}
	db, _, err := database.Open(context.Background(), url, "", database.Lazy())
	if err != nil {
		t.Fatalf("Lazy open: %v", err)
	}
	defer database.Close(db)
	var n int
	err = db.Raw("SELECT 1").Scan(&n).Error
	if domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Fatalf("query on a down database = %v, want unavailable", err)
	}
	if !strings.Contains(domain.ErrorMessage(err), "nothing was lost") {
		t.Fatalf("message = %q", domain.ErrorMessage(err))
	}
	if err := database.PingTimeout(context.Background(), db, time.Second); domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Fatalf("PingTimeout = %v", err)
	}
}
