package realtime

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// gatedLog is a snapshot read that blocks until released, numbering its
// reads: each snapshot's Seq is the number of the read that produced it.
type gatedLog struct {
	mu    sync.Mutex
	calls [][]int64
	gate  chan struct{} // one receive per read; nil: never block
	fail  map[int]error // read number → error
}

func (g *gatedLog) read(ids []int64) ([]domain.Event, error) {
	g.mu.Lock()
	g.calls = append(g.calls, slices.Clone(ids))
	n := len(g.calls)
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if err := g.fail[n]; err != nil {
		return nil, err
	}
	out := make([]domain.Event, 0, len(ids))
	for _, id := range ids {
		if id > 0 { // negative ids play auctions that do not exist
			out = append(out, domain.Event{AuctionID: id, Seq: int64(n)})
		}
	}
	return out, nil
}

func (g *gatedLog) reads() [][]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.calls)
}

type snapResult struct {
	got map[int64]domain.Event
	err error
}

func getAsync(b *snapBatcher, ids ...int64) chan snapResult {
	ch := make(chan snapResult, 1)
	go func() {
		got, err := b.get(ids)
		ch <- snapResult{got, err}
	}()
	return ch
}

// TestSnapBatcherNeverJoinsARead: a stream that asks while a read is in
// flight gets the next read, which starts after it asked (its topics were
// attached before it asked); everyone who asked meanwhile shares that one.
func TestSnapBatcherNeverJoinsARead(t *testing.T) {
	g := &gatedLog{gate: make(chan struct{})}
	b := &snapBatcher{read: g.read}

	first := getAsync(b, 1)
	waitFor(t, "the first read to start", func() bool { return len(g.reads()) == 1 })
	const late = 50
	lates := make([]chan snapResult, late)
	for i := range lates {
		lates[i] = getAsync(b, 1, int64(2+i%3))
	}
	waitFor(t, "the late streams to queue", func() bool { return b.requests.Load() == 1+late })

	g.gate <- struct{}{} // the first read returns
	r := <-first
	if r.err != nil || r.got[1].Seq != 1 {
		t.Fatalf("first: %+v", r)
	}
	select {
	case g.gate <- struct{}{}: // the second read returns
	case <-time.After(5 * time.Second):
		t.Fatal("no second read started: the late streams were served by the read that started before they asked")
	}
	for i, ch := range lates {
		r := <-ch
		if r.err != nil || r.got[1].Seq != 2 || r.got[int64(2+i%3)].Seq != 2 {
			t.Fatalf("late stream %d: %+v, want read 2", i, r)
		}
	}
	if reads := g.reads(); len(reads) != 2 || !slices.Equal(reads[1], []int64{1, 2, 3, 4}) {
		t.Fatalf("reads = %v, want [[1] [1 2 3 4]]: %d late streams share one read of the union", reads, late)
	}
}

func TestSnapBatcher(t *testing.T) {
	many := make([]int64, 2500)
	for i := range many {
		many[i] = int64(i + 1)
	}
	boom := errors.New("boom")
	cases := []struct {
		name      string
		ids       []int64
		fail      map[int]error
		wantReads []int // ids per read
		wantErr   error
		wantGot   int
	}{
		{"one auction", []int64{7}, nil, []int{1}, nil, 1},
		{"duplicates read once", []int64{7, 7, 8}, nil, []int{2}, nil, 2},
		{"unknown auctions are absent", []int64{7, -1}, nil, []int{2}, nil, 1},
		{"a large union in chunks", many, nil, []int{1000, 1000, 500}, nil, 2500},
		{"an error stops the batch", many, map[int]error{2: boom}, []int{1000, 1000}, boom, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := &gatedLog{fail: tc.fail}
			b := &snapBatcher{read: g.read}
			got, err := b.get(tc.ids)
			if !errors.Is(err, tc.wantErr) || len(got) != tc.wantGot {
				t.Fatalf("got %d snapshots, err %v; want %d, %v", len(got), err, tc.wantGot, tc.wantErr)
			}
			var sizes []int
			for _, r := range g.reads() {
				sizes = append(sizes, len(r))
			}
			if !slices.Equal(sizes, tc.wantReads) || b.reads.Load() != int64(len(tc.wantReads)) {
				t.Fatalf("read sizes %v (counted %d), want %v", sizes, b.reads.Load(), tc.wantReads)
			}
			// The batcher is idle again and serves the next caller.
			g.fail = nil
			if got, err := b.get([]int64{9}); err != nil || got[9].AuctionID != 9 {
				t.Fatalf("next call: %v %v", got, err)
			}
		})
	}
}

// TestSnapBatcherFailsOnlyItsChunk: when one chunk of a batch cannot be
// read, only the streams that asked for one of its auctions fail; the
// others in the same batch get their snapshots.
func TestSnapBatcherFailsOnlyItsChunk(t *testing.T) {
	boom := errors.New("boom")
	g := &gatedLog{gate: make(chan struct{}), fail: map[int]error{3: boom}}
	b := &snapBatcher{read: g.read}
	idsFrom := func(lo, hi int64) []int64 {
		var out []int64
		for id := lo; id <= hi; id++ {
			out = append(out, id)
		}
		return out
	}
	first := getAsync(b, 1)
	waitFor(t, "the first read to start", func() bool { return len(g.reads()) == 1 })
	// Batch 2's union is 1..1500: chunk 1..1000 (read 2) and 1001..1500
	// (read 3, which fails).
	inFirstChunk := getAsync(b, idsFrom(1, 1000)...)
	inFailedChunk := getAsync(b, idsFrom(990, 1500)...)
	waitFor(t, "both to join the next batch", func() bool { return b.requests.Load() == 3 })
	for range 3 {
		select {
		case g.gate <- struct{}{}:
		case <-time.After(5 * time.Second):
			t.Fatalf("a read did not start; reads so far: %d", len(g.reads()))
		}
	}
	if r := <-first; r.err != nil {
		t.Fatalf("first: %v", r.err)
	}
	if r := <-inFirstChunk; r.err != nil || len(r.got) < 1000 || r.got[1000].Seq != 2 {
		t.Errorf("the stream whose auctions were all read: %d snapshots, %v", len(r.got), r.err)
	}
	if r := <-inFailedChunk; !errors.Is(r.err, boom) {
		t.Errorf("the stream with auctions in the failed chunk: %v, want boom", r.err)
	}
}
