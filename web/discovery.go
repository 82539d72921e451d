package web

import (
	"context"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// routesDiscovery registers categories, search and watchlists: the API
// routes and pages of each capability that Deps provides.
func (s *Server) routesDiscovery() {
	api := s.app.Group("/api/v1")
	p := s.pages
	if s.deps.Categories != nil {
		api.Get("/categories", s.handleCategoryList)
		api.Post("/admin/categories", s.handleCategoryCreate)
		api.Patch("/admin/categories/:id", s.handleCategoryUpdate)
		api.Delete("/admin/categories/:id", s.handleCategoryDelete)
		s.app.Get("/categories", p.handleCategoriesPage)
		s.app.Get("/admin/categories", p.handleAdminCategoriesPage)
		s.app.Post("/admin/categories", p.handleAdminCategoryCreateForm)
		s.app.Post("/admin/categories/:id", p.handleAdminCategoryUpdateForm)
		s.app.Post("/admin/categories/:id/delete", p.handleAdminCategoryDeleteForm)
	}
	if s.deps.Search != nil {
		api.Get("/search", s.handleSearch)
		s.app.Get("/search", p.handleSearchPage)
		if s.deps.Categories != nil {
			s.app.Get("/categories/:slug", p.handleCategoryPage)
		}
	}
	if s.deps.Watchlist != nil {
		api.Get("/me/watchlist", s.handleWatchlist)
		api.Put("/me/watchlist/:id", s.handleWatch)
		api.Delete("/me/watchlist/:id", s.handleUnwatch)
		api.Get("/auctions/:id/watchers", s.handleWatcherCount)
		s.app.Get("/me/watching", p.handleWatchingPage)
		s.app.Post("/me/watchlist/:id", p.handleWatchForm)
	}
}

// extras are what the discovery capabilities add to auction views: each
// lot's category, whether the viewer watches it, and, for its seller and
// administrators, how many watch it.
type extras struct {
	categories map[int64]domain.Category
	watching   map[int64]bool
	counts     map[int64]int
	privileged map[int64]bool
}

// loadExtras reads the extras of auctions for viewer, with one query per
// kind whatever the number of auctions.
func (s *Server) loadExtras(ctx context.Context, viewer domain.User, auctions []domain.Auction) (extras, error) {
	var x extras
	if len(auctions) == 0 {
		return x, nil
	}
	if s.deps.Categories != nil {
		all, err := s.deps.Categories.All(ctx)
		if err != nil {
			return x, err
		}
		x.categories = make(map[int64]domain.Category, len(all))
		for _, c := range all {
			x.categories[c.ID] = c
		}
	}
	if s.deps.Watchlist == nil || viewer.ID == 0 {
		return x, nil
	}
	ids := make([]int64, 0, len(auctions))
	var mine []int64
	x.privileged = map[int64]bool{}
	for _, a := range auctions {
		ids = append(ids, a.ID)
		if viewer.Admin || a.SellerID == viewer.ID {
			mine = append(mine, a.ID)
			x.privileged[a.ID] = true
		}
	}
	var err error
	if x.watching, err = s.deps.Watchlist.Watching(ctx, viewer.ID, ids); err != nil {
		return x, err
	}
	if len(mine) > 0 {
		if x.counts, err = s.deps.Watchlist.Counts(ctx, mine); err != nil {
			return x, err
		}
	}
	return x, nil
}

// apply adds the extras of a to its view v.
func (x extras) apply(a domain.Auction, v *domain.AuctionView) {
	if c, ok := x.categories[a.CategoryID]; ok {
		v.Category = c.Ref()
	}
	if v.You != nil {
		v.You.Watching = x.watching[a.ID]
	}
	if x.privileged[a.ID] {
		n := x.counts[a.ID]
		v.Watchers = &n
	}
}

// auctionViews returns the views of auctions as viewer sees them at now,
// with the discovery extras.
func (s *Server) auctionViews(ctx context.Context, viewer domain.User, auctions []domain.Auction, now time.Time) ([]domain.AuctionView, error) {
	x, err := s.loadExtras(ctx, viewer, auctions)
	if err != nil {
		return nil, err
	}
	out := make([]domain.AuctionView, len(auctions))
	for i, a := range auctions {
		out[i] = domain.View(a, viewer, now)
		x.apply(a, &out[i])
	}
	return out, nil
}

// auctionView is auctionViews for one auction.
func (s *Server) auctionView(ctx context.Context, viewer domain.User, a domain.Auction, now time.Time) (domain.AuctionView, error) {
	vs, err := s.auctionViews(ctx, viewer, []domain.Auction{a}, now)
	if err != nil {
		return domain.AuctionView{}, err
	}
	return vs[0], nil
}
