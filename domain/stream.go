package domain

// StreamSpec says what one SSE connection carries. The web layer builds it
// from the route, the session and the request; a realtime node serves it.
type StreamSpec struct {
	UserID int64
	Admin  bool
	// AuctionIDs are the auctions whose public events the stream carries.
	AuctionIDs []int64
	// Personal adds the user's own outbid/won events.
	Personal bool
	// All carries every auction's events plus periodic stats (admin monitor).
	All bool
	// LastEventID is the client's resume cursor, from the Last-Event-ID
	// header or the lastEventId query parameter; "" for a fresh start.
	LastEventID string
}
