// Command tracewin reads a Go execution trace of `gavel bench sale`
// (--probe-trace FILE) and says what else the node ran while each of the
// probe's cascading bids was committing: the goroutines on a CPU during
// each bid's window, by the function that started them, for the fastest
// half of the cascades and for the slowest tenth, and the cascades that
// overlapped one of the collector's mark phases against the rest.
//
//	go run ./internal/bench/tracewin FILE
//
// A window is the time the probe's goroutine waits inside PlaceBid; a
// window that follows the probe's sleep is a cascade (the probe bids on
// the lot closing first right after each sleep, then on the baselines).
// Only running goroutines count: one blocked in a system call holds no
// CPU of Go's. Session 10 found with it that the slowest cascades were
// the ones a collection overlapped (docs/BENCHMARKS.md).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"golang.org/x/exp/trace"
)

func main() {
	var o options
	flag.StringVar(&o.probe, "probe", "salebench.(*run).probe", "the end of a function's name on the stack of the goroutine whose waits are the windows")
	flag.StringVar(&o.window, "window", ".PlaceBid", "the end of a function's name on the stack of a wait that is a window")
	flag.StringVar(&o.after, "after", "salebench.sleep", "the end of a function's name on the stack of a wait after which the next window is a cascade")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: tracewin [flags] TRACE")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	rep, err := analyze(bufio.NewReaderSize(f, 1<<20), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rep.write(os.Stdout)
}

// options name the functions that mark the windows.
type options struct{ probe, window, after string }

// gcWorker is the collector's background mark worker.
const gcWorker = "runtime.gcBgMarkWorker"

// window is one cascade's commit, and what ran during it.
type window struct {
	ms    float64            // its length
	ran   map[string]float64 // ms on a CPU during it, by goroutine
	other float64            // their sum
}

// report is what analyze found.
type report struct {
	seconds  float64
	windows  int // every window, cascades or not
	cascades []window
	gcs      []float64 // mark phases, ms
}

type span struct {
	g    trace.GoID
	s, e trace.Time
}

// analyze reads a trace and measures the cascades' windows.
func analyze(in io.Reader, o options) (*report, error) {
	r, err := trace.NewReader(in)
	if err != nil {
		return nil, err
	}
	var (
		since      = map[trace.GoID]trace.Time{}
		label      = map[trace.GoID]string{}
		spans      []span
		probe      trace.GoID = -1
		open       *window
		opened     trace.Time
		afterSleep bool
		wins       []struct{ s, e trace.Time }
		cascade    []bool
		first      trace.Time
		last       trace.Time
		gcStart    trace.Time
		rep        report
	)
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		t := ev.Time()
		if first == 0 {
			first = t
		}
		last = t
		switch ev.Kind() {
		case trace.EventRangeBegin:
			if strings.Contains(ev.Range().Name, "GC concurrent mark") {
				gcStart = t
			}
		case trace.EventRangeEnd:
			if strings.Contains(ev.Range().Name, "GC concurrent mark") && gcStart != 0 {
				rep.gcs = append(rep.gcs, float64(t-gcStart)/1e6)
				gcStart = 0
			}
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g := st.Resource.Goroutine()
		from, to := st.Goroutine()
		var frames []string
		for f := range st.Stack.Frames() {
			frames = append(frames, f.Func)
		}
		name(label, g, frames, from == trace.GoNotExist)
		if probe < 0 && hasFrame(frames, o.probe) {
			probe = g
		}
		switch {
		case from == trace.GoRunning && to != trace.GoRunning:
			if s0, ok := since[g]; ok {
				spans = append(spans, span{g, s0, t})
				delete(since, g)
			}
		case from != trace.GoRunning && to == trace.GoRunning:
			since[g] = t
		}
		if g != probe {
			continue
		}
		switch {
		case to == trace.GoWaiting && hasFrame(frames, o.window):
			open, opened = &window{}, t
			cascade = append(cascade, afterSleep)
			afterSleep = false
		case to == trace.GoWaiting && hasFrame(frames, o.after):
			afterSleep = true
		case to == trace.GoRunnable && open != nil:
			wins = append(wins, struct{ s, e trace.Time }{opened, t})
			open = nil
		}
	}
	for g, s0 := range since {
		spans = append(spans, span{g, s0, last})
	}
	rep.seconds, rep.windows = float64(last-first)/1e9, len(wins)
	slices.SortFunc(spans, func(a, b span) int { return int(a.s - b.s) })
	for i, w := range wins {
		if !cascade[i] {
			continue
		}
		c := window{ms: float64(w.e-w.s) / 1e6, ran: map[string]float64{}}
		for _, x := range spans {
			if x.s >= w.e {
				break
			}
			if x.e <= w.s || x.g == probe {
				continue
			}
			ms := float64(min(x.e, w.e)-max(x.s, w.s)) / 1e6
			c.ran[label[x.g]] += ms
			c.other += ms
		}
		rep.cascades = append(rep.cascades, c)
	}
	sort.Slice(rep.cascades, func(i, j int) bool { return rep.cascades[i].ms < rep.cascades[j].ms })
	return &rep, nil
}

// name labels a goroutine by the function that started it: the first
// frame at its creation, else the outermost frame outside the runtime
// seen on its stack (goroutines older than the trace), else the runtime
// function outermost on it.
func name(label map[trace.GoID]string, g trace.GoID, frames []string, created bool) {
	if len(frames) == 0 {
		return
	}
	if created {
		label[g] = frames[0]
		return
	}
	if l, ok := label[g]; ok && !strings.HasPrefix(l, "runtime.") {
		return
	}
	for i := len(frames) - 1; i >= 0; i-- {
		if !strings.HasPrefix(frames[i], "runtime.") {
			label[g] = frames[i]
			return
		}
	}
	// The runtime's own, such as the collector's mark workers.
	label[g] = frames[len(frames)-1]
}

// hasFrame reports whether a frame's function name ends with suffix.
func hasFrame(frames []string, suffix string) bool {
	return slices.ContainsFunc(frames, func(f string) bool { return strings.HasSuffix(f, suffix) })
}

// split returns the cascades that overlapped a mark phase and the rest.
func (r *report) split() (during, without []window) {
	for _, c := range r.cascades {
		if c.ran[gcWorker] > 0 {
			during = append(during, c)
		} else {
			without = append(without, c)
		}
	}
	return during, without
}

func (r *report) write(out io.Writer) {
	fmt.Fprintf(out, "trace of %.1f s: %d bids, %d of them cascades; %d mark phases (ms: %s)\n\n",
		r.seconds, r.windows, len(r.cascades), len(r.gcs), floats(r.gcs))
	if len(r.cascades) == 0 {
		return
	}
	during, without := r.split()
	fmt.Fprintf(out, "| cascades | n | p50 | p90 | max |\n|---|---|---|---|---|\n")
	for _, row := range []struct {
		name string
		ws   []window
	}{{"all", r.cascades}, {"during a mark phase", during}, {"not during one", without}} {
		fmt.Fprintf(out, "| %s | %s |\n", row.name, quantiles(row.ws))
	}
	n := len(r.cascades)
	top("fastest half", r.cascades[:max(1, n/2)], out)
	top("slowest tenth", r.cascades[n-max(1, n/10):], out)
}

// top lists what ran during windows, most first.
func top(title string, ws []window, out io.Writer) {
	sum := map[string]float64{}
	var ms, other float64
	for _, w := range ws {
		ms, other = ms+w.ms, other+w.other
		for k, v := range w.ran {
			sum[k] += v
		}
	}
	keys := make([]string, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return sum[keys[i]] > sum[keys[j]] })
	fmt.Fprintf(out, "\n%s: %d cascades, %.1f ms on average; other goroutines ran %.1f ms per cascade (%.2f CPUs):\n",
		title, len(ws), ms/float64(len(ws)), other/float64(len(ws)), other/ms)
	for i, k := range keys {
		if i == 8 || sum[k]/float64(len(ws)) < 0.01 {
			break
		}
		fmt.Fprintf(out, "  %6.2f ms  %s\n", sum[k]/float64(len(ws)), k)
	}
}

func quantiles(ws []window) string {
	if len(ws) == 0 {
		return "0 | | | "
	}
	v := make([]float64, len(ws))
	for i, w := range ws {
		v[i] = w.ms
	}
	sort.Float64s(v)
	return fmt.Sprintf("%d | %.1f ms | %.1f ms | %.1f ms", len(v), v[len(v)/2], v[len(v)*9/10], v[len(v)-1])
}

func floats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(s, ", ")
}
