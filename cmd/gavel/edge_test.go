package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/web"
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

// gavel routes prints the route table of a real node, which the
// hostile-client suite turns into its authorization matrix.
func TestRoutesCommand(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"routes", "--role", "api"}, envOf(nil), &stdout, &stderr); err != nil {
		t.Fatalf("gavel routes: %v\n%s", err, stderr.String())
	}
	var routes []web.Route
	if err := json.Unmarshal(stdout.Bytes(), &routes); err != nil {
		t.Fatalf("gavel routes printed %q: %v", stdout.String(), err)
	}
	for _, want := range []web.Route{{Method: "POST", Path: "/api/v1/auctions/:id/bids"}, {Method: "GET", Path: "/admin"}} {
		if !slices.ContainsFunc(routes, func(r web.Route) bool { return r.Method == want.Method && r.Path == want.Path }) {
			t.Errorf("gavel routes --role api lacks %s %s", want.Method, want.Path)
		}
	}
	if slices.ContainsFunc(routes, func(r web.Route) bool { return strings.HasPrefix(r.Path, "/stream/") }) {
		t.Error("an api node's routes include streams")
	}
}
