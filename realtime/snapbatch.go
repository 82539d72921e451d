package realtime

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gavel-auctions/gavel/domain"
)

// snapChunk bounds the auction ids of one snapshot query.
const snapChunk = 1000

// snapBatcher coalesces the snapshot reads of streams that connect at the
// same time (a page everyone opens, a node's watchers reconnecting to
// another after a new deploy) into one Log read per batch, like a group
// commit. The read must start after each waiter's topics were attached
// (resume.go's atHead trust), so a stream never joins a read already in
// flight: it waits for the next one, which starts as soon as the current
// one returns and serves every stream that arrived meanwhile. One auction
// opened by 16,000 browsers at once costs a handful of queries instead of
// 16,000.
type snapBatcher struct {
	read func(ids []int64) ([]domain.Event, error)

	mu      sync.Mutex
	pending *snapBatch // collecting; its read has not started
	running bool       // a goroutine is reading batches

	requests atomic.Int64 // calls to get, for metrics and tests
	reads    atomic.Int64 // Log reads made, for metrics and tests
}

// snapBatch is one read and the streams waiting for it.
type snapBatch struct {
	ids  map[int64]struct{}
	done chan struct{}
	// Set before done closes; read-only after.
	got    map[int64]domain.Event
	failed map[int64]struct{} // ids whose chunk was not read
	err    error
}

// get returns the snapshots of ids, from a read that starts after the call.
// Auctions that do not exist are absent from the result.
func (b *snapBatcher) get(ids []int64) (map[int64]domain.Event, error) {
	b.mu.Lock()
	bt := b.pending
	if bt == nil {
		bt = &snapBatch{ids: make(map[int64]struct{}, len(ids)), done: make(chan struct{})}
		b.pending = bt
	}
	for _, id := range ids {
		bt.ids[id] = struct{}{}
	}
	// Counted once joined, so a test that waits for the count knows which
	// read will serve it.
	b.requests.Add(1)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	<-bt.done
	// A failed chunk fails only the streams that asked for one of its ids:
	// in a connect storm, one slow query must not close thousands.
	for _, id := range ids {
		if _, bad := bt.failed[id]; bad {
			return nil, bt.err
		}
	}
	return bt.got, nil
}

// loop reads pending batches until none is left.
func (b *snapBatcher) loop() {
	for {
		b.mu.Lock()
		bt := b.pending
		b.pending = nil
		if bt == nil {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		ids := slices.Sorted(maps.Keys(bt.ids))
		bt.got = make(map[int64]domain.Event, len(ids))
		for i := 0; i < len(ids); i += snapChunk {
			chunk := ids[i:min(i+snapChunk, len(ids))]
			b.reads.Add(1)
			list, err := b.read(chunk)
			if err != nil {
				// The rest is not tried: the Log is failing, and each
				// further chunk could wait out its own timeout.
				bt.err, bt.failed = err, make(map[int64]struct{}, len(ids)-i)
				for _, id := range ids[i:] {
					bt.failed[id] = struct{}{}
				}
				break
			}
			for _, ev := range list {
				bt.got[ev.AuctionID] = ev
			}
		}
		close(bt.done)
	}
}
