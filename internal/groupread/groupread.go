// Package groupread coalesces point reads that arrive together (a session
// per request, a user per session) into one query per batch, as a group
// commit does for writes. A storm of 16,000 stream set-ups, or 512 bidders
// whose cached sessions all expire in the same second, then costs a
// handful of queries instead of one each, and never queues thousands of
// requests for the connection pool.
//
// A caller never joins a read already in flight: it waits for the next
// one, which starts as soon as the current one returns and serves every
// caller that arrived meanwhile. So a read always starts after the call
// that wants it, and sees every write that committed before that call.
package groupread

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for zero Options fields.
const (
	DefaultChunk   = 500
	DefaultTimeout = 5 * time.Second
)

// Options tune a Reader.
type Options struct {
	// Chunk bounds the keys of one query (default 500); a larger batch is
	// read in several.
	Chunk int
	// Timeout bounds each query (default 5s). A batch serves many callers,
	// so its query runs under its own deadline, not under any caller's.
	Timeout time.Duration
}

// ReadFunc reads the values of keys; keys it leaves out of the map were
// not found.
type ReadFunc[K cmp.Ordered, V any] func(ctx context.Context, keys []K) (map[K]V, error)

// Reader batches Get calls into ReadFunc calls. The zero value is not
// usable; call New.
type Reader[K cmp.Ordered, V any] struct {
	read ReadFunc[K, V]
	opts Options

	mu      sync.Mutex
	pending *batch[K, V] // collecting; its read has not started
	running bool         // a goroutine is reading batches

	requests atomic.Int64
	reads    atomic.Int64
}

// batch is one read and the callers waiting for it.
type batch[K cmp.Ordered, V any] struct {
	keys map[K]struct{}
	done chan struct{}
	// Set before done closes; read-only after.
	got    map[K]V
	failed map[K]error // keys whose chunk failed
}

// New returns a Reader that reads through read.
func New[K cmp.Ordered, V any](read ReadFunc[K, V], opts Options) *Reader[K, V] {
	if opts.Chunk <= 0 {
		opts.Chunk = DefaultChunk
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Reader[K, V]{read: read, opts: opts}
}

// Get returns k's value from a read that starts after the call. found is
// false if the read did not return k. If ctx ends first, Get returns its
// error and the read goes on for the others.
func (r *Reader[K, V]) Get(ctx context.Context, k K) (v V, found bool, err error) {
	b := r.join(k)
	select {
	case <-b.done:
	case <-ctx.Done():
		return v, false, ctx.Err()
	}
	if err, bad := b.failed[k]; bad {
		return v, false, err
	}
	v, found = b.got[k]
	return v, found, nil
}

// Refresh adds k to the next read without waiting for it, for a caller
// that only wants the read's side effects (a cache the ReadFunc fills).
func (r *Reader[K, V]) Refresh(k K) {
	r.join(k)
}

// join adds k to the pending batch, starting the reading loop if it is
// idle, and returns the batch.
func (r *Reader[K, V]) join(k K) *batch[K, V] {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.pending
	if b == nil {
		b = &batch[K, V]{keys: make(map[K]struct{}), done: make(chan struct{})}
		r.pending = b
	}
	b.keys[k] = struct{}{}
	r.requests.Add(1)
	if !r.running {
		r.running = true
		go r.loop()
	}
	return b
}

// Stats returns how many Get calls were made and how many queries served
// them.
func (r *Reader[K, V]) Stats() (requests, reads int64) {
	return r.requests.Load(), r.reads.Load()
}

// readChunk runs one query under its own deadline.
func (r *Reader[K, V]) readChunk(keys []K) (map[K]V, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
	defer cancel()
	return r.read(ctx, keys)
}

// loop reads pending batches until none is left.
func (r *Reader[K, V]) loop() {
	for {
		r.mu.Lock()
		b := r.pending
		r.pending = nil
		if b == nil {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		r.serve(b)
	}
}

// serve reads b in chunks. A failed chunk fails only the callers of its
// keys: in a connect storm one slow query must not refuse thousands. The
// chunks after a failure are not tried, since the store is failing and
// each could wait out its own timeout.
func (r *Reader[K, V]) serve(b *batch[K, V]) {
	keys := slices.Sorted(maps.Keys(b.keys))
	b.got = make(map[K]V, len(keys))
	i := 0
	fail := func(err error) {
		b.failed = make(map[K]error, len(keys)-i)
		for _, k := range keys[i:] {
			b.failed[k] = err
		}
	}
	defer func() {
		// A panicking read must not leave its callers waiting forever, nor
		// the next ones: they get an error and the loop goes on.
		if p := recover(); p != nil {
			fail(fmt.Errorf("groupread: read panicked: %v", p))
		}
		close(b.done)
	}()
	for ; i < len(keys); i += r.opts.Chunk {
		chunk := keys[i:min(i+r.opts.Chunk, len(keys))]
		r.reads.Add(1)
		got, err := r.readChunk(chunk)
		if err != nil {
			fail(err)
			return
		}
		for _, k := range chunk {
			if v, ok := got[k]; ok {
				b.got[k] = v
			}
		}
	}
}
