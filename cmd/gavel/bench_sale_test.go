package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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
	waits := filepath.Join(t.TempDir(), "waits.md")
	args := []string{"--lots", "8", "--watchers", "20", "--procs", "2", "--probes", "6", "--lead", "12s", "--snipe-every", "2",
		"--pg-waits", waits}
	if err := benchSale(ctx, args, getenv, &out, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("bench sale: %v\n%s", err, out.String())
	}
	report := out.String()
	t.Log(report)
	for line := range strings.Lines(report) {
		if strings.HasPrefix(line, "| cascading bid commit, any |") && strings.HasSuffix(strings.TrimSpace(line), "| 0 |") {
			t.Errorf("no bid cascaded: %s", line)
		}
		// The commit rows time each bid's batch (bidding.BidTrace): a
		// trace left unfilled reads as zero.
		if strings.HasPrefix(line, "| cascading bid commit, any | 0.0 ms |") {
			t.Errorf("cascades timed as taking nothing: %s", line)
		}
	}
	for _, want := range []string{
		"### gavel bench sale: 8 lots 1 s apart, cascade, 20 watchers",
		"| cascading bid commit, any |",
		"| … of which the probe's, one bid at a time |",
		"| … of which snipes, while the scheduler closes lots |",
		"| … the same bids placed to acknowledged, with any wait for an earlier batch on the lot |",
		"- Snipes, each bid's time: lot ",
		"Delivery ratio: 100.000%",
		"(none lost)",
		"Closes: 8 of 8 lots, each exactly once, in lot order.",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	// The sampler ran from the first cascade to the end of the probe,
	// at least 6 × 80 ms: ~240 samples at 2 ms. (Which statements it
	// caught is chance on the tests' fsync-off server, where a bid's
	// statements take well under a millisecond.)
	got, err := os.ReadFile(waits)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`for \d+ms: (\d+) samples\.`).FindSubmatch(got)
	if m == nil || !strings.Contains(string(got), "| statement | state | samples | ≈ time |") {
		t.Fatalf("--pg-waits wrote no table:\n%s", got)
	}
	if n, _ := strconv.Atoi(string(m[1])); n < 50 {
		t.Errorf("--pg-waits took %d samples during the probe, want at least 50:\n%s", n, got)
	}
}
