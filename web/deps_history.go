package web

import (
	"context"

	"github.com/gavel-auctions/gavel/domain"
)

// Bidders tells who is behind the aliases of an auction. A nil
// Deps.Bidders leaves out GET /api/v1/auctions/{id}/bidders, and pages
// cannot tell whether a viewer has bid, so they never say "You are not the
// highest bidder".
type Bidders interface {
	// AliasOf returns userID's alias in the auction, "" if they never bid.
	AliasOf(ctx context.Context, auctionID, userID int64) (string, error)
	// Bidders returns the people behind every alias of the auction.
	Bidders(ctx context.Context, auctionID int64) ([]domain.BidderIdentity, error)
}
