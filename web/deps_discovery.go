package web

import (
	"context"

	"github.com/gavel-auctions/gavel/domain"
)

// Categories reads the category tree and lets administrators edit it
// (each edit audited).
type Categories interface {
	// Tree returns the top-level categories with their children and the
	// counts of running lots.
	Tree(ctx context.Context) ([]domain.Category, error)
	// All returns every category, flat, each top-level one followed by
	// its children; no counts.
	All(ctx context.Context) ([]domain.Category, error)
	// Resolve finds a category by slug or id; an unknown one is an
	// invalid "category" field.
	Resolve(ctx context.Context, ref string) (domain.Category, error)
	// Subtree returns a category's id and its children's.
	Subtree(ctx context.Context, id int64) ([]int64, error)
	Create(ctx context.Context, admin domain.User, in domain.CategoryInput) (domain.Category, error)
	Update(ctx context.Context, admin domain.User, id int64, in domain.CategoryInput) (domain.Category, error)
	Delete(ctx context.Context, admin domain.User, id int64) error
}

// Searcher runs full-text searches with filters and keyset pages.
type Searcher interface {
	Search(ctx context.Context, q domain.SearchQuery) (domain.SearchPage, error)
}

// Watchlist keeps what users watch and counts each lot's watchers.
type Watchlist interface {
	// Watch and Unwatch return the lot's watcher count afterwards.
	Watch(ctx context.Context, u domain.User, auctionID int64) (int, error)
	Unwatch(ctx context.Context, u domain.User, auctionID int64) (int, error)
	// IDs lists the user's watched lots, most recently watched first.
	IDs(ctx context.Context, userID int64) ([]domain.WatchEntry, error)
	// Watching reports which of ids the user watches.
	Watching(ctx context.Context, userID int64, ids []int64) (map[int64]bool, error)
	// Counts returns the watcher count of each of ids (absent: none).
	Counts(ctx context.Context, ids []int64) (map[int64]int, error)
}
