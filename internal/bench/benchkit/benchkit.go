// Package benchkit holds what Gavel's load generators share: a throwaway
// database per run, the machine's load for every reported figure, the node
// they drive (started by cmd/gavel, which owns the wiring), and the usage
// errors `gavel bench` reports. Only cmd/gavel and the packages beside this
// one under internal/bench import it.
package benchkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/database"
)

// Node is a running Gavel node that a benchmark drives over HTTP.
type Node interface {
	// URL is the node's base URL, e.g. http://127.0.0.1:41234.
	URL() string
	// Shutdown stops the node and releases what it opened.
	Shutdown(ctx context.Context) error
}

// StartNode starts a node for cfg in this process and returns once it
// listens. The benchmarks consume it and cmd/gavel provides it, so that the
// wiring of a node stays in one place; the node it starts has no per-user
// bid limit, since a load generator fires as fast as it can on purpose.
type StartNode func(ctx context.Context, cfg config.Config, log *slog.Logger) (Node, error)

// UsageError is a mistake in a bench command line: gavel prints Msg, then
// Usage, and exits with status 2.
type UsageError struct {
	Msg   string
	Usage string
}

func (e *UsageError) Error() string { return e.Msg }

// ErrHelpShown means -h printed the usage: the run succeeded.
var ErrHelpShown = errors.New("help shown")

// adminURL is the PostgreSQL a benchmark creates its database in:
// DATABASE_URL, or TEST_DATABASE_URL. bench and target name the benchmark
// and the make target that provides one, for the error when neither is set.
func adminURL(getenv func(string) string, bench, target string) (string, error) {
	admin := getenv("DATABASE_URL")
	if admin == "" {
		admin = getenv("TEST_DATABASE_URL")
	}
	if admin == "" {
		return "", fmt.Errorf("%s needs PostgreSQL: set DATABASE_URL or TEST_DATABASE_URL (%s starts a durable throwaway cluster)", bench, target)
	}
	return admin, nil
}

// freshDatabase creates an empty database on the server of admin and
// returns its URL and a function that drops it.
func freshDatabase(ctx context.Context, admin string) (string, func(), error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "gavel_bench_" + hex.EncodeToString(b)
	adb, _, err := database.Open(ctx, admin, "")
	if err != nil {
		return "", nil, err
	}
	if err := adb.Exec("CREATE DATABASE " + name).Error; err != nil {
		database.Close(adb)
		return "", nil, err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		adb.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		database.Close(adb)
	}
	return u.String(), drop, nil
}

// MigratedDatabase is a fresh, migrated database for one run: DB is open
// on it, URL names it for nodes, and Close closes DB and drops it.
type MigratedDatabase struct {
	URL   string
	DB    *gorm.DB
	Close func()
}

// OpenFresh creates a fresh database on the PostgreSQL in DATABASE_URL (or
// TEST_DATABASE_URL), opens and migrates it. bench and target name the
// benchmark and the make target that starts a server, for the error when
// neither variable is set.
func OpenFresh(ctx context.Context, getenv func(string) string, bench, target string) (*MigratedDatabase, error) {
	admin, err := adminURL(getenv, bench, target)
	if err != nil {
		return nil, err
	}
	dbURL, drop, err := freshDatabase(ctx, admin)
	if err != nil {
		return nil, err
	}
	db, d, err := database.Open(ctx, dbURL, "")
	if err != nil {
		drop()
		return nil, err
	}
	closeAll := func() {
		_ = database.Close(db)
		drop()
	}
	if err := database.Migrate(ctx, db, d); err != nil {
		closeAll()
		return nil, err
	}
	return &MigratedDatabase{URL: dbURL, DB: db, Close: closeAll}, nil
}

// LoadAvg is the machine's 1, 5 and 15 minute load averages, or "unknown".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
