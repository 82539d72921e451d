package web

import "context"

// Watchers counts the people who have auctions open live right now (their
// streams, over every realtime node): the seller's "N watching now". A nil
// Deps.Watchers leaves out GET /api/v1/me/watchers and the counts on
// My listings.
type Watchers interface {
	// Watching returns, per auction with any, how many streams watch it,
	// not counting excludeUser's own (the seller's pages). It answers
	// within a second or returns an error.
	Watching(ctx context.Context, auctionIDs []int64, excludeUser int64) (map[int64]int64, error)
}
