package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/database"
)

// childNodeEnv makes the test binary run `gavel serve` instead of the
// tests, so a test can start real node processes and kill -9 them.
const childNodeEnv = "GAVEL_TEST_CHILD_NODE"

// runChildNode is main for a node process started by a test; it never
// returns.
func runChildNode() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, []string{"serve"}, os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(report(err, os.Stderr))
}

// nodeProc is a gavel API node running in its own process.
type nodeProc struct {
	name string
	cmd  *exec.Cmd
	url  string
	done chan struct{} // closed when the process has exited
}

// startNodeProc starts an API node process on the cluster whose
// PostgreSQL sessions carry the node's name as application_name.
func startNodeProc(t *testing.T, c *cluster, name string, env ...string) *nodeProc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	u, err := url.Parse(c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childNodeEnv+"=1", "GAVEL_ROLE=api", "GAVEL_ADDR="+addr, "GAVEL_NODE="+name,
		"DATABASE_URL="+u.String(), fmt.Sprintf("NATS_URL=nats://127.0.0.1:%d", c.port), "GAVEL_DATA_DIR="+t.TempDir(),
		"GAVEL_DEMO=off", "GAVEL_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeProc{name: name, cmd: cmd, url: "http://" + addr, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s's log:\n%s", name, b)
		}
	})
	return p
}

// waitReady polls the node's health check until it answers 200.
func (p *nodeProc) waitReady(t *testing.T, deadline time.Duration) {
	t.Helper()
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		select {
		case <-p.done:
			t.Fatalf("%s exited before it was ready", p.name)
		default:
		}
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %s", p.name, deadline)
}

// TestRemindersExactlyOnceWhenANodeIsKilled runs three API node processes
// whose schedulers race to send the same reminder to 1,500 watchers (three
// transactions of 500), and kill -9s the node that is half-way: it has
// committed two chunks and holds the notice's lock inside the third. The
// other nodes finish the fan-out, and every watcher has exactly one
// reminder in the outbox, all published.
//
// The stall is a test-only trigger in the test's own database: it puts the
// third chunk's UPDATE to sleep, so the kill lands at that point on any
// machine, however loaded.
func TestRemindersExactlyOnceWhenANodeIsKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	t.Parallel()
	c := mustCluster(t)
	ctx := context.Background()
	db, d, err := database.Open(ctx, c.dbURL, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	if err := database.Migrate(ctx, db, d); err != nil {
		t.Fatal(err)
	}
	var dbName string
	db.Raw("SELECT current_database()").Scan(&dbName)
	// A killed node's backend notices its client is gone while it sleeps.
	mustExec(t, db, "ALTER DATABASE "+dbName+" SET client_connection_check_interval = '100ms'")

	const watchers, threshold = 1500, 2 * time.Minute
	seller, users := seedWatchers(t, db, watchers)
	mustExec(t, db, `CREATE TABLE test_stall (on_user BIGINT NOT NULL)`)
	mustExec(t, db, `CREATE FUNCTION test_stall() RETURNS trigger AS $$
		BEGIN
			IF EXISTS (SELECT 1 FROM test_stall WHERE NEW.last_user_id >= on_user) THEN PERFORM pg_sleep(300); END IF;
			RETURN NEW;
		END $$ LANGUAGE plpgsql`)
	mustExec(t, db, `CREATE TRIGGER test_stall BEFORE UPDATE ON watch_notices FOR EACH ROW EXECUTE FUNCTION test_stall()`)
	mustExec(t, db, `INSERT INTO test_stall (on_user) VALUES (?)`, users[2*500]) // the third chunk

	procs := map[string]*nodeProc{}
	for i := range 3 {
		p := startNodeProc(t, c, fmt.Sprintf("reminder-node-%d", i), "GAVEL_REMINDERS="+threshold.String())
		procs[p.name] = p
	}
	for _, p := range procs {
		p.waitReady(t, 3*time.Minute)
	}

	// The lot is due for its reminder a few seconds after it is listed.
	svc := bidding.New(db, bidding.Options{})
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	lot, err := svc.CreateAuction(ctx, seller, domain.AuctionInput{Title: "Watched clock", Currency: "EUR", StartPrice: 1000,
		EndsAt: time.Now().Add(threshold + 3*time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `INSERT INTO watchlist (user_id, auction_id, created_at) SELECT id, ?, ? FROM users WHERE id IN ?`,
		lot.ID, time.Now().UTC().Add(-time.Minute), users)

	// Wait for a node to stall in the third chunk, then kill it.
	var victim string
	poll(t, 2*time.Minute, "a node stalled in the third chunk", func() bool {
		return db.Raw(`SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`).
			Scan(&victim).Error == nil && victim != ""
	})
	p := procs[victim]
	if p == nil {
		t.Fatalf("the stalled session belongs to %q, not a node of this test", victim)
	}
	var progress struct {
		LastUserID int64
		Done       bool
	}
	db.Raw(`SELECT last_user_id, done FROM watch_notices WHERE auction_id = ? AND kind = 'ending_soon'`, lot.ID).Scan(&progress)
	if progress.Done || progress.LastUserID != users[2*500-1] {
		t.Fatalf("at the kill the notice stands at user %d (done %v), want two chunks committed (user %d)",
			progress.LastUserID, progress.Done, users[2*500-1])
	}
	mustExec(t, db, `DELETE FROM test_stall`) // before the kill: the next node must not stall too
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	t.Logf("killed %s half-way through the fan-out", victim)

	poll(t, 2*time.Minute, "the survivors to finish the fan-out and publish it", func() bool {
		var n int64
		db.Raw(`SELECT count(*) FROM watch_notices WHERE auction_id = ? AND kind = 'ending_soon' AND done`, lot.ID).Scan(&n)
		var unpublished int64
		db.Raw(`SELECT count(*) FROM events WHERE type = 'ending_soon' AND published_at IS NULL`).Scan(&unpublished)
		return n == 1 && unpublished == 0
	})
	var per []struct {
		ChannelID int64
		N         int
	}
	if err := db.Raw(`SELECT channel_id, count(*) AS n FROM events WHERE type = 'ending_soon' AND channel_kind = 'user'
		GROUP BY channel_id`).Scan(&per).Error; err != nil {
		t.Fatal(err)
	}
	got := map[int64]int{}
	for _, r := range per {
		got[r.ChannelID] = r.N
	}
	var missing, twice []int64
	for _, u := range users {
		switch got[u] {
		case 1:
		case 0:
			missing = append(missing, u)
		default:
			twice = append(twice, u)
		}
		delete(got, u)
	}
	if len(missing) > 0 || len(twice) > 0 || len(got) > 0 {
		t.Errorf("reminders: %d watchers got none (first %v), %d more than one (first %v), %d non-watchers got one",
			len(missing), head(missing), len(twice), head(twice), len(got))
	}
}

// seedWatchers inserts a seller and n other users directly (the test is
// about the fan-out, not sign-up) and returns the others' ids in order.
func seedWatchers(t *testing.T, db *gorm.DB, n int) (domain.User, []int64) {
	t.Helper()
	var seller int64
	if err := db.Raw(`INSERT INTO users (email, name, password_hash, created_at) VALUES ('seller@example.com', 'Seller', 'x', ?)
		RETURNING id`, time.Now().UTC()).Scan(&seller).Error; err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if err := db.Raw(`INSERT INTO users (email, name, password_hash, created_at)
		SELECT 'watcher' || g || '@example.com', 'Watcher ' || g, 'x', ? FROM generate_series(1, ?) g RETURNING id`,
		time.Now().UTC(), n).Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	if len(ids) != n {
		t.Fatalf("seeded %d watchers, want %d", len(ids), n)
	}
	slices.Sort(ids)
	return domain.User{ID: seller, Name: "Seller"}, ids
}

func mustExec(t *testing.T, db *gorm.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", strings.Fields(sql)[0], err)
	}
}

// poll calls cond until it holds, failing the test after deadline.
func poll(t *testing.T, deadline time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("waited %s for %s", deadline, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 5)] }
