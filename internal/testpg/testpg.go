// Package testpg gives tests a real, empty PostgreSQL database each.
//
// The server is the one named by TEST_DATABASE_URL, or else a throwaway
// cluster that the first test to ask starts from the local PostgreSQL
// binaries, shared by the rest of the test process. A package that uses
// testpg stops that cluster from its TestMain:
//
//	func TestMain(m *testing.M) { testpg.Main(m) }
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/internal/database"
)

// EnvURL names the variable holding an admin DSN (a role allowed to CREATE
// DATABASE) of a server to create test databases on.
const EnvURL = "TEST_DATABASE_URL"

// shared is the cluster this test process started, if any. It is package
// state because a test binary has one process-wide cluster and testing
// offers no other place to keep it; Main is the only thing that ends it.
var shared struct {
	once    sync.Once
	mu      sync.Mutex
	cluster *Cluster
	url     string
	err     error
}

// Main runs the tests, then stops the cluster they started, if any. Call it
// from TestMain; the test binary exits with the tests' status.
func Main(m *testing.M) {
	defer stopShared()
	m.Run()
}

func stopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cluster != nil {
		if err := shared.cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testpg: stop cluster:", err)
		}
		shared.cluster = nil
	}
	shared.url = ""
}

// adminURL returns the DSN to create databases with, starting the shared
// cluster when TEST_DATABASE_URL is unset.
func adminURL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c, err := StartCluster(ctx, ClusterOptions{})
		shared.mu.Lock()
		defer shared.mu.Unlock()
		shared.cluster, shared.err = c, err
		if err == nil {
			shared.url = c.URL()
		}
	})
	shared.mu.Lock()
	u, err := shared.url, shared.err
	shared.mu.Unlock()
	switch {
	case errors.Is(err, ErrNoPostgres):
		missingPostgres(tb, inCI())
	case err != nil:
		tb.Fatalf("testpg: start PostgreSQL: %v", err)
	case u == "":
		tb.Fatal("testpg: the shared cluster was stopped; call testpg.Main from TestMain and nowhere else")
	}
	return u
}

// missingPostgres skips the test, or fails it in CI, where a skipped
// database test would be a green build that tested nothing.
func missingPostgres(tb testing.TB, ci bool) {
	tb.Helper()
	if ci {
		tb.Fatal("testpg: PostgreSQL is required in CI: " + InstallHint)
	} else {
		tb.Skip("testpg: skipping, no PostgreSQL: " + InstallHint)
	}
}

// RequireBinaries skips tb when no PostgreSQL server binaries are
// installed (a test that starts clusters of its own needs them even with
// TEST_DATABASE_URL set), or fails it in CI.
func RequireBinaries(tb testing.TB) {
	tb.Helper()
	if _, err := FindBinDir(); err != nil {
		missingPostgres(tb, inCI())
	}
}

func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// URL returns the DSN of a new, empty database that only this call hands
// out. The database is dropped when the test ends, even if connections to
// it are still open.
func URL(tb testing.TB) string {
	tb.Helper()
	admin := adminURL(tb)
	name := "gavel_test_" + randomHex(8)
	dsn, err := withDatabase(admin, name)
	if err != nil {
		tb.Fatalf("testpg: %s: %v", EnvURL, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The name is hex we made, so it is safe to splice in.
	if err := adminExec(ctx, admin, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testpg: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends sessions a test left open, which would otherwise
		// block the drop.
		if err := adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("testpg: drop database %s: %v", name, err)
		}
	})
	return dsn
}

// DB returns a connection pool to a new database with every migration
// applied, opened like the server opens it. It is closed and the database
// dropped when the test ends.
func DB(tb testing.TB) *gorm.DB {
	tb.Helper()
	dsn := URL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, dialect, err := database.Open(ctx, dsn, "")
	if err != nil {
		tb.Fatalf("testpg: open: %v", err)
	}
	// Registered after URL's cleanup, so it runs before the drop.
	tb.Cleanup(func() { _ = database.Close(db) })
	if err := database.Migrate(ctx, db, dialect); err != nil {
		tb.Fatalf("testpg: migrate: %v", err)
	}
	return db
}

func adminExec(ctx context.Context, admin, sql string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns admin with its database replaced by name.
func withDatabase(admin, name string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("must be a postgres:// URL")
	}
	u.Path = "/" + name
	u.RawPath = ""
	// A dbname parameter would override the path.
	q := u.Query()
	if q.Has("dbname") {
		q.Del("dbname")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
