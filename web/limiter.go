package web

import (
	"container/list"
	"sync"
	"time"
)

// defaultLimiterKeys bounds a limiter's memory: about 100 bytes a key.
const defaultLimiterKeys = 100_000

// limiter is a token bucket per key: a key may spend limit requests at once,
// and its tokens refill evenly over window. The buckets live in this process
// only, so each node limits on its own and a client spread over N nodes gets
// up to N times the limit; that is acceptable for slowing password guessing
// and floods, which is all these limits are for.
//
// It holds at most maxKeys buckets. When a new key finds it full, the least
// recently used bucket is forgotten: someone flooding it with fresh keys
// (new emails, spoofed addresses) can only make it forget buckets, which at
// worst lets a key start over, and never makes it refuse an honest client
// it has not seen.
type limiter struct {
	limit   float64
	window  time.Duration
	now     func() time.Time
	maxKeys int

	// mu guards buckets and lru; each call holds it for O(1) work, plus
	// dropping buckets that have sat a whole window.
	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     list.List                // front: most recently used
}

type bucket struct {
	key    string
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newLimiter(limit int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{limit: float64(limit), window: window, now: now, maxKeys: defaultLimiterKeys, buckets: map[string]*list.Element{}}
}

// allow spends one token of key. When none is left it reports how long
// until one is.
func (l *limiter) allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.touch(key, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.limit * float64(l.window))
}

// refund gives back the token a request spent, for limits that count only
// failures (a login that succeeded).
func (l *limiter) refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.buckets[key]; ok {
		b := e.Value.(*bucket)
		b.tokens = min(l.limit, b.tokens+1)
	}
}

// touch returns key's bucket, brought up to date and marked most recently
// used; a new key evicts the least recently used bucket when l is full.
func (l *limiter) touch(key string, now time.Time) *bucket {
	if e, ok := l.buckets[key]; ok {
		l.lru.MoveToFront(e)
		b := e.Value.(*bucket)
		if elapsed := now.Sub(b.at); elapsed > 0 {
			b.tokens = min(l.limit, b.tokens+l.limit*elapsed.Seconds()/l.window.Seconds())
			b.at = now
		}
		return b
	}
	for len(l.buckets) >= l.maxKeys {
		l.remove(l.lru.Back())
	}
	b := &bucket{key: key, tokens: l.limit, at: now}
	l.buckets[key] = l.lru.PushFront(b)
	return b
}

// sweep drops buckets untouched for a whole window: they have refilled,
// so forgetting them changes nothing. They sit at the back of the list.
func (l *limiter) sweep(now time.Time) {
	for e := l.lru.Back(); e != nil && now.Sub(e.Value.(*bucket).at) >= l.window; e = l.lru.Back() {
		l.remove(e)
	}
}

func (l *limiter) remove(e *list.Element) {
	delete(l.buckets, e.Value.(*bucket).key)
	l.lru.Remove(e)
}

// size reports how many keys l holds.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
