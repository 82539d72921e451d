package media

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// fakeClock is a settable clock for the cache's TTLs.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func mustGet(tb testing.TB, c *cache, name string, want []byte) {
	tb.Helper()
	data, missing, ok := c.get(name)
	if !ok || missing || !bytes.Equal(data, want) {
		tb.Fatalf("get %s: ok=%v missing=%v %d bytes, want %d bytes", name, ok, missing, len(data), len(want))
	}
}

func mustMiss(tb testing.TB, c *cache, name string) {
	tb.Helper()
	if _, _, ok := c.get(name); ok {
		tb.Fatalf("get %s: still cached", name)
	}
}

// TestCacheBoundedInBytes: however many files pass through, the cache
// holds at most maxBytes, evicting the least recently used first.
func TestCacheBoundedInBytes(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	const maxBytes = 10_000
	c := newCache(maxBytes, time.Minute, time.Second, clock.now)
	file := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1000) }
	for i := range 100 {
		c.put(fmt.Sprintf("f%d", i), file(i))
		if _, b := c.stats(); b > maxBytes {
			t.Fatalf("after %d puts the cache holds %d bytes, more than %d", i+1, b, maxBytes)
		}
		if i == 1 {
			mustGet(t, c, "f0", file(0)) // f0 is now more recent than f1
		}
	}
	entries, b := c.stats()
	if perEntry := int64(1000 + missingEntrySize); b != int64(entries)*perEntry || entries != maxBytes/int(perEntry) {
		t.Errorf("%d entries in %d bytes; want the cache full of %d-byte entries", entries, b, perEntry)
	}
	mustGet(t, c, "f99", file(99))
	mustMiss(t, c, "f0")

	// Least recently used goes first: read the oldest survivor, add one
	// more, and the next oldest is the one evicted.
	oldest := 100 - entries
	mustGet(t, c, fmt.Sprintf("f%d", oldest), file(oldest))
	c.put("extra", file(200))
	mustGet(t, c, fmt.Sprintf("f%d", oldest), file(oldest))
	mustMiss(t, c, fmt.Sprintf("f%d", oldest+1))
}

// TestCacheLargeFilesNotKept: a file over an eighth of the cache is served
// but not kept, so one large file cannot flush every thumbnail.
func TestCacheLargeFilesNotKept(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newCache(8000, time.Minute, time.Second, clock.now)
	small := make([]byte, 500)
	c.put("small", small)
	c.put("large", make([]byte, 1000))
	mustMiss(t, c, "large")
	mustGet(t, c, "small", small)
}

// TestCacheExpiry: a file is re-read after the TTL (so a photo deleted on
// another node stops being served), a remembered miss after the shorter
// miss TTL, and drop forgets a file at once.
func TestCacheExpiry(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newCache(1<<20, 10*time.Minute, 10*time.Second, clock.now)
	data := []byte("jpeg bytes")
	c.put("file", data)
	c.put("unknown", nil)
	if _, missing, ok := c.get("unknown"); !ok || !missing {
		t.Fatalf("the miss was not remembered: ok=%v missing=%v", ok, missing)
	}
	clock.advance(10 * time.Second)
	mustMiss(t, c, "unknown")
	mustGet(t, c, "file", data)
	clock.advance(10*time.Minute - 10*time.Second - time.Nanosecond)
	mustGet(t, c, "file", data)
	clock.advance(time.Nanosecond)
	mustMiss(t, c, "file")
	if n, b := c.stats(); n != 0 || b != 0 {
		t.Fatalf("expired entries still counted: %d entries, %d bytes", n, b)
	}

	c.put("file", data)
	c.drop("file")
	mustMiss(t, c, "file")
	if n, b := c.stats(); n != 0 || b != 0 {
		t.Fatalf("dropped entry still counted: %d entries, %d bytes", n, b)
	}
}
