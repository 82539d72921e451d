package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/internal/config"
)

// A node whose HTTP server stops serving must exit with an error, so that
// its supervisor restarts it: never stay up and deaf.
func TestNodeExitsWhenItCannotServe(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.Demo = "127.0.0.1:0", t.TempDir(), config.DemoOff
	cfg.Edge.MetricsAddr = ""
	log := slog.New(slog.DiscardHandler)
	n, err := startNode(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	// The socket fails under the server, as when accept gives an error
	// fasthttp does not retry.
	if err := n.edge.guard.Listener.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = n.serveUntil(ctx, log)
	if err == nil || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("serveUntil = %v after the listener failed, want an error at once (the node stayed up)", err)
	}
	if !strings.Contains(err.Error(), "http server stopped") {
		t.Errorf("serveUntil = %v, want it to say the http server stopped", err)
	}
}
