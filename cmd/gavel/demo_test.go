package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/internal/config"
)

// startDemoNode starts `make run` as a newcomer does: SQLite and embedded
// NATS in dataDir, GAVEL_DEMO left at auto.
func startDemoNode(t *testing.T, dataDir string) *node {
	t.Helper()
	cfg := config.Default()
	cfg.Addr, cfg.NodeName, cfg.DataDir = "127.0.0.1:0", "demo-test", dataDir
	cfg.DatabaseURL, cfg.NATSURL = "", ""
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := startNode(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return n
}

// waitForDemoBid waits until a simulated bidder's bid is received after
// since, and returns how many open demo auctions there are then.
func waitForDemoBid(t *testing.T, n *node, since time.Time) int64 {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var bids, open int64
		n.db.Raw(`SELECT count(*) FROM bids b JOIN users u ON u.id = b.bidder_id
			WHERE u.email LIKE 'bot-%@gavel.local' AND b.received_at > ?`, since.UTC()).Scan(&bids)
		n.db.Raw(`SELECT count(*) FROM auctions a JOIN users u ON u.id = a.seller_id
			WHERE u.email = ? AND a.status = 'open'`, demoSeller).Scan(&open)
		if bids > 0 {
			return open
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no simulated bid since %v", since)
	return 0
}

// TestDemoSurvivesRestart: a second start on the same data directory (with
// GAVEL_DEMO=auto, the default) keeps the demo running: open auctions and
// simulated bids. Before, the demo started only on an empty database, and
// the site went quiet once its first auctions ended.
func TestDemoSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startDemoNode(t, dir)
	waitForDemoBid(t, first, time.Time{})
	if v, err := first.svc.Setting(context.Background(), demoSetting); err != nil || v != "true" {
		t.Errorf("demo mark = %q, %v", v, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	if err := first.shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	cancel()

	restarted := time.Now()
	second := startDemoNode(t, dir)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = second.shutdown(ctx)
	})
	if open := waitForDemoBid(t, second, restarted); open == 0 {
		t.Error("no open demo auction after the restart")
	}
}

// TestDemoAutoLeavesRealDataAlone: auto never starts the demo on a
// database with users of its own, nor with DATABASE_URL set.
func TestDemoAutoLeavesRealDataAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Addr, cfg.NodeName, cfg.DataDir, cfg.Demo = "127.0.0.1:0", "demo-off", dir, config.DemoOff
	n, err := startNode(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.shutdown(context.Background()) }()
	ctx := context.Background()
	if _, err := n.svc.CreateUser(ctx, "owner@example.com", "correct horse", "Owner", true); err != nil {
		t.Fatal(err)
	}
	cfg.Demo = config.DemoAuto
	if demoEnabled(ctx, cfg, n.svc) {
		t.Error("auto enabled the demo on a database with real users")
	}
	if err := n.svc.PutSetting(ctx, demoSetting, "true"); err != nil {
		t.Fatal(err)
	}
	if !demoEnabled(ctx, cfg, n.svc) {
		t.Error("auto did not keep the demo on a demo database")
	}
	cfg.DatabaseURL = "postgres://gavel@db/gavel"
	if demoEnabled(ctx, cfg, n.svc) {
		t.Error("auto enabled the demo with DATABASE_URL set")
	}
}
