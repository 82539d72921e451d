package ttlcache

import (
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		put    time.Time // when the entry is put
		limit  time.Time // its own deadline, zero for none
		get    time.Time
		forget bool
		want   bool
	}{
		{"within ttl", t0, time.Time{}, t0.Add(999 * time.Millisecond), false, true},
		{"at ttl", t0, time.Time{}, t0.Add(time.Second), false, false},
		{"own deadline sooner", t0, t0.Add(100 * time.Millisecond), t0.Add(200 * time.Millisecond), false, false},
		{"own deadline later than ttl", t0, t0.Add(time.Hour), t0.Add(2 * time.Second), false, false},
		{"forgotten", t0, time.Time{}, t0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := New[string, int](time.Second, 10)
			c.Put("k", 1, tt.put, tt.limit)
			if tt.forget {
				c.Forget("k")
			}
			if _, ok := c.Get("k", tt.get); ok != tt.want {
				t.Fatalf("Get = %v, want %v", ok, tt.want)
			}
		})
	}
}

func TestCacheBoundAndNil(t *testing.T) {
	t.Parallel()
	now := time.Now()
	c := New[int, int](time.Minute, 3)
	for i := range 4 {
		c.Put(i, i, now, time.Time{})
	}
	if len(c.entries) > 3 {
		t.Fatalf("%d entries, bound 3", len(c.entries))
	}
	if v, ok := c.Get(3, now); !ok || v != 3 {
		t.Fatal("the newest entry must survive the reset")
	}
	var off *Cache[int, int] = New[int, int](0, 3)
	off.Put(1, 1, now, time.Time{})
	if _, ok := off.Get(1, now); ok {
		t.Fatal("a disabled cache returned a value")
	}
}

// TestFillFences checks that a read in flight across a write cannot store
// what it found: the write (a logout, a suspension) must win.
func TestFillFences(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name string
		run  func(c *Cache[string, int]) bool // returns Fill's answer
		want bool                             // whether "k" then holds 2
	}{
		{"nothing written meanwhile", func(c *Cache[string, int]) bool {
			r := c.Begin()
			return c.Fill("k", 2, r, now, time.Time{})
		}, true},
		{"forgotten during the read", func(c *Cache[string, int]) bool {
			r := c.Begin()
			c.Forget("k")
			return c.Fill("k", 2, r, now, time.Time{})
		}, false},
		{"written during the read", func(c *Cache[string, int]) bool {
			r := c.Begin()
			c.Put("k", 1, now, time.Time{})
			return c.Fill("k", 2, r, now, time.Time{})
		}, false},
		{"another key written during the read", func(c *Cache[string, int]) bool {
			r := c.Begin()
			c.Forget("other")
			return c.Fill("k", 2, r, now, time.Time{})
		}, true},
		{"forgotten before the read began", func(c *Cache[string, int]) bool {
			c.Forget("k")
			r := c.Begin()
			return c.Fill("k", 2, r, now, time.Time{})
		}, true},
		{"fences cleared to stay bounded during the read", func(c *Cache[string, int]) bool {
			r := c.Begin()
			for i := range 5 {
				c.Forget(string(rune('a' + i)))
			}
			return c.Fill("k", 2, r, now, time.Time{})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := New[string, int](time.Minute, 3)
			if got := tt.run(c); got != tt.want {
				t.Fatalf("Fill = %v, want %v", got, tt.want)
			}
			v, ok := c.Get("k", now)
			if (ok && v == 2) != tt.want {
				t.Fatalf("Get = %d, %v; want the read's value stored: %v", v, ok, tt.want)
			}
		})
	}
}

// TestLookupRefresh: an entry asks once for a refresh in the last quarter
// of its life, a refresh that finds the key gone drops it, and one that
// raced a write leaves the write alone.
func TestLookupRefresh(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New[string, int](time.Second, 10)
	c.Put("k", 1, t0, time.Time{})
	steps := []struct {
		at          time.Duration
		wantOK      bool
		wantRefresh bool
	}{
		{0, true, false},
		{749 * time.Millisecond, true, false},
		{750 * time.Millisecond, true, true},
		{800 * time.Millisecond, true, false}, // asked once already
		{time.Second, false, false},
	}
	for _, st := range steps {
		_, ok, refresh := c.Lookup("k", t0.Add(st.at))
		if ok != st.wantOK || refresh != st.wantRefresh {
			t.Fatalf("at %s: ok %v refresh %v, want %v %v", st.at, ok, refresh, st.wantOK, st.wantRefresh)
		}
	}

	c.Put("gone", 1, t0, time.Time{})
	r := c.Begin()
	c.Miss("gone", r)
	if _, ok := c.Get("gone", t0); ok {
		t.Fatal("a read that did not find the key left it cached")
	}
	r = c.Begin()
	c.Put("rewritten", 2, t0, time.Time{})
	c.Miss("rewritten", r)
	if v, ok := c.Get("rewritten", t0); !ok || v != 2 {
		t.Fatal("a miss from a read begun before a write dropped the write")
	}
}
