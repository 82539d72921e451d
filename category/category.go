// Package category keeps Gavel's two-level tree of lot categories: reads
// of the tree (with counts of running lots), lookups by slug or id for the
// forms, the API and CSV imports, and the administrators' edits, each
// recorded in the audit log.
package category

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/ttlcache"
)

// Options tune a Store. Zero values take the defaults.
type Options struct {
	// Now is the server clock.
	Now func() time.Time
	// TreeTTL is how long a node reuses the tree it read; an edit on
	// another node shows here within it (edits on this node at once).
	// Default 5 s.
	TreeTTL time.Duration
	// CountTTL is how long the per-category counts of running lots are
	// reused. Counting is an index-only scan of every running lot, so it
	// is not repeated per request. Default 15 s; negative: no caching.
	CountTTL time.Duration
	Logger   *slog.Logger
}

// Store reads and edits categories in the database.
type Store struct {
	db   *gorm.DB
	pg   bool
	opts Options

	tree   *ttlcache.Cache[struct{}, []domain.Category] // flat, in tree order, no counts
	counts *ttlcache.Cache[struct{}, map[int64][2]int]  // category id -> open, scheduled
}

// New returns a Store on db (already migrated).
func New(db *gorm.DB, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TreeTTL <= 0 {
		opts.TreeTTL = 5 * time.Second
	}
	if opts.CountTTL == 0 {
		opts.CountTTL = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Store{
		db:     db,
		pg:     db.Dialector.Name() == "postgres",
		opts:   opts,
		tree:   ttlcache.New[struct{}, []domain.Category](opts.TreeTTL, 1),
		counts: ttlcache.New[struct{}, map[int64][2]int](opts.CountTTL, 1),
	}
}

func (s *Store) now() time.Time { return s.opts.Now().UTC() }

// row mirrors the categories table.
type row struct {
	ID        int64 `gorm:"primaryKey"`
	ParentID  *int64
	Slug      string
	Name      string
	Position  int
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (row) TableName() string { return "categories" }

func (r row) toDomain() domain.Category {
	c := domain.Category{ID: r.ID, Slug: r.Slug, Name: r.Name, Position: r.Position}
	if r.ParentID != nil {
		c.ParentID = *r.ParentID
	}
	return c
}

// flat returns every category, top-level ones in position order each
// followed by its children in position order.
func (s *Store) flat(ctx context.Context) ([]domain.Category, error) {
	if cs, ok := s.tree.Get(struct{}{}, s.now()); ok {
		return cs, nil
	}
	var rows []row
	if err := s.db.WithContext(ctx).Order("position, name, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.Category, 0, len(rows))
	for _, r := range rows {
		if r.ParentID == nil {
			out = append(out, r.toDomain())
			for _, c := range rows {
				if c.ParentID != nil && *c.ParentID == r.ID {
					out = append(out, c.toDomain())
				}
			}
		}
	}
	s.tree.Put(struct{}{}, out, s.now(), time.Time{})
	return out, nil
}

// forget drops the cached tree after an edit on this node.
func (s *Store) forget() {
	s.tree.Forget(struct{}{})
	s.counts.Forget(struct{}{})
}

// All returns every category without counts, flat: each top-level category
// followed by its subcategories, in position order. Forms use it.
func (s *Store) All(ctx context.Context) ([]domain.Category, error) {
	cs, err := s.flat(ctx)
	return slices.Clone(cs), err
}

// Tree returns the top-level categories with their subcategories and the
// counts of running lots in each.
func (s *Store) Tree(ctx context.Context) ([]domain.Category, error) {
	cs, err := s.flat(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := s.runningCounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []domain.Category
	for _, c := range cs {
		n := counts[c.ID]
		c.OpenCount, c.ScheduledCount = n[0], n[1]
		if c.ParentID == 0 {
			out = append(out, c)
			continue
		}
		top := &out[len(out)-1]
		top.Children = append(top.Children, c)
		top.OpenCount += c.OpenCount
		top.ScheduledCount += c.ScheduledCount
	}
	return out, nil
}

// runningCounts counts open and scheduled lots per category.
func (s *Store) runningCounts(ctx context.Context) (map[int64][2]int, error) {
	if m, ok := s.counts.Get(struct{}{}, s.now()); ok {
		return m, nil
	}
	var rows []struct {
		CategoryID int64
		Status     string
		N          int
	}
	err := s.db.WithContext(ctx).Raw(`SELECT category_id, status, count(*) AS n FROM auctions
		WHERE status IN ('open', 'scheduled') AND category_id IS NOT NULL GROUP BY status, category_id`).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	m := make(map[int64][2]int, len(rows))
	for _, r := range rows {
		n := m[r.CategoryID]
		if r.Status == string(domain.StatusOpen) {
			n[0] += r.N
		} else {
			n[1] += r.N
		}
		m[r.CategoryID] = n
	}
	s.counts.Put(struct{}{}, m, s.now(), time.Time{})
	return m, nil
}

// ErrCategoryNotFound is the answer to a slug or id that names no category.
var ErrCategoryNotFound = &domain.Error{Code: domain.CodeNotFound, Message: "No such category."}

// ByID returns one category.
func (s *Store) ByID(ctx context.Context, id int64) (domain.Category, error) {
	cs, err := s.flat(ctx)
	if err != nil {
		return domain.Category{}, err
	}
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return domain.Category{}, ErrCategoryNotFound
}

// BySlug returns the category with this slug (case-insensitive).
func (s *Store) BySlug(ctx context.Context, slug string) (domain.Category, error) {
	cs, err := s.flat(ctx)
	if err != nil {
		return domain.Category{}, err
	}
	slug = strings.ToLower(strings.TrimSpace(slug))
	for _, c := range cs {
		if c.Slug == slug {
			return c, nil
		}
	}
	return domain.Category{}, ErrCategoryNotFound
}

// Resolve finds a category by slug or by id ("paintings" or "12"), as the
// listing form, the API's "category" field and CSV imports give it. An
// unknown one is an invalid-input error on the field "category".
func (s *Store) Resolve(ctx context.Context, ref string) (domain.Category, error) {
	ref = strings.TrimSpace(ref)
	var c domain.Category
	var err error
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil && id > 0 {
		c, err = s.ByID(ctx, id)
	} else {
		c, err = s.BySlug(ctx, ref)
	}
	if err == ErrCategoryNotFound {
		shown := ref
		if len(shown) > 60 {
			shown = shown[:60] + "…"
		}
		return c, domain.Invalid("category", "There is no category “"+shown+"”. Use a slug or an id from GET /api/v1/categories.")
	}
	return c, err
}

// Subtree returns the ids of a category and of its subcategories: a
// filter by a top-level category includes the lots of its children.
func (s *Store) Subtree(ctx context.Context, id int64) ([]int64, error) {
	cs, err := s.flat(ctx)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, c := range cs {
		if c.ID == id || c.ParentID == id {
			out = append(out, c.ID)
		}
	}
	if len(out) == 0 {
		return nil, ErrCategoryNotFound
	}
	return out, nil
}
