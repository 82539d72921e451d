package main

import (
	"bytes"
	"runtime"
	"runtime/trace"
	"strings"
	"testing"
	"time"
)

// The traced program: a probe that pauses, then waits in waitWindow for a
// worker that takes ~4 ms; during every second window a burner goroutine
// spins as well, and in every fourth the worker runs a collection.

//go:noinline
func pause() { time.Sleep(2 * time.Millisecond) }

// waitWindow lets the worker start once the probe is inside the window,
// and reports whether the probe waited: a loaded machine can keep the
// probe off its core until the worker is done, and then the trace has no
// window for that cascade.
//
//go:noinline
func waitWindow(start chan<- struct{}, done <-chan struct{}) bool {
	close(start)
	select {
	case <-done:
		return false
	default:
		<-done
		return true
	}
}

//go:noinline
func baseline(done <-chan struct{}) { <-done }

//go:noinline
func burner(started chan<- struct{}, stop <-chan struct{}) {
	close(started)
	x := 0
	for {
		select {
		case <-stop:
			return
		default:
			for i := range 10000 {
				x += i
			}
		}
	}
}

func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// probeLoop returns how many of its n windows the probe waited in.
//
//go:noinline
func probeLoop(n int) (waited int) {
	for i := range n {
		pause()
		done := make(chan struct{})
		stop := make(chan struct{})
		if i%2 == 1 {
			started := make(chan struct{})
			go burner(started, stop)
			<-started
		}
		gc := i%4 == 3
		start := make(chan struct{})
		go func() {
			<-start
			spin(2 * time.Millisecond)
			if gc {
				runtime.GC()
			}
			spin(2 * time.Millisecond)
			close(done)
		}()
		if waitWindow(start, done) {
			waited++
		}
		close(stop)
		// A bid after the cascade, which is not one.
		done2 := make(chan struct{})
		go func() { spin(time.Millisecond); close(done2) }()
		baseline(done2)
	}
	return waited
}

// TestAnalyzeFindsWhatRanDuringTheWindows traces probeLoop and checks
// that the windows after each pause are the cascades, the baselines are
// not, and the burner and the collector show in the windows they ran in.
func TestAnalyzeFindsWhatRanDuringTheWindows(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	const n = 16
	waited := make(chan int)
	go func() { waited <- probeLoop(n) }()
	want := <-waited
	trace.Stop()
	if want < n*3/4 {
		t.Fatalf("the probe waited in %d of its %d windows; the machine is too loaded to trace them", want, n)
	}

	o := options{probe: "tracewin.probeLoop", window: "tracewin.waitWindow", after: "tracewin.pause"}
	rep, err := analyze(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.cascades) != want {
		t.Fatalf("%d cascades, want %d (%d windows)", len(rep.cascades), want, rep.windows)
	}
	burned := 0
	for _, c := range rep.cascades {
		// The worker that ends the window runs in most of it: all of it
		// but its collection, or, when the machine kept the probe off its
		// core after it let the worker go, what was left of its 4 ms.
		if c.ran["github.com/gavel-auctions/gavel/internal/bench/tracewin.probeLoop.func1"] < min(1, c.ms/2) {
			t.Errorf("a cascade of %.1f ms in which its worker ran %.2f ms", c.ms, c.ran["github.com/gavel-auctions/gavel/internal/bench/tracewin.probeLoop.func1"])
		}
		if c.ran["github.com/gavel-auctions/gavel/internal/bench/tracewin.burner"] > 0 {
			burned++
		}
	}
	// Each window the probe did not wait in may have been a burner's.
	if burned < n/2-(n-want) {
		t.Errorf("the burner ran in %d cascades, want at least %d", burned, n/2-(n-want))
	}
	if during, _ := rep.split(); len(rep.gcs) == 0 || len(during) == 0 {
		t.Errorf("%d mark phases, %d cascades during one; the forced collections overlap some", len(rep.gcs), len(during))
	}
	var out strings.Builder
	rep.write(&out)
	for _, want := range []string{"| during a mark phase |", "slowest tenth", "tracewin.burner"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
}
