package salebench

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestProbeTrace: the trace starts once (a second start is a no-op), stops
// by itself after TraceFor, and stopTrace then closes a file that holds it.
// Without a file named, neither does anything.
func TestProbeTrace(t *testing.T) {
	var none run
	if err := none.startTrace(); err != nil || none.traceStop != nil {
		t.Fatalf("no file: startTrace = %v, stop set %v", err, none.traceStop != nil)
	}
	if err := none.stopTrace(); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "probe.trace")
	r := run{o: Options{ProbeTrace: file, TraceFor: 50 * time.Millisecond}}
	if err := r.startTrace(); err != nil {
		t.Fatal(err)
	}
	// A second trace.Start would fail ("tracing is already enabled").
	if err := r.startTrace(); err != nil {
		t.Fatalf("second start: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	stopped := fi.Size()
	if stopped == 0 {
		t.Fatal("the trace stopped after TraceFor with nothing written")
	}
	time.Sleep(100 * time.Millisecond)
	if fi, _ := os.Stat(file); fi.Size() != stopped {
		t.Errorf("the trace grew from %d to %d bytes after TraceFor", stopped, fi.Size())
	}
	if err := r.stopTrace(); err != nil {
		t.Fatal(err)
	}
}

// TestProbeAllocs: with a file named, the probe's start and end profiles
// are written beside each other as pprof's gzipped protobuf; without one,
// nothing is.
func TestProbeAllocs(t *testing.T) {
	if err := writeAllocs("", ".base"); err != nil {
		t.Fatalf("no file: %v", err)
	}
	file := filepath.Join(t.TempDir(), "probe.allocs")
	if err := writeAllocs(file, ".base"); err != nil {
		t.Fatal(err)
	}
	if err := writeAllocs(file, ""); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{file + ".base", file} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: %d bytes, not a gzipped profile", f, len(b))
		}
	}
	if dir, _ := os.ReadDir(filepath.Dir(file)); len(dir) != 2 {
		t.Errorf("%d files written, want 2", len(dir))
	}
}
