package domain

import (
	"crypto/sha256"
	"encoding/hex"
)

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
	// Session is SessionHash of the session token the stream was opened
	// with (never the token itself): a logout closes that session's
	// streams on every node. "" for none.
	Session string
}

// WatchersRequest asks realtime nodes how many streams watch each of some
// auctions, not counting ExcludeUser's own (the seller asking).
type WatchersRequest struct {
	AuctionIDs  []int64 `json:"auction_ids"`
	ExcludeUser int64   `json:"exclude_user,omitempty"`
}

// WatchersReply is one node's answer: streams per auction, only those
// with any.
type WatchersReply struct {
	Node     string          `json:"node"`
	Watchers map[int64]int64 `json:"watchers"`
}

// MaxWatchersRequest bounds the auctions of one WatchersRequest.
const MaxWatchersRequest = 500

// SessionEnded is the control message (ControlLogoutSubject) a logout
// publishes: every realtime node closes the streams of that session.
type SessionEnded struct {
	Session string `json:"session"` // SessionHash of the token
}

// SessionHash names a session token without revealing it: what streams
// remember and what a logout publishes, so neither log lines nor NATS
// carry a token that would let its reader sign in.
func SessionHash(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("gavel-session\x00" + token))
	return hex.EncodeToString(sum[:16])
}
