package web

import (
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

// countingCodec counts the decodes that reach the real codec.
type countingCodec struct {
	scs.GobCodec
	decodes int
}

func (c *countingCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	c.decodes++
	return c.GobCodec.Decode(b)
}

func TestMemoCodec(t *testing.T) {
	t.Parallel()
	deadline := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		values      map[string]any
		wantDecodes int // of the inner codec, for three Decode calls
	}{
		{"scalars are decoded once", map[string]any{"user_id": int64(7), "flash": "Saved."}, 1},
		{"a slice value is decoded every time", map[string]any{"user_id": int64(7), "ids": []int64{1, 2}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inner := &countingCodec{}
			c := newMemoCodec(inner, 10)
			b, err := c.Encode(deadline, tt.values)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				d, v, err := c.Decode(b)
				if err != nil || !d.Equal(deadline) || v["user_id"] != int64(7) {
					t.Fatalf("decode %d = %v, %v, %v", i, d, v, err)
				}
				// scs writes to the map it gets (Put, Pop): that must not
				// reach the next request's copy.
				v["user_id"] = int64(99)
				delete(v, "flash")
			}
			if inner.decodes != tt.wantDecodes {
				t.Fatalf("inner decodes = %d, want %d", inner.decodes, tt.wantDecodes)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		t.Parallel()
		c := newMemoCodec(scs.GobCodec{}, 3)
		for i := range 10 {
			b, _ := c.Encode(deadline, map[string]any{"user_id": int64(i)})
			if _, _, err := c.Decode(b); err != nil {
				t.Fatal(err)
			}
		}
		if len(c.m) > 3 {
			t.Fatalf("%d memoized sessions, bound 3", len(c.m))
		}
	})
}
