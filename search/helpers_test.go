package search

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

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
	tb.Cleanup(func() { _ = database.Close(db) })
	return db
}

var seq atomic.Int64

// lot is an auction row to seed; zero fields take defaults.
type lot struct {
	title, description string
	category           int64
	status             domain.Status
	currency           string
	start, current     int64
	bids               int
	buyNow             int64
	endsIn             time.Duration
}

// seeder inserts users and auctions straight into the tables the search
// reads; the triggers index them as a listing would be.
type seeder struct {
	tb     testing.TB
	db     *gorm.DB
	seller int64
}

func newSeeder(tb testing.TB, db *gorm.DB) *seeder {
	tb.Helper()
	n := seq.Add(1)
	var id int64
	err := db.Raw(`INSERT INTO users (email, name, password_hash, created_at) VALUES (?, ?, 'x', ?) RETURNING id`,
		fmt.Sprintf("seller%d@example.com", n), "Seller", t0).Scan(&id).Error
	if err != nil {
		tb.Fatal(err)
	}
	return &seeder{tb: tb, db: db, seller: id}
}

func (s *seeder) add(l lot) int64 {
	s.tb.Helper()
	if l.status == "" {
		l.status = domain.StatusOpen
	}
	if l.currency == "" {
		l.currency = "EUR"
	}
	if l.start == 0 {
		l.start = 1000
	}
	if l.endsIn == 0 {
		l.endsIn = time.Hour
	}
	var cat any
	if l.category != 0 {
		cat = l.category
	}
	ends := t0.Add(l.endsIn)
	var id int64
	err := s.db.Raw(`INSERT INTO auctions (seller_id, title, description, currency, category_id, start_price, buy_now_price,
		starts_at, ends_at, original_ends_at, soft_close_seconds, max_extension_seconds, status, current_price, bid_count,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 120, 3600, ?, ?, ?, ?, ?) RETURNING id`,
		s.seller, l.title, l.description, l.currency, cat, l.start, l.buyNow, t0.Add(-time.Hour), ends, ends,
		string(l.status), l.current, l.bids, t0, t0).Scan(&id).Error
	if err != nil {
		s.tb.Fatal(err)
	}
	return id
}

// categoryID returns the id of a seeded category.
func categoryID(tb testing.TB, db *gorm.DB, slug string) int64 {
	tb.Helper()
	var id int64
	if err := db.Raw("SELECT id FROM categories WHERE slug = ?", slug).Scan(&id).Error; err != nil || id == 0 {
		tb.Fatalf("category %s: %d, %v", slug, id, err)
	}
	return id
}

func mustService(db *gorm.DB) *Service {
	return New(db, Options{Now: func() time.Time { return t0 }})
}

// ids returns the ids of a page's auctions.
func ids(p domain.SearchPage) []int64 {
	out := make([]int64, len(p.Auctions))
	for i, a := range p.Auctions {
		out[i] = a.ID
	}
	return out
}

// all pages through r with the given page size and returns every id.
func all(tb testing.TB, s *Service, r domain.SearchQuery, limit int) []int64 {
	tb.Helper()
	r.Limit = limit
	var out []int64
	for range 1000 {
		p, err := s.Search(context.Background(), r)
		if err != nil {
			tb.Fatalf("search %+v: %v", r, err)
		}
		if len(p.Auctions) > limit {
			tb.Fatalf("page of %d with limit %d", len(p.Auctions), limit)
		}
		out = append(out, ids(p)...)
		if p.Next == "" {
			return out
		}
		if len(p.Auctions) == 0 {
			tb.Fatalf("an empty page with a next cursor")
		}
		r.After = p.Next
	}
	tb.Fatal("more than 1000 pages")
	return nil
}
