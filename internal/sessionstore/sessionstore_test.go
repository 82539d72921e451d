package sessionstore

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// dialects lists how to open a migrated database of each kind.
func dialects() []struct {
	name string
	open func(tb testing.TB) *gorm.DB
} {
	return []struct {
		name string
		open func(tb testing.TB) *gorm.DB
	}{
		{"postgres", testpg.DB},
		{"sqlite", mustSQLite},
	}
}

func mustSQLite(tb testing.TB) *gorm.DB {
	tb.Helper()
	ctx := context.Background()
	db, d, err := database.Open(ctx, "", tb.TempDir())
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { _ = database.Close(db) })
	if err := database.Migrate(ctx, db, d); err != nil {
		tb.Fatalf("migrate sqlite: %v", err)
	}
	return db
}

// clock is a settable time source for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustStore(tb testing.TB, db *gorm.DB) (*Store, *clock) {
	tb.Helper()
	// A zone other than UTC proves the store normalises times.
	zone := time.FixedZone("UTC+5", 5*3600)
	c := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 600000000, zone)}
	s := New(db)
	s.now = c.Now
	return s, c
}

func mustFind(tb testing.TB, s *Store, token string) ([]byte, bool) {
	tb.Helper()
	b, found, err := s.FindCtx(context.Background(), token)
	if err != nil {
		tb.Fatalf("Find(%q): %v", token, err)
	}
	return b, found
}

func TestStore(t *testing.T) {
	t.Parallel()
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := d.open(t)
			s, clk := mustStore(t, db)
			ctx := context.Background()
			now := clk.Now()

			steps := []struct {
				name string
				do   func() error
				// then: token -> wanted data; nil means not found
				then map[string][]byte
			}{
				{"missing token", func() error { return nil }, map[string][]byte{"nope": nil}},
				{"commit", func() error { return s.CommitCtx(ctx, "a", []byte("one"), now.Add(time.Hour)) },
					map[string][]byte{"a": []byte("one")}},
				{"commit replaces data and expiry", func() error { return s.CommitCtx(ctx, "a", []byte("two"), now.Add(2*time.Hour)) },
					map[string][]byte{"a": []byte("two")}},
				{"binary data and empty data", func() error {
					if err := s.CommitCtx(ctx, "bin", []byte{0, 1, 0xff, '\'', 0}, now.Add(time.Hour)); err != nil {
						return err
					}
					return s.CommitCtx(ctx, "empty", nil, now.Add(time.Hour))
				}, map[string][]byte{"bin": {0, 1, 0xff, '\'', 0}, "empty": {}}},
				{"already expired is not found", func() error { return s.CommitCtx(ctx, "old", []byte("x"), now.Add(-time.Second)) },
					map[string][]byte{"old": nil}},
				{"expiry passes", func() error { clk.Add(90 * time.Minute); return nil },
					map[string][]byte{"a": []byte("two"), "bin": nil, "empty": nil}},
				{"delete", func() error { return s.DeleteCtx(ctx, "a") }, map[string][]byte{"a": nil}},
				{"delete missing is no error", func() error { return s.DeleteCtx(ctx, "never") }, nil},
				{"non-context methods", func() error {
					if err := s.Commit("plain", []byte("p"), clk.Now().Add(time.Minute)); err != nil {
						return err
					}
					if b, ok, err := s.Find("plain"); err != nil || !ok || string(b) != "p" {
						t.Errorf("Find(plain) = %q, %v, %v", b, ok, err)
					}
					return s.Delete("plain")
				}, map[string][]byte{"plain": nil}},
			}
			for _, st := range steps {
				if err := st.do(); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				for token, want := range st.then {
					got, found := mustFind(t, s, token)
					if found != (want != nil) || !bytes.Equal(got, want) {
						t.Errorf("%s: Find(%q) = %q, %v; want %q, %v", st.name, token, got, found, want, want != nil)
					}
				}
			}

			// "old", "bin" and "empty" are expired rows still in the table.
			n, err := s.DeleteExpired(ctx)
			if err != nil {
				t.Fatalf("DeleteExpired: %v", err)
			}
			if n != 3 {
				t.Errorf("DeleteExpired removed %d rows, want 3", n)
			}
		})
	}
}

func TestStartCleanup(t *testing.T) {
	t.Parallel()
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := d.open(t)
			s := New(db, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			ctx := context.Background()
			if err := s.CommitCtx(ctx, "gone", []byte("x"), time.Now().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			if err := s.CommitCtx(ctx, "kept", []byte("y"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithCancel(ctx)
			done := s.StartCleanup(cctx, 20*time.Millisecond)

			deadline := time.Now().Add(10 * time.Second)
			for {
				var n int64
				if err := db.Raw("SELECT COUNT(*) FROM sessions").Row().Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d rows left after 10s, want 1", n)
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("cleanup goroutine did not stop after its context ended")
			}
			if _, found := mustFind(t, s, "kept"); !found {
				t.Error("cleanup deleted a live session")
			}
		})
	}
}

// TestSessionManager runs scs end to end: a request stores a value, the
// next one, carrying the cookie, reads it back from the database.
func TestSessionManager(t *testing.T) {
	t.Parallel()
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := d.open(t)
			sm := scs.New()
			sm.Store = New(db)
			sm.Lifetime = time.Hour

			mux := http.NewServeMux()
			mux.HandleFunc("PUT /v", func(w http.ResponseWriter, r *http.Request) {
				sm.Put(r.Context(), "v", r.URL.Query().Get("v"))
			})
			mux.HandleFunc("GET /v", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(sm.GetString(r.Context(), "v")))
			})
			mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
				if err := sm.Destroy(r.Context()); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
				}
			})
			srv := httptest.NewServer(sm.LoadAndSave(mux))
			t.Cleanup(srv.Close)
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar}

			do := func(method, path string) string {
				t.Helper()
				req, _ := http.NewRequest(method, srv.URL+path, nil)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				defer resp.Body.Close()
				var b bytes.Buffer
				_, _ = b.ReadFrom(resp.Body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s %s: %s %s", method, path, resp.Status, b.String())
				}
				return b.String()
			}

			do("PUT", "/v?v=hello")
			var rows int64
			if err := db.Raw("SELECT COUNT(*) FROM sessions").Row().Scan(&rows); err != nil || rows != 1 {
				t.Fatalf("sessions rows = %d, %v; want 1", rows, err)
			}
			if got := do("GET", "/v"); got != "hello" {
				t.Fatalf("value read back = %q, want hello", got)
			}
			do("POST", "/logout")
			if got := do("GET", "/v"); got != "" {
				t.Fatalf("value after logout = %q, want empty", got)
			}
		})
	}
}
