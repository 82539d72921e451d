package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestServePortInUse: a busy port ends `gavel serve` with one clear line
// and exit status 1, not a nil-pointer panic hiding the cause.
func TestServePortInUse(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	env := envOf(map[string]string{"GAVEL_DATA_DIR": t.TempDir(), "GAVEL_DEMO": "off"})
	var stdout, logs, stderr bytes.Buffer
	err = run(context.Background(), []string{"serve", "--addr", busy.Addr().String()}, env, &stdout, &logs)
	if code := report(err, &stderr); code != 1 {
		t.Fatalf("exit status %d, want 1 (%v)", code, err)
	}
	out := stderr.String()
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "address already in use") || !strings.HasPrefix(out, "gavel: GAVEL_ADDR ") {
		t.Fatalf("stderr = %q, want one line naming GAVEL_ADDR and the cause", out)
	}
	if strings.Contains(logs.String()+out, "goroutine") {
		t.Fatalf("a stack trace was printed:\n%s%s", logs.String(), out)
	}
}

// ownCluster starts a PostgreSQL of the test's own, which it may stop,
// pause or kill.
func ownCluster(t *testing.T) *testpg.Cluster {
	t.Helper()
	return testpg.OwnCluster(t, testpg.ClusterOptions{})
}

// getJSON fetches url and decodes a JSON body, if any.
func getJSON(url string) (int, map[string]any, http.Header) {
	hc := &http.Client{Timeout: 10 * time.Second}
	res, err := hc.Get(url)
	if err != nil {
		return 0, nil, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m, res.Header
}

// TestNodeStartedBeforeItsDependencies starts an API node while neither
// PostgreSQL nor NATS is up. It must serve its probes at once, say in
// /readyz what it waits for, answer other requests 503, log the wait, and
// become ready by itself when they come (within its backoff).
func TestNodeStartedBeforeItsDependencies(t *testing.T) {
	pg := ownCluster(t)
	ctx := context.Background()
	if err := pg.StopServer(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	natsAddr := freeAddr(t)
	_, natsPort, _ := net.SplitHostPort(natsAddr)
	cfg := config.Default()
	cfg.Role, cfg.NodeName, cfg.Addr = config.RoleAPI, "early", freeAddr(t)
	cfg.DatabaseURL, cfg.NATSURL = pg.URL(), "nats://"+natsAddr
	cfg.DataDir, cfg.Demo = t.TempDir(), config.DemoOff
	var logs syncLog
	type started struct {
		n   *node
		err error
	}
	done := make(chan started, 1)
	go func() {
		n, err := startNode(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		done <- started{n, err}
	}()
	base := "http://" + cfg.Addr

	waitUntil(t, "readyz names both dependencies", func() bool {
		code, m, _ := getJSON(base + "/readyz")
		failed, _ := m["failed"].(map[string]any)
		return code == http.StatusServiceUnavailable && failed["database"] == "unavailable" && failed["nats"] == "unavailable"
	})
	if code, _, _ := getJSON(base + "/healthz"); code != http.StatusOK {
		t.Fatalf("healthz = %d while starting", code)
	}
	code, m, h := getJSON(base + "/api/v1/auctions")
	if code != http.StatusServiceUnavailable || m["code"] != "unavailable" || h.Get("Retry-After") == "" {
		t.Fatalf("API while starting = %d %v", code, m)
	}

	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "readyz names only NATS", func() bool {
		code, m, _ := getJSON(base + "/readyz")
		failed, _ := m["failed"].(map[string]any)
		return code == http.StatusServiceUnavailable && failed["database"] == nil && failed["nats"] == "unavailable"
	})
	// Dependencies up is not ready: the node is not serving its routes yet.
	if _, m, _ := getJSON(base + "/readyz"); m["failed"].(map[string]any)["startup"] != "unavailable" {
		t.Errorf("readyz before the handoff = %v, want startup failing", m)
	}
	ns, err := natsserver.Start(natsserver.Options{StoreDir: t.TempDir(), Port: atoi(t, natsPort)})
	if err != nil {
		t.Fatalf("start NATS on %s: %v", natsAddr, err)
	}
	t.Cleanup(ns.Shutdown)
	var s started
	select {
	case s = <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the node did not become ready within 60s of its dependencies; log:\n%s", logs.String())
	}
	if s.err != nil {
		t.Fatalf("startNode: %v\n%s", s.err, logs.String())
	}
	t.Cleanup(func() { _ = s.n.shutdown(context.Background()) })
	if code, _, _ := getJSON(base + "/readyz"); code != http.StatusOK {
		t.Fatalf("readyz = %d after start-up", code)
	}
	if code, _, _ := getJSON(base + "/api/v1/auctions"); code != http.StatusOK {
		t.Fatalf("API = %d after start-up", code)
	}
	for _, want := range []string{`msg="waiting for a dependency" dependency=database`, `msg="waiting for a dependency" dependency=nats`, `msg="dependency ready" dependency=nats`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestPausedDatabaseAnswers503: with every PostgreSQL process stopped
// (SIGSTOP), a bid and a page answer 503 within the dependency bound
// instead of hanging, and work again once it resumes.
func TestPausedDatabaseAnswers503(t *testing.T) {
	pg := ownCluster(t)
	ns, err := natsserver.Start(natsserver.Options{StoreDir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	const bound = 2 * time.Second
	cfg := config.Default()
	cfg.Role, cfg.NodeName, cfg.Addr = config.RoleAPI, "api", "127.0.0.1:0"
	cfg.DatabaseURL, cfg.NATSURL = pg.URL(), ns.ClientURL()
	cfg.DataDir, cfg.Demo = t.TempDir(), config.DemoOff
	// The setup (bcrypt under -race on a loaded machine) can outlast a
	// short bound, so a node with a generous one does it; the node under
	// test, on the same database, has the short one.
	cfg.DependencyTimeout = 30 * time.Second
	setup, err := startNode(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	seller, bidder := mustClient(t, setup.URL(), "seller@example.com"), mustClient(t, setup.URL(), "bidder@example.com")
	var a domain.AuctionView
	seller.settled(http.MethodPost, setup.URL()+"/api/v1/auctions", map[string]any{"title": "Lamp", "currency": "EUR",
		"start_price": 1000, "ends_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, http.StatusCreated, &a)
	if err := setup.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.NodeName, cfg.DataDir, cfg.DependencyTimeout = "api-bounded", t.TempDir(), bound
	n, err := startNode(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.shutdown(context.Background()) })

	pids, err := pg.Pause()
	if err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = pg.Resume(pids)
		}
	}()
	// Past the node's one-second session and user caches.
	time.Sleep(1200 * time.Millisecond)
	for _, tt := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, fmt.Sprintf("/api/v1/auctions/%d/bids", a.ID), map[string]any{"amount": 1000}},
		{http.MethodGet, "/api/v1/me", nil},
		{http.MethodGet, fmt.Sprintf("/api/v1/auctions/%d", a.ID), nil},
	} {
		start := time.Now()
		code := bidder.json(tt.method, n.URL()+tt.path, tt.body, 0, nil)
		waited := time.Since(start)
		if code != http.StatusServiceUnavailable {
			t.Errorf("%s %s with PostgreSQL paused = %d, want 503", tt.method, tt.path, code)
		}
		if waited > bound+2*time.Second {
			t.Errorf("%s %s waited %v, bound %v", tt.method, tt.path, waited, bound)
		}
	}
	if err := pg.Resume(pids); err != nil {
		t.Fatal(err)
	}
	resumed = true
	waitUntil(t, "a bid goes through after the pause", func() bool {
		return bidder.json(http.MethodPost, fmt.Sprintf("%s/api/v1/auctions/%d/bids", n.URL(), a.ID), map[string]any{"amount": 1000}, 0, nil) == http.StatusCreated
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// syncLog is a log sink safe for concurrent writers.
type syncLog struct{ browserLogBuffer }

// TestRelayYield: GAVEL_RELAY_YIELD=0 must reach the relay as "never
// wait", not as RelayOptions' zero, which means the 30ms default.
func TestRelayYield(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want time.Duration }{
		{0, -1},
		{time.Millisecond, time.Millisecond},
		{30 * time.Millisecond, 30 * time.Millisecond},
	} {
		if got := relayYield(tt.in); got != tt.want {
			t.Errorf("relayYield(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
