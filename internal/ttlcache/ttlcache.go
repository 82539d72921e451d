// Package ttlcache is a small bounded cache whose entries expire at a
// deadline. It keeps hot reads (sessions, users) off the database for a
// second or so; anything that must be exact is still checked where it
// commits.
//
// A value read from the database may be older than a write this process
// has just made: the read started before the write committed and returned
// after it. Put and Forget record such writes (a fence per key), and Fill,
// which stores what a read found, refuses a value whose read began before
// the key's last write. So a logout or a suspension on this node can never
// be undone by a slower read that was already in flight.
package ttlcache

import (
	"sync"
	"time"
)

// Cache maps keys to values until each entry's deadline. It is safe for
// concurrent use.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[K]entry[V]
	// gen counts writes; fences holds, per key, the gen of its last write
	// (Put or Forget). floor is the oldest read start Fill still trusts:
	// when fences is cleared to stay bounded, reads begun before are
	// refused, since the fence that would have judged them is gone.
	gen    uint64
	fences map[K]uint64
	floor  uint64
}

type entry[V any] struct {
	v     V
	until time.Time
	// refreshAt is when Lookup starts asking for a new read, a quarter of
	// the TTL before until; refreshing is set once it has asked.
	refreshAt  time.Time
	refreshing bool
}

// Read marks when a read of the backing store began (Begin); Fill takes
// it to judge whether what the read found is still current.
type Read uint64

// New returns a cache whose entries live at most ttl and that holds at most
// max entries (and as many fences). A nil *Cache is valid and caches
// nothing.
func New[K comparable, V any](ttl time.Duration, max int) *Cache[K, V] {
	if ttl <= 0 || max <= 0 {
		return nil
	}
	return &Cache[K, V]{ttl: ttl, max: max, entries: make(map[K]entry[V]), fences: make(map[K]uint64)}
}

// Get returns the value for k if its deadline is after now.
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return zero, false
	}
	if !now.Before(e.until) {
		delete(c.entries, k)
		return zero, false
	}
	return e.v, true
}

// Lookup is Get, and also reports, once per stored value, that the entry
// is in the last quarter of its life: the caller should start a read that
// refreshes it (Fill), so that hot keys never expire under their readers
// and a storm of requests never waits on them together.
func (c *Cache[K, V]) Lookup(k K, now time.Time) (v V, ok, refresh bool) {
	if c == nil {
		return v, false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return v, false, false
	}
	if !now.Before(e.until) {
		delete(c.entries, k)
		return v, false, false
	}
	if !e.refreshing && !now.Before(e.refreshAt) {
		e.refreshing = true
		c.entries[k] = e
		refresh = true
	}
	return e.v, true, refresh
}

// Put stores v, which this process has just written, for k until now+ttl,
// or until limit if that is sooner (a zero limit means no limit of its
// own). Reads that began before it cannot overwrite it (Fill).
func (c *Cache[K, V]) Put(k K, v V, now, limit time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fence(k)
	c.store(k, v, now, limit)
}

// Begin marks the start of a read whose results go to Fill. Call it
// before the read is sent.
func (c *Cache[K, V]) Begin() Read {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Read(c.gen)
}

// Fill stores v, which a read begun at r found, as Put does, unless k was
// written or forgotten since r began: then the read may have seen the
// state from before that write, and v is dropped. It reports whether v was
// stored.
func (c *Cache[K, V]) Fill(k K, v V, r Read, now, limit time.Time) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if uint64(r) < c.floor || c.fences[k] > uint64(r) {
		return false
	}
	c.store(k, v, now, limit)
	return true
}

// Miss records that a read begun at r did not find k: the entry is
// dropped, unless k was written since r began.
func (c *Cache[K, V]) Miss(k K, r Read) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if uint64(r) < c.floor || c.fences[k] > uint64(r) {
		return
	}
	delete(c.entries, k)
}

// Forget drops k, and keeps reads already in flight from storing it again.
// Call it after the write that made k stale has committed (and, to stop
// serving k at once, before it too).
func (c *Cache[K, V]) Forget(k K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fence(k)
	delete(c.entries, k)
}

func (c *Cache[K, V]) fence(k K) {
	c.gen++
	if _, ok := c.fences[k]; !ok && len(c.fences) >= c.max {
		// Forgetting every fence would let an old read through; raising
		// the floor to now refuses every read in flight instead, which
		// costs a few cache misses.
		clear(c.fences)
		c.floor = c.gen
	}
	c.fences[k] = c.gen
}

func (c *Cache[K, V]) store(k K, v V, now, limit time.Time) {
	until := now.Add(c.ttl)
	if !limit.IsZero() && limit.Before(until) {
		until = limit
	}
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		// Cheaper than an LRU and good enough when every entry expires
		// within ttl anyway: start over.
		clear(c.entries)
	}
	c.entries[k] = entry[V]{v: v, until: until, refreshAt: until.Add(-c.ttl / 4)}
}
