package realtime

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// newTestMemReturn counts the returns instead of making them.
func newTestMemReturn(quiet time.Duration, burst int) (*memReturn, *atomic.Int64, *atomic.Int64) {
	m := newMemReturn(quiet, burst, slog.New(slog.DiscardHandler))
	var returns, setups atomic.Int64
	m.free = func(n int64) { returns.Add(1); setups.Add(n) }
	gc := 100
	m.setGC = func(p int) int { prev := gc; gc = p; return prev }
	return m, &returns, &setups
}

// gcPercent reads the fake GC percent of a test memReturn.
func gcPercent(m *memReturn) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.setGC(0)
	m.setGC(p)
	return p
}

// A burst lowers the GC percent until its memory is returned, then
// restores it; a lower setting is left alone.
func TestMemReturnLowersGCDuringBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, returns, _ := newTestMemReturn(3*time.Second, 100)
		defer m.stop()
		for range 99 {
			m.setupDone()
		}
		if p := gcPercent(m); p != 100 {
			t.Fatalf("GC percent %d before the burst, want 100", p)
		}
		m.setupDone()
		if p := gcPercent(m); p != burstGCPercent {
			t.Fatalf("GC percent %d during the burst, want %d", p, burstGCPercent)
		}
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if p, n := gcPercent(m), returns.Load(); p != 100 || n != 1 {
			t.Fatalf("after the return: GC percent %d, %d returns; want 100 and 1", p, n)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		m, _, _ := newTestMemReturn(3*time.Second, 10)
		m.setGC(20) // the operator's GOGC=20
		for range 10 {
			m.setupDone()
		}
		if p := gcPercent(m); p != 20 {
			t.Fatalf("GC percent %d during a burst under GOGC=20, want 20", p)
		}
		m.stop()
	})
}

func TestMemReturnAfterBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, returns, setups := newTestMemReturn(3*time.Second, 100)
		defer m.stop()
		for range 150 {
			m.setupDone()
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := returns.Load(); n != 0 {
			t.Fatalf("returned %d times before set-ups were quiet", n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n, s := returns.Load(), setups.Load(); n != 1 || s != 150 {
			t.Fatalf("after a quiet 3s: %d returns for %d set-ups, want 1 for 150", n, s)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := returns.Load(); n != 1 {
			t.Fatalf("%d returns with no new set-ups, want still 1", n)
		}
	})
}

func TestMemReturnWaitsForQuietAndBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, returns, _ := newTestMemReturn(3*time.Second, 100)
		defer m.stop()
		// A slow trickle never makes a burst.
		for range 99 {
			m.setupDone()
			time.Sleep(time.Second)
		}
		synctest.Wait()
		if n := returns.Load(); n != 0 {
			t.Fatalf("returned %d times for fewer set-ups than a burst", n)
		}
		// Set-ups that keep coming postpone the return until they stop.
		for range 20 {
			for range 10 {
				m.setupDone()
			}
			time.Sleep(2 * time.Second)
		}
		synctest.Wait()
		if n := returns.Load(); n != 0 {
			t.Fatalf("returned %d times while set-ups kept coming", n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := returns.Load(); n != 1 {
			t.Fatalf("%d returns once set-ups stopped, want 1", n)
		}
		// A second burst soon after waits for memReturnEvery.
		for range 200 {
			m.setupDone()
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := returns.Load(); n != 1 {
			t.Fatalf("%d returns 10s after the first, want 1 (at most one per %s)", n, memReturnEvery)
		}
		time.Sleep(memReturnEvery)
		synctest.Wait()
		if n := returns.Load(); n != 2 {
			t.Fatalf("%d returns after %s, want 2", n, memReturnEvery)
		}
	})
}

func TestMemReturnOffAndStopped(t *testing.T) {
	if m := newMemReturn(-1, 100, nil); m != nil {
		t.Fatal("a negative quiet time should turn returns off")
	}
	var off *memReturn
	off.setupDone() // a nil memReturn counts nothing and must not panic
	off.stop()
	synctest.Test(t, func(t *testing.T) {
		m, returns, _ := newTestMemReturn(time.Second, 10)
		for range 10 {
			m.setupDone()
		}
		m.stop()
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := returns.Load(); n != 0 {
			t.Fatalf("%d returns after stop", n)
		}
	})
}

// The real return runs and reports figures.
func TestReturnMemoryRuns(t *testing.T) {
	m := newMemReturn(time.Second, 1, slog.New(slog.DiscardHandler))
	m.returnMemory(1)
	if f := runtimeMemory(); f.held == 0 || f.live == 0 {
		t.Fatalf("runtime memory figures %+v", f)
	}
}

// Every stream set-up counts towards a burst, and the hub returns memory
// once they have been quiet.
func TestHubReturnsMemoryAfterBurstOfSetups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{ReturnQuiet: 20 * time.Millisecond, ReturnBurst: 3})
	var returns atomic.Int64
	h.mem.free = func(int64) { returns.Add(1) } // before any set-up: setupDone's lock orders it
	e.seed(1, 1)
	for range 3 {
		c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
		c.expect(domain.EventSnapshot, "1:1")
	}
	waitFor(t, "memory returned after a burst of 3 set-ups", func() bool { return returns.Load() == 1 })
}
