package testpg

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestFaults runs each fault on a cluster of its own and checks that the
// server really stops answering, then answers again with its data.
func TestFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Durable: with synchronous_commit off a crash may lose the last commits.
	c, err := StartCluster(ctx, ClusterOptions{Durable: true})
	if errors.Is(err, ErrNoPostgres) {
		missingPostgres(t, inCI())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	query := func(timeout time.Duration) error {
		qctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		conn, err := pgx.Connect(qctx, c.URL())
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(qctx, "INSERT INTO t VALUES (1)")
		return err
	}
	conn := mustConnect(t, c.URL())
	if _, err := conn.Exec(ctx, "CREATE TABLE t (v int)"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)

	pids, err := c.Pause()
	if err != nil || len(pids) < 3 {
		t.Fatalf("Pause: %v (%d processes)", err, len(pids))
	}
	if err := query(300 * time.Millisecond); err == nil {
		t.Fatal("a paused server answered")
	}
	if err := c.Resume(pids); err != nil {
		t.Fatal(err)
	}
	if err := query(10 * time.Second); err != nil {
		t.Fatalf("after Resume: %v", err)
	}

	if err := c.Restart(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	if err := query(10 * time.Second); err != nil {
		t.Fatalf("after Restart: %v", err)
	}

	if err := c.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if err := query(time.Second); err == nil {
		t.Fatal("a killed server answered")
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	conn = mustConnect(t, c.URL())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows after the faults = %d, %v; want 2", n, err)
	}
}
