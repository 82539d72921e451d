package domain

// StreamSpec says what one SSE connection carries. The web layer builds it
// from the route, the session and the request; a realtime node serves it.
type StreamSpec struct {
	UserID int64
	Admin  bool
	// AuctionIDs are the auctions whose public events the stream carries.
	AuctionIDs []int64
	// SaleIDs are the sales whose whole logs the stream carries: every
	// lot's public events and the sale's own, after a snapshot of every lot.
	SaleIDs []int64
	// SaleWatchers adds the live count of each sale's watchers over the
	// cluster (sale_watchers events), for the sale's seller and admins.
	SaleWatchers bool
	// Personal adds the user's own outbid/won events.
	Personal bool
	// All carries every auction's events plus periodic stats (admin monitor).
	All bool
	// LastEventID is the client's resume cursor, from the Last-Event-ID
	// header or the lastEventId query parameter; "" for a fresh start.
	LastEventID string
}
