package media

import (
	"container/list"
	"sync"
	"time"
)

// cache keeps recently served files in memory, bounded in bytes, so a
// popular thumbnail is read from the object store once per TTL rather than
// once per request. Entries expire after ttl so that a deleted photo stops
// being served by every node within that time; "missing" entries remember
// a name the store does not have, for less time, so a flood of unknown
// names does not become a flood of store reads.
type cache struct {
	maxBytes int64
	maxEntry int64 // larger files are served but not kept
	ttl      time.Duration
	missTTL  time.Duration
	now      func() time.Time

	mu    sync.Mutex // guards everything below; each call is O(1) amortized
	bytes int64
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type cacheEntry struct {
	name    string
	data    []byte // nil for a missing entry
	missing bool
	expires time.Time
}

// missingEntrySize is what a missing entry is charged: about its name and
// bookkeeping.
const missingEntrySize = 160

func newCache(maxBytes int64, ttl, missTTL time.Duration, now func() time.Time) *cache {
	return &cache{
		maxBytes: maxBytes,
		maxEntry: maxBytes / 8,
		ttl:      ttl,
		missTTL:  missTTL,
		now:      now,
		order:    list.New(),
		items:    map[string]*list.Element{},
	}
}

func (e *cacheEntry) size() int64 {
	if e.missing {
		return missingEntrySize
	}
	return int64(len(e.data)) + missingEntrySize
}

// get returns a live entry's data; missing reports a remembered miss.
func (c *cache) get(name string) (data []byte, missing, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, found := c.items[name]
	if !found {
		return nil, false, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.remove(el)
		return nil, false, false
	}
	c.order.MoveToFront(el)
	return e.data, e.missing, true
}

// put stores data under name (data nil: remember that name is missing),
// evicting the least recently used entries to stay within maxBytes.
func (c *cache) put(name string, data []byte) {
	e := &cacheEntry{name: name, data: data, missing: data == nil}
	if e.size() > c.maxEntry {
		return
	}
	ttl := c.ttl
	if e.missing {
		ttl = c.missTTL
	}
	e.expires = c.now().Add(ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, found := c.items[name]; found {
		c.remove(el)
	}
	c.items[name] = c.order.PushFront(e)
	c.bytes += e.size()
	for c.bytes > c.maxBytes {
		c.remove(c.order.Back())
	}
}

// drop forgets name, e.g. after this node deleted it.
func (c *cache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, found := c.items[name]; found {
		c.remove(el)
	}
}

func (c *cache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.order.Remove(el)
	delete(c.items, e.name)
	c.bytes -= e.size()
}

// stats returns the number of entries and their bytes.
func (c *cache) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.bytes
}
