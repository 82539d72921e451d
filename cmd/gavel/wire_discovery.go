package main

import (
	"context"

	"github.com/gavel-auctions/gavel/category"
	"github.com/gavel-auctions/gavel/search"
	"github.com/gavel-auctions/gavel/watchlist"
	"github.com/gavel-auctions/gavel/web"
)

// wireDiscovery adds categories, search and watchlists to an API node: the
// web dependencies, and the watchlist's notice scheduler as a background
// job (every API node runs it; notices go out once whichever node sends
// them).
func (n *node) wireDiscovery(deps *web.Deps, jobCtx context.Context) {
	if !n.cfg.Role.ServesAPI() {
		return
	}
	deps.Categories = category.New(n.db, category.Options{Logger: n.log})
	deps.Search = search.New(n.db, search.Options{})
	w := watchlist.New(n.db, n.svc, n.svc, watchlist.Options{Thresholds: n.cfg.ReminderDurations(), Logger: n.log})
	deps.Watchlist = w
	n.run(func() { _ = w.Run(jobCtx) })
}

// demoCategorySlugs files the demo's items under the seeded categories.
var demoCategorySlugs = map[string]string{
	"Brass ship's clock":   "clocks",
	"Signed first edition": "rare-books",
	"Mid-century armchair": "chairs",
	"Vintage film camera":  "cameras",
	"Hand-thrown tea set":  "ceramics",
	"Antique globe":        "decorative-objects",
}

// demoCategoryIDs maps each demo item's title to its category's id; an
// item whose category an admin removed is listed without one.
func demoCategoryIDs(ctx context.Context, n *node) map[string]*int64 {
	out := map[string]*int64{}
	cats := category.New(n.db, category.Options{})
	for title, slug := range demoCategorySlugs {
		if c, err := cats.BySlug(ctx, slug); err == nil {
			id := c.ID
			out[title] = &id
		}
	}
	return out
}
