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
		expectReturns(t, returns, 4*time.Second, 1, "after the burst")
		if p := gcPercent(m); p != 100 {
			t.Fatalf("GC percent %d after the return, want 100", p)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// Steady churn that never goes quiet keeps the lowered percent for
		// burstWindow at most.
		m, returns, _ := newTestMemReturn(3*time.Second, 100)
		defer m.stop()
		for range 100 {
			m.setupDone()
		}
		for range 60 { // 2 minutes
			for range 10 {
				m.setupDone()
			}
			time.Sleep(2 * time.Second)
		}
		synctest.Wait()
		if p, n := gcPercent(m), returns.Load(); p != 100 || n != 0 {
			t.Fatalf("after 2 minutes of churn: GC percent %d, %d returns; want 100 and 0", p, n)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// A burst's worth of set-ups spread over more than burstWindow is
		// churn: no lowered percent, no return.
		m, returns, _ := newTestMemReturn(3*time.Second, 100)
		defer m.stop()
		for range 150 {
			m.setupDone()
			time.Sleep(time.Second)
			if p := gcPercent(m); p != 100 {
				t.Fatalf("GC percent %d under a trickle of 1 set-up a second, want 100", p)
			}
		}
		expectReturns(t, returns, time.Minute, 0, "a trickle of 1 set-up a second")
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

// expectReturns lets d of the bubble's time pass, then checks how many
// times memory was returned.
func expectReturns(t *testing.T, returns *atomic.Int64, d time.Duration, want int64, when string) {
	t.Helper()
	time.Sleep(d)
	synctest.Wait()
	if n := returns.Load(); n != want {
		t.Fatalf("%s: %d returns, want %d", when, n, want)
	}
}

func TestMemReturnAfterBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, returns, setups := newTestMemReturn(3*time.Second, 100)
		defer m.stop()
		for range 150 {
			m.setupDone()
		}
		expectReturns(t, returns, 2*time.Second, 0, "before set-ups were quiet for 3s")
		expectReturns(t, returns, 2*time.Second, 1, "after a quiet 3s")
		if s := setups.Load(); s != 150 {
			t.Fatalf("the return counted %d set-ups, want 150", s)
		}
		expectReturns(t, returns, time.Minute, 1, "with no new set-ups")
	})
}

func TestMemReturnWaitsForQuietAndBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, returns, _ := newTestMemReturn(3*time.Second, 100)
		defer m.stop()
		for range 99 {
			m.setupDone()
			time.Sleep(time.Second)
		}
		expectReturns(t, returns, 0, 0, "a slow trickle, fewer set-ups than a burst")
		for range 20 {
			for range 10 {
				m.setupDone()
			}
			time.Sleep(2 * time.Second)
		}
		expectReturns(t, returns, 0, 0, "while set-ups kept coming")
		expectReturns(t, returns, 2*time.Second, 1, "once set-ups stopped")
		for range 200 {
			m.setupDone()
		}
		expectReturns(t, returns, 10*time.Second, 1, "a second burst 10s after the first")
		expectReturns(t, returns, memReturnEvery, 2, "a second burst after memReturnEvery")
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
		expectReturns(t, returns, time.Minute, 0, "after stop")
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
