package ssebench

import (
	"slices"
	"testing"
	"time"
)

// TestVictimAddrs checks the weighting that puts --victim of --conns
// streams on the node the kill-node run kills: the clients spread streams
// round-robin over the list.
func TestVictimAddrs(t *testing.T) {
	nodes := []string{"a", "b", "c"}
	cases := []struct {
		name          string
		addrs         []string
		conns, victim int
		onFirst       float64 // share of streams on addrs[0]
	}{
		{"even by default", nodes[:2], 18000, 0, 0.5},
		{"16,000 of 18,000 on two nodes", nodes[:2], 18000, 16000, 16000.0 / 18000},
		{"three nodes", nodes, 24000, 16000, 16000.0 / 24000},
		{"all on the victim is left even", nodes[:2], 100, 100, 0.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := victimAddrs(c.addrs, c.conns, c.victim)
			first := 0
			for i := range c.conns {
				if got[i%len(got)] == c.addrs[0] {
					first++
				}
			}
			share := float64(first) / float64(c.conns)
			if share < c.onFirst-0.02 || share > c.onFirst+0.02 {
				t.Errorf("%v puts %.3f of the streams on %s, want %.3f", got, share, c.addrs[0], c.onFirst)
			}
			for _, a := range c.addrs[1:] {
				if !slices.Contains(got, a) {
					t.Errorf("%v leaves out the survivor %s", got, a)
				}
			}
		})
	}
}

// TestSkipDown: once an address refused a connection, the clients'
// reconnects go past it, as a proxy's passive health check would, and
// come back to it after downFor.
func TestSkipDown(t *testing.T) {
	w := &sseWorker{}
	addrs := []string{"a", "a", "b", "c"}
	if got := w.skipDown(addrs, 1); got != 1 {
		t.Fatalf("nothing down: skipDown from 1 = %d, want 1", got)
	}
	w.markDown("a")
	if got := w.skipDown(addrs, 0); got != 2 {
		t.Fatalf("a down: skipDown from 0 = %d, want 2 (b)", got)
	}
	w.markDown("b")
	w.markDown("c")
	if got := w.skipDown(addrs, 3); got != 3 {
		t.Fatalf("all down: skipDown from 3 = %d, want 3 (try anyway)", got)
	}
	w.down["a"] = time.Now().Add(-time.Second)
	if got := w.skipDown(addrs, 2); got != 0 {
		t.Fatalf("a back after downFor: skipDown from 2 = %d, want 0", got)
	}
}

// The arrival curve counts each move's reconnect start and its return in
// the slot since the kill that each falls in; a start before the kill
// counts in the first.
func TestMoveCurve(t *testing.T) {
	const kill = int64(1_000_000_000_000)
	slot := int64(curveSlot)
	w := &sseWorker{moves: [][2]int64{
		{kill - 1, kill + slot/2},        // 0, 0
		{kill + slot, kill + 3*slot + 1}, // 1, 3
		{kill + slot + 5, kill + 3*slot}, // 1, 3
	}}
	tried, back := w.moveCurve(kill)
	if want := []int64{1, 2}; !slices.Equal(tried, want) {
		t.Errorf("tried = %v, want %v", tried, want)
	}
	if want := []int64{1, 0, 0, 2}; !slices.Equal(back, want) {
		t.Errorf("back = %v, want %v", back, want)
	}
	if got := sumCurves([]int64{1}, []int64{0, 2}); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("sumCurves = %v", got)
	}
}
