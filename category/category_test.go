package category

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

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

func mustUser(t *testing.T, db *gorm.DB, email string, admin bool) domain.User {
	t.Helper()
	var id int64
	if err := db.Raw(`INSERT INTO users (email, name, password_hash, admin, created_at) VALUES (?, ?, 'x', ?, ?) RETURNING id`,
		email, email, admin, t0).Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	return domain.User{ID: id, Email: email, Name: email, Admin: admin}
}

func mustLot(t *testing.T, db *gorm.DB, seller int64, category int64, status domain.Status) int64 {
	t.Helper()
	var cat any
	if category != 0 {
		cat = category
	}
	var id int64
	err := db.Raw(`INSERT INTO auctions (seller_id, title, currency, category_id, start_price, starts_at, ends_at, original_ends_at,
		soft_close_seconds, max_extension_seconds, status, created_at, updated_at)
		VALUES (?, 'Lot', 'EUR', ?, 100, ?, ?, ?, 0, 0, ?, ?, ?) RETURNING id`,
		seller, cat, t0, t0.Add(time.Hour), t0.Add(time.Hour), string(status), t0, t0).Scan(&id).Error
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func newStore(db *gorm.DB) *Store {
	// No caching of counts, so each read shows the writes before it.
	return New(db, Options{Now: func() time.Time { return t0 }, CountTTL: -1})
}

func TestSeededTreeAndCounts(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := newStore(db)
		ctx := context.Background()
		tree, err := s.Tree(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(tree) < 10 || tree[0].Slug != "art" {
			t.Fatalf("tree: %d top-level categories, first %q", len(tree), tree[0].Slug)
		}
		for _, top := range tree {
			if top.ParentID != 0 || len(top.Children) == 0 {
				t.Errorf("%s: parent %d, %d children", top.Slug, top.ParentID, len(top.Children))
			}
			for _, c := range top.Children {
				if c.ParentID != top.ID || len(c.Children) != 0 {
					t.Errorf("%s › %s: parent %d", top.Slug, c.Slug, c.ParentID)
				}
			}
		}
		seller := mustUser(t, db, "seller@example.com", false)
		art, _ := s.BySlug(ctx, "art")
		paintings, _ := s.BySlug(ctx, "paintings")
		sculpture, _ := s.BySlug(ctx, "sculpture")
		mustLot(t, db, seller.ID, paintings.ID, domain.StatusOpen)
		mustLot(t, db, seller.ID, paintings.ID, domain.StatusOpen)
		mustLot(t, db, seller.ID, sculpture.ID, domain.StatusScheduled)
		mustLot(t, db, seller.ID, art.ID, domain.StatusOpen)
		mustLot(t, db, seller.ID, art.ID, domain.StatusClosed)
		mustLot(t, db, seller.ID, 0, domain.StatusOpen)
		tree, err = s.Tree(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tree[0].OpenCount != 3 || tree[0].ScheduledCount != 1 {
			t.Errorf("art: %d open, %d scheduled; want 3 and 1 (its own and its children's)", tree[0].OpenCount, tree[0].ScheduledCount)
		}
		for _, c := range tree[0].Children {
			want := map[string][2]int{"paintings": {2, 0}, "sculpture": {0, 1}}[c.Slug]
			if c.OpenCount != want[0] || c.ScheduledCount != want[1] {
				t.Errorf("%s: %d open, %d scheduled; want %v", c.Slug, c.OpenCount, c.ScheduledCount, want)
			}
		}
		sub, err := s.Subtree(ctx, art.ID)
		if err != nil || !slices.Contains(sub, art.ID) || !slices.Contains(sub, paintings.ID) || len(sub) != len(tree[0].Children)+1 {
			t.Errorf("subtree of art: %v, %v", sub, err)
		}
		if sub, err := s.Subtree(ctx, paintings.ID); err != nil || !slices.Equal(sub, []int64{paintings.ID}) {
			t.Errorf("subtree of paintings: %v, %v", sub, err)
		}
	})
}

func TestResolve(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := newStore(db)
		ctx := context.Background()
		p, err := s.Resolve(ctx, "paintings")
		if err != nil || p.Name != "Paintings" || p.ParentID == 0 {
			t.Fatalf("resolve paintings: %+v, %v", p, err)
		}
		for _, ref := range []string{" Paintings ", strings.ToUpper("paintings")} {
			if c, err := s.Resolve(ctx, ref); err != nil || c.ID != p.ID {
				t.Errorf("resolve %q: %+v, %v", ref, c, err)
			}
		}
		if c, err := s.Resolve(ctx, strconv.FormatInt(p.ID, 10)); err != nil || c.ID != p.ID {
			t.Errorf("resolve by id: %+v, %v", c, err)
		}
		for _, ref := range []string{"nope", "0", "-1", "999999", "", strings.Repeat("x", 500)} {
			_, err := s.Resolve(ctx, ref)
			var de *domain.Error
			if e, ok := err.(*domain.Error); ok {
				de = e
			}
			if de == nil || de.Code != domain.CodeInvalid || de.Fields["category"] == "" {
				t.Errorf("resolve %q: %v, want an invalid category", ref, err)
			}
		}
	})
}

func TestAdminEdits(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := newStore(db)
		ctx := context.Background()
		admin := mustUser(t, db, "admin@example.com", true)
		user := mustUser(t, db, "user@example.com", false)

		if _, err := s.Create(ctx, user, domain.CategoryInput{Name: "Stuff"}); err != domain.ErrNotAdmin {
			t.Errorf("a user creates: %v", err)
		}
		top, err := s.Create(ctx, admin, domain.CategoryInput{Name: "Natural History", Position: 50})
		if err != nil || top.Slug != "natural-history" || top.ParentID != 0 {
			t.Fatalf("create top: %+v, %v", top, err)
		}
		// Edits on this node show at once, despite the tree cache.
		if c, err := s.BySlug(ctx, "natural-history"); err != nil || c.ID != top.ID {
			t.Errorf("new category not visible: %+v, %v", c, err)
		}
		child, err := s.Create(ctx, admin, domain.CategoryInput{Name: "Fossils", ParentID: top.ID})
		if err != nil || child.ParentID != top.ID {
			t.Fatalf("create child: %+v, %v", child, err)
		}
		if _, err := s.Create(ctx, admin, domain.CategoryInput{Name: "Ammonites", ParentID: child.ID}); field(err) != "parent_id" {
			t.Errorf("a third level: %v", err)
		}
		if _, err := s.Create(ctx, admin, domain.CategoryInput{Name: "Fossils again", Slug: "fossils"}); domain.ErrorCode(err) != domain.CodeConflict {
			t.Errorf("a taken slug: %v", err)
		}
		if _, err := s.Update(ctx, admin, top.ID, domain.CategoryInput{Name: "Natural History", ParentID: mustSlug(t, s, "art")}); field(err) != "parent_id" {
			t.Errorf("moving a category with children under another: %v", err)
		}
		if _, err := s.Update(ctx, admin, child.ID, domain.CategoryInput{Name: "Fossils", ParentID: child.ID}); field(err) != "parent_id" {
			t.Errorf("own parent: %v", err)
		}
		moved, err := s.Update(ctx, admin, child.ID, domain.CategoryInput{Name: "Fossils & Minerals", ParentID: mustSlug(t, s, "collectibles")})
		if err != nil || moved.Slug != "fossils-and-minerals" || moved.ParentID != mustSlug(t, s, "collectibles") {
			t.Fatalf("move: %+v, %v", moved, err)
		}
		if _, err := s.Update(ctx, admin, 999999, domain.CategoryInput{Name: "X"}); err != ErrCategoryNotFound {
			t.Errorf("update of a missing category: %v", err)
		}

		seller := mustUser(t, db, "seller@example.com", false)
		lot := mustLot(t, db, seller.ID, moved.ID, domain.StatusOpen)
		art := mustSlug(t, s, "art")
		if err := s.Delete(ctx, admin, art); domain.ErrorCode(err) != domain.CodeConflict {
			t.Errorf("deleting a category with children: %v", err)
		}
		if err := s.Delete(ctx, admin, moved.ID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		var cat *int64
		if err := db.Raw("SELECT category_id FROM auctions WHERE id = ?", lot).Scan(&cat).Error; err != nil || cat == nil || *cat != mustSlug(t, s, "collectibles") {
			t.Errorf("the deleted category's lot is in %v (%v), want its parent", cat, err)
		}
		if _, err := s.BySlug(ctx, "fossils-and-minerals"); err != ErrCategoryNotFound {
			t.Errorf("deleted category still there: %v", err)
		}
		var actions []string
		if err := db.Raw("SELECT action FROM audit_log WHERE actor_id = ? ORDER BY id", admin.ID).Scan(&actions).Error; err != nil {
			t.Fatal(err)
		}
		want := []string{ActionCreate, ActionCreate, ActionUpdate, ActionDelete}
		if !slices.Equal(actions, want) {
			t.Errorf("audit: %v, want %v", actions, want)
		}
	})
}

func mustSlug(t *testing.T, s *Store, slug string) int64 {
	t.Helper()
	c, err := s.BySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// field returns the single field an invalid error names.
func field(err error) string {
	de, ok := err.(*domain.Error)
	if !ok || de.Code != domain.CodeInvalid {
		return ""
	}
	for f := range de.Fields {
		return f
	}
	return ""
}
