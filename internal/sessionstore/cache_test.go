package sessionstore

import (
	"context"
	"testing"
	"time"
)

// TestReadCache checks what the cache may and may not serve: a session
// another node deleted is served for at most the TTL, this node's own
// commits and deletes show at once, and a session never outlives its expiry.
func TestReadCache(t *testing.T) {
	t.Parallel()
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := d.open(t)
			s, clk := mustStore(t, db)
			WithReadCache(time.Second, 100)(s)
			ctx := context.Background()
			steps := []struct {
				name      string
				do        func(t *testing.T)
				wantData  string
				wantFound bool
			}{
				{"committed here: found", func(t *testing.T) {
					if err := s.CommitCtx(ctx, "tok", []byte("v1"), clk.Now().Add(10*time.Second)); err != nil {
						t.Fatal(err)
					}
				}, "v1", true},
				{"deleted by another node: still served within the TTL", func(t *testing.T) {
					if err := db.Exec("DELETE FROM sessions WHERE token = 'tok'").Error; err != nil {
						t.Fatal(err)
					}
				}, "v1", true},
				{"after the TTL: gone", func(t *testing.T) { clk.Add(1100 * time.Millisecond) }, "", false},
				{"committed again here: found", func(t *testing.T) {
					if err := s.CommitCtx(ctx, "tok", []byte("v2"), clk.Now().Add(500*time.Millisecond)); err != nil {
						t.Fatal(err)
					}
				}, "v2", true},
				{"past the session's own expiry, within the TTL: gone", func(t *testing.T) { clk.Add(600 * time.Millisecond) }, "", false},
				{"deleted here: gone at once", func(t *testing.T) {
					if err := s.CommitCtx(ctx, "tok", []byte("v3"), clk.Now().Add(time.Hour)); err != nil {
						t.Fatal(err)
					}
					if err := s.DeleteCtx(ctx, "tok"); err != nil {
						t.Fatal(err)
					}
				}, "", false},
			}
			for _, st := range steps {
				st.do(t)
				data, found := mustFind(t, s, "tok")
				if found != st.wantFound || string(data) != st.wantData {
					t.Fatalf("%s: Find = %q, %v; want %q, %v", st.name, data, found, st.wantData, st.wantFound)
				}
			}
		})
	}
}
