// Package ttlcache is a small bounded cache whose entries expire at a
// deadline. It keeps hot reads (sessions, users) off the database for a
// second or so; anything that must be exact is still checked where it
// commits.
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
}

type entry[V any] struct {
	v     V
	until time.Time
}

// New returns a cache whose entries live at most ttl and that holds at most
// max entries. A nil *Cache is valid and caches nothing.
func New[K comparable, V any](ttl time.Duration, max int) *Cache[K, V] {
	if ttl <= 0 || max <= 0 {
		return nil
	}
	return &Cache[K, V]{ttl: ttl, max: max, entries: make(map[K]entry[V])}
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

// Put stores v for k until now+ttl, or until limit if that is sooner (a
// zero limit means no limit of its own).
func (c *Cache[K, V]) Put(k K, v V, now, limit time.Time) {
	if c == nil {
		return
	}
	until := now.Add(c.ttl)
	if !limit.IsZero() && limit.Before(until) {
		until = limit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Cheaper than an LRU and good enough when every entry expires
		// within ttl anyway: start over.
		clear(c.entries)
	}
	c.entries[k] = entry[V]{v: v, until: until}
}

// Forget drops k.
func (c *Cache[K, V]) Forget(k K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.entries, k)
	c.mu.Unlock()
}
