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
// (stream.go's atHead trust), so a stream never joins a read already in
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
	got  map[int64]domain.Event // set before done closes; read-only after
	err  error
}

// get returns the snapshots of ids, from a read that starts after the call.
// Auctions that do not exist are absent from the result.
func (b *snapBatcher) get(ids []int64) (map[int64]domain.Event, error) {
	b.requests.Add(1)
	b.mu.Lock()
	bt := b.pending
	if bt == nil {
		bt = &snapBatch{ids: make(map[int64]struct{}, len(ids)), done: make(chan struct{})}
		b.pending = bt
	}
	for _, id := range ids {
		bt.ids[id] = struct{}{}
	}
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	<-bt.done
	return bt.got, bt.err
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
		for chunk := range slices.Chunk(ids, snapChunk) {
			b.reads.Add(1)
			list, err := b.read(chunk)
			if err != nil {
				bt.got, bt.err = nil, err
				break
			}
			for _, ev := range list {
				bt.got[ev.AuctionID] = ev
			}
		}
		close(bt.done)
	}
}
