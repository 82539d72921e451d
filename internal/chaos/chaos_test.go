package chaos

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestFaultSuiteShort is the short version of `make chaos` that `make test`
// runs: the whole cluster from processes, the storm and the watchers, one
// kill -9 of an API node and one PostgreSQL restart, every check, and the
// self-test showing that each checker fails on tampered evidence.
func TestFaultSuiteShort(t *testing.T) {
	testpg.RequireBinaries(t)
	compose, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	gavel, natsd := filepath.Join(bin, "gavel"), filepath.Join(bin, "natsd")
	build(t, gavel, "../../cmd/gavel")
	build(t, natsd, "./cmd/natsd")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	log := &syncWriter{}
	out, err := Run(ctx, RunOptions{
		Short:   true,
		Cluster: ClusterOptions{Gavel: gavel, Natsd: natsd, Compose: compose, Dir: dir},
		Out:     log,
	})
	if err != nil {
		t.Fatalf("the run could not be done: %v\n%s%s", err, log, nodeLogs(dir))
	}
	defer out.Cluster.Close()
	t.Logf("%s\n%s", out.Evidence.Summary(), Table(out.Results))
	if !out.OK() {
		t.Fatalf("a check failed:\n%s\n%s", log, nodeLogs(dir))
	}
	st, err := SelfTest(ctx, out.Cluster, out.Evidence)
	if err != nil {
		t.Fatalf("self-test: %v", err)
	}
	t.Logf("self-test:\n%s", Table(st))
	if len(st) != len(tampers()) || !allOK(st) {
		t.Fatal("a checker did not fail on tampered evidence (see the self-test table)")
	}
}

func build(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// nodeLogs returns the end of every process's log, for a failure report.
func nodeLogs(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		lines = lines[max(0, len(lines)-15):]
		b.WriteString("\n--- " + filepath.Base(f) + " (end)\n" + strings.Join(lines, "\n") + "\n")
	}
	return b.String()
}

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
