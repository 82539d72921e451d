package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/internal/testpg"
)

// asGavelEnv makes the test binary run `gavel` with its arguments instead
// of the tests (TestMain).
const asGavelEnv = "GAVEL_TEST_AS_GAVEL"

// TestBenchSaleSmoke runs `gavel bench sale` small (8 lots, 20 watchers
// in 2 processes, 6 probe cascades) against the test PostgreSQL: its own
// checks fail the run if a bid is lost, a lot closes twice or out of
// order, or a watcher sees a gap. It once failed at once with 429 for a
// whole session unnoticed (the login limit per address), since nothing
// ran it.
func TestBenchSaleSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sale for ~30 s")
	}
	url := testpg.URL(t)
	// The watcher processes are this binary, started as `gavel bench sale
	// watch`; they inherit the environment.
	t.Setenv(asGavelEnv, "1")
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return url
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	args := []string{"--lots", "8", "--watchers", "20", "--procs", "2", "--probes", "6", "--lead", "12s", "--snipe-every", "2"}
	if err := benchSale(ctx, args, getenv, &out, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("bench sale: %v\n%s", err, out.String())
	}
	report := out.String()
	t.Log(report)
	for line := range strings.Lines(report) {
		if strings.HasPrefix(line, "| cascading bid commit, any |") && strings.HasSuffix(strings.TrimSpace(line), "| 0 |") {
			t.Errorf("no bid cascaded: %s", line)
		}
	}
	for _, want := range []string{
		"### gavel bench sale: 8 lots 1 s apart, cascade, 20 watchers",
		"| cascading bid commit, any |",
		"Delivery ratio: 100.000%",
		"(none lost)",
		"Closes: 8 of 8 lots, each exactly once, in lot order.",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
}
