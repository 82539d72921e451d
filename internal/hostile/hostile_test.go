package hostile

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// shortOnSQLite and shortOnPostgres are the scenarios of the short run in
// `make test`. SQLite gets the authorization matrix (so that a new route
// without an expected answer fails the build), the body attacks, the
// floods and running out of file descriptors; PostgreSQL, which refuses
// what SQLite stores (NUL, invalid UTF-8), gets the bad-input battery and
// the leak scan of its answers. `make security` runs everything on both.
const (
	shortOnSQLite   = "authorization matrix,decompression bombs,body limits,connection flood,limiter flood,login flood,out of file descriptors"
	shortOnPostgres = "bad-input battery,leak scan"
)

// TestHostileShort builds gavel, starts it as a separate process on each
// database and runs the short hostile-client suite against it. Any
// failure of a scenario fails the test with what the node got wrong.
func TestHostileShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gavel processes; run without -short")
	}
	gavel := buildGavel(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	for _, run := range []struct {
		name string
		o    Options
	}{
		{"sqlite", Options{SQLite: true, Only: shortOnSQLite}},
		{"postgres", Options{PostgresURL: testpg.URL(t), Only: shortOnPostgres}},
	} {
		t.Run(run.name, func(t *testing.T) {
			o := run.o
			o.Gavel, o.Short, o.Log = gavel, true, testLog{t}
			results, err := Run(ctx, o)
			t.Logf("\n%s", Table(results))
			if err != nil {
				t.Fatal(err)
			}
			if want := len(strings.Split(o.Only, ",")); len(results) != want {
				t.Errorf("%d scenarios ran, want %d (%s): was one renamed?", len(results), want, o.Only)
			}
			for _, r := range results {
				for _, f := range r.Failures {
					t.Errorf("%s: %s", r.Scenario, f)
				}
			}
		})
	}
}

// buildGavel builds cmd/gavel into the test's temporary directory, as the
// make target builds bin/gavel.
func buildGavel(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gavel")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gavel")
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gavel: %v\n%s", err, out)
	}
	return bin
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// testLog sends the suite's progress to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestSelected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		only, name string
		want       bool
	}{
		{"", "leak scan", true},
		{"leak", "leak scan", true},
		{"decompression, leak", "leak scan", true},
		{"bombs,matrix", "leak scan", false},
		{"login flood", "page latency under a login flood", false},
	} {
		if got := selected(tc.only, tc.name); got != tc.want {
			t.Errorf("selected(%q, %q) = %v, want %v", tc.only, tc.name, got, tc.want)
		}
	}
}

func TestIndexWhole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text, form string
		want       int
	}{
		{`"max_amount":555229}`, "555229", 13},
		{`"created_at":"19:20:23.75552297Z"`, "555229", -1},
		{`5552290 then 555229`, "555229", 13},
		{`EUR 5,552.29.`, "5,552.29", 4},
		{`x@hostile.example`, "@hostile", 1},
	} {
		if got := indexWhole(tc.text, tc.form); got != tc.want {
			t.Errorf("indexWhole(%q, %q) = %d, want %d", tc.text, tc.form, got, tc.want)
		}
	}
}
