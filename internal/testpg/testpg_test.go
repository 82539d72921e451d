package testpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func mustConnect(tb testing.TB, dsn string) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestURLGivesEachCallItsOwnDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := URL(t), URL(t)
	if a == b {
		t.Fatalf("two calls returned the same DSN %s", a)
	}
	ca := mustConnect(t, a)
	if _, err := ca.Exec(ctx, "CREATE TABLE only_in_a (id int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	err := mustConnect(t, b).QueryRow(ctx,
		"SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("second database has %d tables, want an empty one", n)
	}
}

func TestDBIsMigrated(t *testing.T) {
	t.Parallel()
	db := DB(t)
	for _, table := range []string{"users", "auctions", "bids", "events", "sessions"} {
		var n int64
		if err := db.Raw("SELECT COUNT(*) FROM " + table).Row().Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

func TestDatabaseIsDroppedAfterTheTest(t *testing.T) {
	t.Parallel()
	var name string
	t.Run("inner", func(t *testing.T) {
		conn := mustConnect(t, URL(t))
		// Left open on purpose: the drop must not wait for it.
		if err := conn.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	var exists bool
	err := mustConnect(t, adminURL(t)).QueryRow(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test", name)
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		admin, want string
		wantErr     bool
	}{
		{"postgres://postgres@127.0.0.1:5555/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5555/x?sslmode=disable", false},
		{"postgresql://u:p@h/", "postgresql://u:p@h/x", false},
		{"postgres://u@h/postgres?dbname=postgres&sslmode=disable", "postgres://u@h/x?sslmode=disable", false},
		{"host=h user=u", "", true},
		{"mysql://h/db", "", true},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.admin, "x")
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q, error %v", tt.admin, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestClusterModes starts clusters of its own, so it needs local binaries
// even when TEST_DATABASE_URL is set.
func TestClusterModes(t *testing.T) {
	t.Parallel()
	if _, err := FindBinDir(); errors.Is(err, ErrNoPostgres) {
		if inCI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	tests := []struct {
		durable, statements bool
		wantFsync           string
	}{
		{false, false, "off"},
		{true, false, "on"},
		{false, true, "off"},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		c, err := StartCluster(ctx, ClusterOptions{Durable: tt.durable, Statements: tt.statements})
		cancel()
		if err != nil {
			t.Fatalf("StartCluster(durable=%v): %v", tt.durable, err)
		}
		var fsync, sync, preload string
		conn := mustConnect(t, c.URL())
		err = conn.QueryRow(context.Background(), "SELECT current_setting('fsync'), current_setting('synchronous_commit'), current_setting('shared_preload_libraries')").Scan(&fsync, &sync, &preload)
		if err == nil && tt.statements {
			// Readable only when preloaded.
			_, err = conn.Exec(context.Background(), "CREATE EXTENSION pg_stat_statements; SELECT count(*) FROM pg_stat_statements")
		}
		_ = conn.Close(context.Background())
		if err != nil {
			t.Error(err)
		}
		if got := preload == "pg_stat_statements"; got != tt.statements {
			t.Errorf("statements=%v: shared_preload_libraries=%q", tt.statements, preload)
		}
		if fsync != tt.wantFsync || (tt.durable && sync != "on") {
			t.Errorf("durable=%v: fsync=%s synchronous_commit=%s", tt.durable, fsync, sync)
		}
		if c.Port() == 5432 {
			t.Error("cluster took port 5432")
		}
		dir := c.dir
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("cluster directory %s left behind (%v)", dir, err)
		}
	}
}

// TestWatchdogStopsOrphanedCluster starts a cluster in a child process that
// exits without stopping it, as a test binary killed by -timeout would, and
// expects the watchdog to stop the server and remove its files.
func TestWatchdogStopsOrphanedCluster(t *testing.T) {
	t.Parallel()
	if os.Getenv("GAVEL_TESTPG_ORPHAN") == "1" {
		c, err := StartCluster(context.Background(), ClusterOptions{})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Println(c.dir, c.Port())
		os.Exit(0) // no Stop: that is the point
	}
	if _, err := FindBinDir(); errors.Is(err, ErrNoPostgres) {
		if inCI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchdogStopsOrphanedCluster$")
	cmd.Env = append(os.Environ(), "GAVEL_TESTPG_ORPHAN=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var dir string
	var port int
	if _, err := fmt.Sscan(string(out), &dir, &port); err != nil {
		t.Fatalf("child printed %q: %v", out, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, statErr := os.Stat(dir)
		conn, dialErr := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if dialErr == nil {
			_ = conn.Close()
		}
		if os.IsNotExist(statErr) && dialErr != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after its process died, the cluster in %s still runs or has files (stat: %v, dial: %v)", dir, statErr, dialErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recordingTB notes how a test would have ended.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper()           {}
func (r *recordingTB) Skip(args ...any)  { r.skipped = fmt.Sprint(args...) }
func (r *recordingTB) Fatal(args ...any) { r.failed = fmt.Sprint(args...) }

func TestMissingPostgres(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ci                bool
		wantSkip, wantErr bool
	}{
		{ci: false, wantSkip: true},
		{ci: true, wantErr: true},
	}
	for _, tt := range tests {
		r := &recordingTB{TB: t}
		missingPostgres(r, tt.ci)
		if (r.skipped != "") != tt.wantSkip || (r.failed != "") != tt.wantErr {
			t.Errorf("ci=%v: skipped=%q failed=%q", tt.ci, r.skipped, r.failed)
		}
		if msg := r.skipped + r.failed; !strings.Contains(msg, "apt-get install postgresql-15") || !strings.Contains(msg, EnvURL+"=postgres://") {
			t.Errorf("ci=%v: message %q does not say how to get PostgreSQL", tt.ci, msg)
		}
	}
}
