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

// TestWriteRacingBatchedRead: a logout (or a rewrite) on this node while a
// batched read of the same session is in flight must win. The read found
// the session before the delete; caching it then would bring the session
// back for the cache's TTL after the user logged out.
func TestWriteRacingBatchedRead(t *testing.T) {
	t.Parallel()
	for _, d := range dialects() {
		for _, tt := range []struct {
			name      string
			write     func(ctx context.Context, s *Store, exp time.Time) error
			wantData  string
			wantFound bool
		}{
			{"logout", func(ctx context.Context, s *Store, _ time.Time) error { return s.DeleteCtx(ctx, "tok") }, "", false},
			{"rewrite", func(ctx context.Context, s *Store, exp time.Time) error {
				return s.CommitCtx(ctx, "tok", []byte("v2"), exp)
			}, "v2", true},
		} {
			t.Run(d.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				db := d.open(t)
				s, clk := mustStore(t, db)
				WithReadCache(time.Minute, 100)(s)
				ctx := context.Background()
				exp := clk.Now().Add(time.Hour)
				if err := db.Exec("INSERT INTO sessions (token, data, expiry) VALUES ('tok', ?, ?)", []byte("v1"), utc(exp)).Error; err != nil {
					t.Fatal(err)
				}
				reached, release := make(chan struct{}), make(chan struct{})
				s.readDone = func() { close(reached); <-release }
				type found struct {
					data []byte
					ok   bool
				}
				first := make(chan found, 1)
				go func() { d, ok := mustFind(t, s, "tok"); first <- found{d, ok} }()
				<-reached // the read has found v1 and not cached it yet
				s.readDone = nil
				if err := tt.write(ctx, s, exp); err != nil {
					t.Fatal(err)
				}
				close(release)
				// The read began before the write: it may answer v1.
				if f := <-first; !f.ok || string(f.data) != "v1" {
					t.Fatalf("the racing read = %q, %v; want v1 from before the write", f.data, f.ok)
				}
				data, ok := mustFind(t, s, "tok")
				if ok != tt.wantFound || string(data) != tt.wantData {
					t.Fatalf("after the %s: Find = %q, %v; want %q, %v", tt.name, data, ok, tt.wantData, tt.wantFound)
				}
			})
		}
	}
}

// TestRefreshAhead: a session in use is read again in the background in
// the last quarter of its cache life, so another node's change shows then,
// and a hot session never expires under its requests.
func TestRefreshAhead(t *testing.T) {
	t.Parallel()
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := d.open(t)
			s, clk := mustStore(t, db)
			WithReadCache(time.Second, 100)(s)
			ctx := context.Background()
			if err := s.CommitCtx(ctx, "tok", []byte("v1"), clk.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := db.Exec("UPDATE sessions SET data = ? WHERE token = 'tok'", []byte("v2")).Error; err != nil {
				t.Fatal(err)
			}
			if data, _ := mustFind(t, s, "tok"); string(data) != "v1" {
				t.Fatalf("fresh entry: %q, want the cached v1", data)
			}
			clk.Add(800 * time.Millisecond)
			// Served from the cache at once; the refresh runs meanwhile.
			if data, _ := mustFind(t, s, "tok"); string(data) != "v1" {
				t.Fatalf("entry due for refresh: %q, want v1 while the refresh runs", data)
			}
			waitFor(t, s, "v2", true)
			if err := db.Exec("DELETE FROM sessions WHERE token = 'tok'").Error; err != nil {
				t.Fatal(err)
			}
			clk.Add(800 * time.Millisecond)
			mustFind(t, s, "tok")
			waitFor(t, s, "", false)
		})
	}
}

// waitFor polls Find until it answers data, found; the clock stands still,
// so only a background refresh can change the answer.
func waitFor(t *testing.T, s *Store, data string, found bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, ok := mustFind(t, s, "tok")
		if string(got) == data && ok == found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Find = %q, %v; want %q, %v after the refresh", got, ok, data, found)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
