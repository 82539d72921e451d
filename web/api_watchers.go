package web

import (
	"context"
	"strconv"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// routesWatchers registers the seller's live watcher counts when the
// capability is wired.
func (s *Server) routesWatchers() {
	if s.deps.Watchers == nil {
		return
	}
	s.app.Get("/api/v1/me/watchers", s.handleMyWatchers)
}

// handleMyWatchers answers {"watchers": {"<auction id>": n}} for the
// viewer's scheduled and open listings: how many people have each open
// live right now, the seller's own pages left out. Auctions nobody watches
// are absent. My listings polls it.
func (s *Server) handleMyWatchers(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	counts, err := s.sellerWatchers(c.UserContext(), u)
	if err != nil {
		return err
	}
	out := make(map[string]int64, len(counts))
	for id, n := range counts {
		out[strconv.FormatInt(id, 10)] = n
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return writeJSON(c, fiber.StatusOK, map[string]any{"watchers": out})
}

// sellerWatchers counts the watchers of u's running listings. A cluster
// whose nodes do not answer is unavailable (503), never a zero.
func (s *Server) sellerWatchers(ctx context.Context, u domain.User) (map[int64]int64, error) {
	mine, err := s.deps.Reader.Auctions(ctx, domain.AuctionFilter{
		SellerID: u.ID,
		Status:   []domain.Status{domain.StatusScheduled, domain.StatusOpen},
		Limit:    maxMyListings,
	})
	if err != nil {
		return nil, err
	}
	if len(mine) == 0 {
		return map[int64]int64{}, nil
	}
	ids := make([]int64, len(mine))
	for i, a := range mine {
		ids[i] = a.ID
	}
	counts, err := s.deps.Watchers.Watching(ctx, ids, u.ID)
	if err != nil {
		s.log.Warn("watcher counts unavailable", "err", err)
		return nil, &domain.Error{Code: domain.CodeUnavailable, Message: "Watcher counts are unavailable for a moment. Try again shortly."}
	}
	return counts, nil
}

// addWatchers shows "Viewing now" on the running cards of a seller's
// listings, with the counts when the cluster answers ("–" until list.js
// gets them otherwise).
func (s *Server) addWatchers(c *fiber.Ctx, u domain.User, cards []cardView) {
	if s.deps.Watchers == nil {
		return
	}
	counts, err := s.sellerWatchers(c.UserContext(), u)
	for i := range cards {
		if st := cards[i].Status; st != domain.StatusOpen && st != domain.StatusScheduled {
			continue
		}
		cards[i].ShowViewers = true
		if err == nil {
			cards[i].Viewing, cards[i].ViewingKnown = counts[cards[i].ID], true
		}
	}
}
