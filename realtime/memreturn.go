package realtime

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"sync"
	"time"
)

// After a burst of stream set-ups (#18 point 2) the process holds far more
// memory than its streams need: the set-ups' goroutine stacks (freed when
// fasthttp retires its idle workers), their reads' garbage, and the
// buffers left in sync.Pools. The Go runtime gives such memory back only
// slowly, and keeps a heap of up to twice the live data, so a node that
// took 18,000 connections at once held 6–12 KiB per idle stream long
// after. memReturn waits until set-ups have been quiet for a while after a
// burst, then runs two collections (the second empties the pools' victim
// caches) and hands every free page back to the OS: one bounded cost per
// burst, at most once per memReturnEvery.

// burstGCPercent is the GC percent while a burst of set-ups is under way
// (GOGC is 100 unless the operator set it): the burst's garbage then tops
// out at half the live heap instead of all of it, which bounds the peak,
// at the price of more frequent collections during the burst only. The
// previous setting comes back with the memory return.
const burstGCPercent = 50

// burstWindow is how soon the set-ups of a burst must follow one another:
// ReturnBurst of them spread over longer are churn, not a burst, and the
// count starts again. It also bounds how long a burst keeps the GC percent
// lowered when set-ups never go quiet (steady churn on a busy node).
const burstWindow = time.Minute

// memReturnEvery is the least time between two returns, so that a node
// under a steady trickle of bursts pays for a forced collection at most
// this often.
const memReturnEvery = 30 * time.Second

// memReturn counts stream set-ups and returns memory after a burst.
type memReturn struct {
	quiet  time.Duration // set-ups quiet this long after a burst
	burst  int64         // set-ups since the last return that make a burst
	free   func(setups int64)
	setGC  func(percent int) int // debug.SetGCPercent
	logger *slog.Logger

	mu      sync.Mutex
	setups  int64     // since the last return
	first   time.Time // the first of them
	last    time.Time // the latest set-up
	lowered time.Time // when the burst lowered the GC percent
	lastRet time.Time // the latest return
	timer   *time.Timer
	stopped bool
	saved   int // the GC percent a burst lowered, to restore; 0: none
}

// newMemReturn returns nil (no returns) when quiet is negative.
func newMemReturn(quiet time.Duration, burst int, logger *slog.Logger) *memReturn {
	if quiet < 0 {
		return nil
	}
	m := &memReturn{quiet: quiet, burst: int64(burst), logger: logger}
	m.free, m.setGC = m.returnMemory, debug.SetGCPercent
	return m
}

// setupDone counts one stream set-up, whatever its outcome.
func (m *memReturn) setupDone() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.setups == 0 {
		m.first = now
	}
	m.setups++
	m.last = now
	if m.setups >= m.burst && m.timer == nil && !m.stopped {
		if now.Sub(m.first) > burstWindow {
			m.setups, m.first = 1, now // churn: count afresh
			return
		}
		m.timer = time.AfterFunc(m.quiet, m.fire)
		if prev := m.setGC(burstGCPercent); prev > burstGCPercent {
			m.saved, m.lowered = prev, now
		} else {
			m.setGC(prev) // already lower, or off: the operator's choice stands
		}
	}
}

// restoreGC puts back the GC percent a burst lowered. The caller holds m.mu.
func (m *memReturn) restoreGC() {
	if m.saved != 0 {
		m.setGC(m.saved)
		m.saved = 0
	}
}

// fire returns memory once set-ups have been quiet for m.quiet and the
// last return is memReturnEvery old; until then it waits again.
func (m *memReturn) fire() {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	now := time.Now()
	wait := m.last.Add(m.quiet).Sub(now)
	if !m.lastRet.IsZero() {
		wait = max(wait, m.lastRet.Add(memReturnEvery).Sub(now))
	}
	if wait > 0 {
		if m.saved != 0 && now.Sub(m.lowered) > burstWindow {
			m.restoreGC() // set-ups never went quiet: churn, not a burst
		}
		m.timer.Reset(wait)
		m.mu.Unlock()
		return
	}
	n := m.setups
	m.setups, m.timer, m.lastRet = 0, nil, now
	m.restoreGC()
	m.mu.Unlock()
	m.free(n)
}

// stop cancels a pending return (Hub.Shutdown).
func (m *memReturn) stop() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	if m.timer != nil {
		m.timer.Stop()
	}
	m.restoreGC()
}

// returnMemory collects twice and scavenges, and logs what it gave back.
func (m *memReturn) returnMemory(setups int64) {
	start := time.Now()
	before := runtimeMemory()
	runtime.GC() // moves the pools' contents to their victim caches
	debug.FreeOSMemory()
	after := runtimeMemory()
	m.logger.Info("realtime: returned free memory to the OS after a burst of stream set-ups",
		"setups", setups, "held_mib", before.held>>20, "held_after_mib", after.held>>20,
		"heap_live_mib", after.live>>20, "stacks_mib", after.stacks>>20, "took", time.Since(start).Round(time.Millisecond))
}

// memoryFigures are the runtime's own figures, in bytes.
type memoryFigures struct {
	held   uint64 // mapped and not released: what RSS can hold
	live   uint64 // heap objects
	stacks uint64
}

func runtimeMemory() memoryFigures {
	s := []rtmetrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}
	rtmetrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != rtmetrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return memoryFigures{held: v(0) - v(1), live: v(2), stacks: v(3)}
}
