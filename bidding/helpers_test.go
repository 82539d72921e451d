package bidding

import (
	"context"
	"encoding/json"
	"fmt"
	"golang.org/x/crypto/bcrypt"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// clock is a settable server clock for tests.
type clock struct{ t atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.t.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) {
	c.t.Add(int64(d))
}
func (c *clock) now() time.Time { return time.Unix(0, c.t.Load()).UTC() }

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// dialects runs fn against a fresh PostgreSQL database and a fresh SQLite
// file, so the embedded default never rots.
func dialects(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) { fn(t, testpg.DB(t)) })
	t.Run("sqlite", func(t *testing.T) { fn(t, mustSQLite(t)) })
}

func mustSQLite(tb testing.TB) *gorm.DB {
	tb.Helper()
	dir := tb.TempDir()
	db, d, err := database.Open(context.Background(), "", dir)
	if err != nil {
		tb.Fatal(err)
	}
	if err := database.Migrate(context.Background(), db, d); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

func mustService(tb testing.TB, db *gorm.DB, c *clock) *Service {
	tb.Helper()
	s := New(db, Options{Now: c.now, PasswordCost: bcrypt.MinCost})
	tb.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

var userSeq atomic.Int64

func mustUser(tb testing.TB, s *Service, admin bool) domain.User {
	tb.Helper()
	n := userSeq.Add(1)
	u, err := s.CreateUser(context.Background(), fmt.Sprintf("user%d@example.com", n), "correct horse", fmt.Sprintf("User %d", n), admin)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func mustAuction(tb testing.TB, s *Service, seller domain.User, mod func(*domain.AuctionInput)) domain.Auction {
	tb.Helper()
	in := domain.AuctionInput{Title: "Lamp", Description: "A lamp", Currency: "EUR", StartPrice: 1000, EndsAt: s.now().Add(time.Hour)}
	if mod != nil {
		mod(&in)
	}
	a, err := s.CreateAuction(context.Background(), seller, in)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func mustBid(tb testing.TB, s *Service, u domain.User, id int64, amount, max int64) domain.Receipt {
	tb.Helper()
	r, err := s.PlaceBid(context.Background(), u, id, domain.BidInput{Amount: amount, MaxAmount: max})
	if err != nil {
		tb.Fatalf("bid %d (max %d) by %d: %v", amount, max, u.ID, err)
	}
	return r
}

func mustGet(tb testing.TB, s *Service, id int64) domain.Auction {
	tb.Helper()
	a, err := s.Auction(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// eventsOf returns the stored events of a channel, in order.
func eventsOf(tb testing.TB, s *Service, ch domain.Channel) []domain.Event {
	tb.Helper()
	ev, err := s.After(context.Background(), ch, 0, 10000)
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
