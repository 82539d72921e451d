package web

import (
	"context"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// watchState is the answer to a watch or unwatch.
type watchState struct {
	AuctionID int64 `json:"auction_id"`
	Watching  bool  `json:"watching"`
}

// handleWatch puts a lot on the user's watchlist (idempotent).
func (s *Server) handleWatch(c *fiber.Ctx) error { return s.setWatching(c, true) }

// handleUnwatch takes a lot off the user's watchlist (idempotent).
func (s *Server) handleUnwatch(c *fiber.Ctx) error { return s.setWatching(c, false) }

// setWatching watches or unwatches the lot of the :id parameter. A
// suspended user may still unwatch.
func (s *Server) setWatching(c *fiber.Ctx, watch bool) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	if watch {
		_, err = s.deps.Watchlist.Watch(c.UserContext(), u, id)
	} else {
		_, err = s.deps.Watchlist.Unwatch(c.UserContext(), u, id)
	}
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, watchState{AuctionID: id, Watching: watch})
}

// watchedAuctions returns the lots u watches, running ones ending soonest
// first, then ended ones.
func (s *Server) watchedAuctions(ctx context.Context, u domain.User) ([]domain.Auction, error) {
	entries, err := s.deps.Watchlist.IDs(ctx, u.ID)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	ids := make([]int64, len(entries))
	for i, e := range entries {
		ids[i] = e.AuctionID
	}
	return s.deps.Reader.Auctions(ctx, domain.AuctionFilter{IDs: ids, Limit: len(ids)})
}

// handleWatchlist lists the user's watched lots as the auction list does.
func (s *Server) handleWatchlist(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	list, err := s.watchedAuctions(c.UserContext(), u)
	if err != nil {
		return err
	}
	return s.writeAuctionList(c, u, list)
}

// watcherCount is the answer of GET /api/v1/auctions/{id}/watchers.
type watcherCount struct {
	AuctionID int64     `json:"auction_id"`
	Watchers  int       `json:"watchers"`
	At        time.Time `json:"at"`
}

// handleWatcherCount tells the seller and administrators how many people
// watch a lot.
func (s *Server) handleWatcherCount(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	a, err := s.deps.Reader.Auction(c.UserContext(), id)
	if err != nil {
		return err
	}
	if !u.Admin && a.SellerID != u.ID {
		return &domain.Error{Code: domain.CodeForbidden, Message: "Only the seller and administrators may see how many people watch a lot."}
	}
	counts, err := s.deps.Watchlist.Counts(c.UserContext(), []int64{id})
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, watcherCount{AuctionID: id, Watchers: counts[id], At: s.now()})
}
