package web

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gavel-auctions/gavel/domain"
)

// fakeCategories is a fixed tree: Art (1) › Paintings (2), Sculpture (3);
// Coins (4). Edits are recorded, not applied.
type fakeCategories struct {
	mu    sync.Mutex
	edits []string
}

var fakeTree = []domain.Category{
	{ID: 1, Slug: "art", Name: "Art", Position: 1, OpenCount: 3, ScheduledCount: 1, Children: []domain.Category{
		{ID: 2, ParentID: 1, Slug: "paintings", Name: "Paintings", Position: 1, OpenCount: 2},
		{ID: 3, ParentID: 1, Slug: "sculpture", Name: "Sculpture", Position: 2, ScheduledCount: 1},
	}},
	{ID: 4, Slug: "coins", Name: "Coins", Position: 2},
}

func (f *fakeCategories) Tree(context.Context) ([]domain.Category, error) { return fakeTree, nil }

func (f *fakeCategories) All(context.Context) ([]domain.Category, error) {
	var out []domain.Category
	for _, top := range fakeTree {
		t := top
		t.Children = nil
		out = append(out, t)
		out = append(out, top.Children...)
	}
	return out, nil
}

func (f *fakeCategories) Resolve(ctx context.Context, ref string) (domain.Category, error) {
	all, _ := f.All(ctx)
	for _, c := range all {
		if c.Slug == ref || strconv.FormatInt(c.ID, 10) == ref {
			return c, nil
		}
	}
	return domain.Category{}, domain.Invalid("category", "There is no category “"+ref+"”.")
}

func (f *fakeCategories) Subtree(ctx context.Context, id int64) ([]int64, error) {
	all, _ := f.All(ctx)
	var out []int64
	for _, c := range all {
		if c.ID == id || c.ParentID == id {
			out = append(out, c.ID)
		}
	}
	return out, nil
}

func (f *fakeCategories) record(admin domain.User, what string) error {
	if !admin.Admin {
		return domain.ErrNotAdmin
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.edits = append(f.edits, what)
	return nil
}

func (f *fakeCategories) Create(_ context.Context, admin domain.User, in domain.CategoryInput) (domain.Category, error) {
	in, err := domain.CleanCategoryInput(in)
	if err != nil {
		return domain.Category{}, err
	}
	if err := f.record(admin, "create "+in.Slug+" under "+strconv.FormatInt(in.ParentID, 10)); err != nil {
		return domain.Category{}, err
	}
	return domain.Category{ID: 99, ParentID: in.ParentID, Slug: in.Slug, Name: in.Name, Position: in.Position}, nil
}

func (f *fakeCategories) Update(_ context.Context, admin domain.User, id int64, in domain.CategoryInput) (domain.Category, error) {
	in, err := domain.CleanCategoryInput(in)
	if err != nil {
		return domain.Category{}, err
	}
	if id > 4 {
		return domain.Category{}, &domain.Error{Code: domain.CodeNotFound, Message: "No such category."}
	}
	if err := f.record(admin, "update "+strconv.FormatInt(id, 10)+" "+in.Slug); err != nil {
		return domain.Category{}, err
	}
	return domain.Category{ID: id, ParentID: in.ParentID, Slug: in.Slug, Name: in.Name}, nil
}

func (f *fakeCategories) Delete(_ context.Context, admin domain.User, id int64) error {
	if id == 1 {
		return &domain.Error{Code: domain.CodeConflict, Message: "“Art” has 2 subcategories: move or delete them first."}
	}
	return f.record(admin, "delete "+strconv.FormatInt(id, 10))
}

// fakeSearch answers every search with the store's running auctions whose
// title contains the text, and remembers the last query.
type fakeSearch struct {
	store *fakeStore
	mu    sync.Mutex
	last  domain.SearchQuery
	next  string
	err   error
}

func (f *fakeSearch) Search(ctx context.Context, q domain.SearchQuery) (domain.SearchPage, error) {
	f.mu.Lock()
	f.last = q
	next, err := f.next, f.err
	f.mu.Unlock()
	if err != nil {
		return domain.SearchPage{}, err
	}
	list, err := f.store.Auctions(ctx, domain.AuctionFilter{Status: []domain.Status{domain.StatusOpen, domain.StatusScheduled}})
	if err != nil {
		return domain.SearchPage{}, err
	}
	var out []domain.Auction
	for _, a := range list {
		if strings.Contains(strings.ToLower(a.Title), strings.ToLower(strings.TrimSpace(q.Text))) &&
			(len(q.CategoryIDs) == 0 || slices.Contains(q.CategoryIDs, a.CategoryID)) {
			out = append(out, a)
		}
	}
	return domain.SearchPage{Auctions: out, Next: next}, nil
}

func (f *fakeSearch) query() domain.SearchQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// fakeWatchlist keeps watchlists in memory, with the service's rules for
// own and ended lots.
type fakeWatchlist struct {
	store *fakeStore
	mu    sync.Mutex
	lists map[int64][]int64 // user → lots, oldest first
}

func (f *fakeWatchlist) Watch(ctx context.Context, u domain.User, id int64) (int, error) {
	a, err := f.store.Auction(ctx, id)
	if err != nil {
		return 0, err
	}
	if a.SellerID == u.ID {
		return 0, &domain.Error{Code: domain.CodeForbidden, Message: "This is your own listing."}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.lists[u.ID], id) {
		if a.Status != domain.StatusOpen && a.Status != domain.StatusScheduled {
			return 0, &domain.Error{Code: domain.CodeGone, Message: "This auction has ended."}
		}
		f.lists[u.ID] = append(f.lists[u.ID], id)
	}
	return f.countLocked(id), nil
}

func (f *fakeWatchlist) Unwatch(_ context.Context, u domain.User, id int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists[u.ID] = slices.DeleteFunc(f.lists[u.ID], func(x int64) bool { return x == id })
	return f.countLocked(id), nil
}

func (f *fakeWatchlist) countLocked(id int64) int {
	n := 0
	for _, l := range f.lists {
		if slices.Contains(l, id) {
			n++
		}
	}
	return n
}

func (f *fakeWatchlist) IDs(_ context.Context, userID int64) ([]domain.WatchEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.WatchEntry
	for _, id := range slices.Backward(f.lists[userID]) {
		out = append(out, domain.WatchEntry{AuctionID: id})
	}
	return out, nil
}

func (f *fakeWatchlist) Watching(_ context.Context, userID int64, ids []int64) (map[int64]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int64]bool{}
	for _, id := range ids {
		out[id] = slices.Contains(f.lists[userID], id)
	}
	return out, nil
}

func (f *fakeWatchlist) Counts(_ context.Context, ids []int64) (map[int64]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int64]int{}
	for _, id := range ids {
		out[id] = f.countLocked(id)
	}
	return out, nil
}

// discoveryFakes are the three discovery dependencies of one test server.
type discoveryFakes struct {
	cats   *fakeCategories
	search *fakeSearch
	watch  *fakeWatchlist
}

func newDiscoveryFakes(store *fakeStore) discoveryFakes {
	return discoveryFakes{cats: &fakeCategories{}, search: &fakeSearch{store: store},
		watch: &fakeWatchlist{store: store, lists: map[int64][]int64{}}}
}

// withDiscovery adds the discovery fakes to a testEnv's server.
func withDiscovery(f discoveryFakes) func(*Config, *Deps) {
	return func(_ *Config, d *Deps) { d.Categories, d.Search, d.Watchlist = f.cats, f.search, f.watch }
}

// newDiscoveryHarness is newPgHarness with categories, search and
// watchlists.
func newDiscoveryHarness(tb testing.TB) (*pgHarness, discoveryFakes) {
	tb.Helper()
	h := newPgHarness(tb)
	f := newDiscoveryFakes(h.store)
	srv, err := New(Config{Role: RoleAll, Now: func() time.Time { return h.now }}, Deps{
		Accounts: h.store, Bidder: h.store, Reader: h.store, Sessions: scs.New(),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Categories: f.cats, Search: f.search, Watchlist: f.watch,
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	h.srv = srv
	return h, f
}
