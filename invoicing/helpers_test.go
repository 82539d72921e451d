package invoicing_test

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
	"github.com/gavel-auctions/gavel/invoicing"
)

func TestMain(m *testing.M) { testpg.Main(m) }

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// clock is a settable server clock; step, when set, advances it by that
// much at every read, so concurrent readers see different instants.
type clock struct {
	t    atomic.Int64
	step atomic.Int64
}

func newClock(t time.Time) *clock    { c := &clock{}; c.t.Store(t.UnixNano()); return c }
func (c *clock) set(t time.Time)     { c.t.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.t.Add(int64(d)) }
func (c *clock) now() time.Time      { return time.Unix(0, c.t.Add(c.step.Load())).UTC() }

// dialects runs fn against a fresh PostgreSQL database and a fresh SQLite
// file.
func dialects(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) { fn(t, testpg.DB(t)) })
	t.Run("sqlite", func(t *testing.T) { fn(t, mustSQLite(t)) })
}

func mustSQLite(tb testing.TB) *gorm.DB {
	tb.Helper()
	db, d, err := database.Open(context.Background(), "", tb.TempDir())
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

// env is a bidding service (the real outbox and the auctions it closes)
// and an invoicing service on one database and clock.
type env struct {
	t     testing.TB
	db    *gorm.DB
	clock *clock
	bid   *bidding.Service
	inv   *invoicing.Service
}

func newEnv(t testing.TB, db *gorm.DB) *env {
	t.Helper()
	e := &env{t: t, db: db, clock: newClock(t0)}
	// The services need each other, as cmd/gavel wires them: bidding asks
	// invoicing for sellers' default fees, invoicing commits through
	// bidding's outbox.
	defaults := func(ctx context.Context, seller int64, currency string) (*domain.Fees, error) {
		return e.inv.DefaultFees(ctx, seller, currency)
	}
	e.bid = bidding.New(db, bidding.Options{Now: e.clock.now, PasswordCost: bcrypt.MinCost, DefaultFees: defaults})
	t.Cleanup(func() { _ = e.bid.Close(context.Background()) })
	e.inv = e.service()
	return e
}

// service is another invoicing node on the same database.
func (e *env) service() *invoicing.Service {
	return invoicing.New(e.db, e.bid, invoicing.Config{Now: e.clock.now, CommissionBPS: 1000})
}

var userSeq atomic.Int64

func (e *env) user(admin bool) domain.User {
	e.t.Helper()
	n := userSeq.Add(1)
	u, err := e.bid.CreateUser(context.Background(), fmt.Sprintf("u%d@example.com", n), "correct horse", fmt.Sprintf("User %d", n), admin)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) listing(seller domain.User, fees *domain.Fees, mod func(*domain.AuctionInput)) domain.Auction {
	e.t.Helper()
	in := domain.AuctionInput{Title: "Brass lamp", Currency: "EUR", StartPrice: 1000, EndsAt: e.clock.now().Add(time.Hour), Fees: fees}
	if mod != nil {
		mod(&in)
	}
	a, err := e.bid.CreateAuction(context.Background(), seller, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) placeBid(u domain.User, id, amount, max int64) {
	e.t.Helper()
	if _, err := e.bid.PlaceBid(context.Background(), u, id, domain.BidInput{Amount: amount, MaxAmount: max}); err != nil {
		e.t.Fatalf("bid %d by %d on %d: %v", amount, u.ID, id, err)
	}
}

// closeAll moves the clock past every listing's end and closes them.
func (e *env) closeAll() {
	e.t.Helper()
	e.clock.add(2 * time.Hour)
	for {
		n, err := e.bid.Tick(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func (e *env) settle() int {
	e.t.Helper()
	n, err := e.inv.Settle(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) invoices(viewer domain.User, role domain.InvoiceRole) []domain.Invoice {
	e.t.Helper()
	list, err := e.inv.Invoices(context.Background(), viewer, domain.InvoiceFilter{Role: role, Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// personal returns the types and changes of a user's stored invoice and
// offer events, in order.
func (e *env) personal(u domain.User) []string {
	e.t.Helper()
	evs, err := e.bid.After(context.Background(), domain.UserChannel(u.ID), 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		switch {
		case ev.Invoice != nil:
			out = append(out, "invoice:"+ev.Invoice.Change)
		case ev.Offer != nil:
			out = append(out, "offer:"+string(ev.Offer.Status))
		}
	}
	return out
}

// standard is a schedule with every part: 25% up to 1,000.00 then 20%,
// VAT 21% on the premium, collection or EU delivery.
func standard() *domain.Fees {
	return &domain.Fees{
		BuyersPremium: []domain.PremiumTier{{UpTo: 100000, RateBPS: 2500}, {RateBPS: 2000}},
		Tax:           &domain.Tax{Label: "VAT", RateBPS: 2100, On: domain.TaxOnPremium},
		Shipping: []domain.ShippingOption{{Kind: domain.ShippingPickup, Where: "Oudegracht 1, Utrecht", When: "Mon-Fri 10-17"},
			{Kind: domain.ShippingDelivery, Region: "EU", Amount: 2500}},
	}
}

func wantCode(t testing.TB, err error, code domain.Code) {
	t.Helper()
	if domain.ErrorCode(err) != code {
		t.Fatalf("got %v, want a %s error", err, code)
	}
}
