package web

import (
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// routesHistory registers what the bid history needs beyond the public
// list: who is behind the aliases, for the seller and admins.
func (s *Server) routesHistory() {
	if s.deps.Bidders == nil {
		return
	}
	s.app.Get("/api/v1/auctions/:id/bidders", s.handleBidderList)
}

// errNotIdentifier refuses the identities behind aliases to anyone but the
// seller and admins.
var errNotIdentifier = &domain.Error{Code: domain.CodeForbidden,
	Message: "Only the seller of this auction and administrators can see who is behind its bidder aliases."}

// bidderList is the response of GET /api/v1/auctions/{id}/bidders.
type bidderList struct {
	Bidders []domain.BidderIdentity `json:"bidders"`
}

// handleBidderList returns the people behind an auction's aliases, to its
// seller and to admins.
func (s *Server) handleBidderList(c *fiber.Ctx) error {
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
	if !domain.MayIdentify(a, u) {
		return errNotIdentifier
	}
	list, err := s.deps.Bidders.Bidders(c.UserContext(), id)
	if err != nil {
		return err
	}
	if list == nil {
		list = []domain.BidderIdentity{}
	}
	return writeJSON(c, fiber.StatusOK, bidderList{Bidders: list})
}

// viewOf is domain.View plus what the view cannot know from the auction
// alone: the viewer's own alias, so pages and clients can tell whether
// they have bid.
func (s *Server) viewOf(c *fiber.Ctx, a domain.Auction, viewer domain.User) (domain.AuctionView, error) {
	v, err := s.auctionView(c.UserContext(), viewer, a, s.now())
	if err != nil {
		return v, err
	}
	if v.You == nil || v.You.Seller || s.deps.Bidders == nil || a.BidderCount == 0 {
		return v, nil
	}
	alias, err := s.deps.Bidders.AliasOf(c.UserContext(), a.ID, viewer.ID)
	if err != nil {
		return v, err
	}
	v.You.Alias = alias
	return v, nil
}
