package ssebench

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// What a client does when a node dies under its streams, as an
// EventSource behind a proxy would (the kill-node run): shed answers,
// addresses that refuse connections, and the numbers of the move.

// errShed is an answer telling the client to come back after its retry:.
var errShed = errors.New("shed with retry:")

// downFor is how long an address that refused a connection is skipped,
// as a proxy's passive health check (nginx max_fails=1 fail_timeout=10s)
// stops sending requests to a backend that refused one. Without it every
// watcher of a dead node would pay for a refused connection first, and
// on loopback the clients would spend the survivors' CPU on it.
const downFor = 10 * time.Second

// markDown notes that addr refused a connection.
func (w *sseWorker) markDown(addr string) {
	w.downMu.Lock()
	defer w.downMu.Unlock()
	if w.down == nil {
		w.down = make(map[string]time.Time)
	}
	w.down[addr] = time.Now().Add(downFor)
}

// skipDown returns the first index from ai on whose address is not marked
// down, or ai if every address is.
func (w *sseWorker) skipDown(addrs []string, ai int) int {
	w.downMu.Lock()
	defer w.downMu.Unlock()
	now := time.Now()
	for k := range addrs {
		i := (ai + k) % len(addrs)
		if until, ok := w.down[addrs[i]]; !ok || now.After(until) {
			return i
		}
	}
	return ai
}

// moveQuantiles returns p50, p90 and max of the moves' lateness and set-up
// latency, in ms.
func (w *sseWorker) moveQuantiles() (late, took [3]float64) {
	w.moveMu.Lock()
	defer w.moveMu.Unlock()
	q := func(v []int32) (out [3]float64) {
		if len(v) == 0 {
			return out
		}
		s := slices.Clone(v)
		slices.Sort(s)
		for i, p := range []float64{0.5, 0.9, 1} {
			out[i] = float64(s[min(len(s)-1, int(p*float64(len(s))))]) / 1000
		}
		return out
	}
	return q(w.late), q(w.took)
}

// curveSlot is the width of one slot of the moves' arrival curve.
const curveSlot = 250 * time.Millisecond

// moveCurve counts the moves whose reconnect started (tried) and those
// streaming again (back) in each curveSlot since the Unix ns instant since.
func (w *sseWorker) moveCurve(since int64) (tried, back []int64) {
	w.moveMu.Lock()
	defer w.moveMu.Unlock()
	if since == 0 {
		return nil, nil
	}
	add := func(v []int64, at int64) []int64 {
		i := int(max(0, at-since) / int64(curveSlot))
		for len(v) <= i {
			v = append(v, 0)
		}
		v[i]++
		return v
	}
	for _, m := range w.moves {
		tried, back = add(tried, m[0]), add(back, m[1])
	}
	return tried, back
}

// sumCurves adds per-slot counts.
func sumCurves(a, b []int64) []int64 {
	for len(a) < len(b) {
		a = append(a, 0)
	}
	for i, v := range b {
		a[i] += v
	}
	return a
}

// curveTable writes the arrival curve: per slot since the kill, the moves
// whose reconnect started (after their retry:) and those streaming again,
// with running totals, so that when the last one arrived and how long the
// set-ups lagged behind the arrivals can be read against the 5 s budget.
func curveTable(w io.Writer, tried, back []int64) {
	if len(tried) == 0 {
		return
	}
	fmt.Fprintf(w, "\nArrival curve of the moved watchers (from the kill, per %s):\n\n", curveSlot)
	fmt.Fprintln(w, "| until | reconnects started | total | streaming again | total |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	var ct, cb int64
	for i := range max(len(tried), len(back)) {
		var t, b int64
		if i < len(tried) {
			t = tried[i]
		}
		if i < len(back) {
			b = back[i]
		}
		ct, cb = ct+t, cb+b
		fmt.Fprintf(w, "| %.2f s | %d | %d | %d | %d |\n", (time.Duration(i+1) * curveSlot).Seconds(), t, ct, b, cb)
	}
}
