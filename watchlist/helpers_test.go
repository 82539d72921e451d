package watchlist

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable server clock shared by the services under test.
type clock struct{ t atomic.Int64 }

func newClock(t time.Time) *clock          { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)           { c.t.Store(t.UnixNano()) }
func (c *clock) now() time.Time            { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) advanceTo(t time.Duration) { c.set(t0.Add(t)) }

func dialects(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) { fn(t, testpg.DB(t)) })
	t.Run("sqlite", func(t *testing.T) {
		db, d, err := database.Open(context.Background(), "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := database.Migrate(context.Background(), db, d); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = database.Close(db) })
		fn(t, db)
	})
}

// env is a bidding service and a watchlist on one database and clock.
type env struct {
	t   *testing.T
	db  *gorm.DB
	clk *clock
	bid *bidding.Service
	w   *Service
}

func newEnv(t *testing.T, db *gorm.DB, opts Options) *env {
	t.Helper()
	clk := newClock(t0)
	b := bidding.New(db, bidding.Options{Now: clk.now, PasswordCost: bcrypt.MinCost})
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	opts.Now = clk.now
	return &env{t: t, db: db, clk: clk, bid: b, w: New(db, b, b, opts)}
}

var userSeq atomic.Int64

func (e *env) user() domain.User {
	e.t.Helper()
	n := userSeq.Add(1)
	u, err := e.bid.CreateUser(context.Background(), fmt.Sprintf("w%d@example.com", n), "correct horse", fmt.Sprintf("User %d", n), false)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// lot lists an auction ending after d, with a soft-close window.
func (e *env) lot(seller domain.User, d time.Duration) domain.Auction {
	e.t.Helper()
	soft := 120
	a, err := e.bid.CreateAuction(context.Background(), seller, domain.AuctionInput{Title: "Clock", Currency: "EUR",
		StartPrice: 1000, EndsAt: e.clk.now().Add(d), SoftCloseSeconds: &soft})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) watch(u domain.User, id int64) int {
	e.t.Helper()
	n, err := e.w.Watch(context.Background(), u, id)
	if err != nil {
		e.t.Fatalf("watch %d by %d: %v", id, u.ID, err)
	}
	return n
}

func (e *env) tick() int {
	e.t.Helper()
	n, err := e.w.Tick(context.Background())
	if err != nil {
		e.t.Fatalf("tick: %v", err)
	}
	return n
}

// personal returns u's personal events of the given types, in order.
func (e *env) personal(u domain.User, types ...domain.EventType) []domain.Event {
	e.t.Helper()
	evs, err := e.bid.After(context.Background(), domain.UserChannel(u.ID), 0, 10000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []domain.Event
	for _, ev := range evs {
		for _, ty := range types {
			if ev.Type == ty {
				out = append(out, ev)
			}
		}
	}
	return out
}

// reminders renders u's watch notices as "type/threshold" strings.
func (e *env) reminders(u domain.User) []string {
	e.t.Helper()
	var out []string
	for _, ev := range e.personal(u, domain.EventEndingSoon, domain.EventWatchExtended, domain.EventWatchClosed) {
		s := string(ev.Type)
		if ev.ThresholdSeconds > 0 {
			s += fmt.Sprintf("/%d", ev.ThresholdSeconds)
		}
		out = append(out, s)
	}
	return out
}
