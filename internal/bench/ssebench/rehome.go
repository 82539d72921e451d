package ssebench

import (
	"errors"
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
