package web

import (
	"maps"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
)

// maxDecodedSessions bounds memoCodec's memory: a few MB at most, and far
// more sessions than one node serves in a second.
const maxDecodedSessions = 10_000

// memoCodec decodes each distinct session value once. scs decodes the
// stored bytes on every request, and gob builds a new decoder, exchanges
// its type descriptions and compiles a decoding engine each time: 8–12% of
// the node's CPU under a bid storm (docs/BENCHMARKS.md). The same bytes
// always decode to the same deadline and values, so a decoded copy keyed
// by the bytes is never stale; each caller gets its own copy of the map,
// since scs writes to it.
type memoCodec struct {
	inner scs.Codec
	max   int

	mu sync.Mutex
	m  map[string]decodedSession
}

type decodedSession struct {
	deadline time.Time
	values   map[string]any
}

var _ scs.Codec = (*memoCodec)(nil)

func newMemoCodec(inner scs.Codec, max int) *memoCodec {
	return &memoCodec{inner: inner, max: max, m: make(map[string]decodedSession)}
}

// Encode is the inner codec's.
func (c *memoCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	return c.inner.Encode(deadline, values)
}

// Decode returns a copy of the memoized decoding of b, decoding it first
// if needed.
func (c *memoCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	c.mu.Lock()
	d, ok := c.m[string(b)]
	c.mu.Unlock()
	if ok {
		return d.deadline, maps.Clone(d.values), nil
	}
	deadline, values, err := c.inner.Decode(b)
	if err != nil || !scalarsOnly(values) {
		// A slice or map value could be changed in place through one
		// caller's copy; such sessions are decoded every time.
		return deadline, values, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[string(b)] = decodedSession{deadline: deadline, values: maps.Clone(values)}
	c.mu.Unlock()
	return deadline, values, nil
}

// scalarsOnly reports whether every value is immutable when copied.
func scalarsOnly(values map[string]any) bool {
	for _, v := range values {
		switch v.(type) {
		case int64, int, string, bool, float64, time.Time:
		default:
			return false
		}
	}
	return true
}
