package domain

import (
	"strconv"
	"time"
)

// EventType names an event; it is also the SSE "event:" field.
type EventType string

// The event types. Auction events go to every watcher of the auction;
// personal events (outbid, won, suspended, reinstated, bid_cancelled, the
// watchlist's notices) only to one user.
const (
	EventSnapshot  EventType = "snapshot" // made by realtime nodes on connect, never stored
	EventOpened    EventType = "opened"
	EventPrice     EventType = "price"
	EventExtended  EventType = "extended"
	EventClosed    EventType = "closed"
	EventCancelled EventType = "cancelled"
	EventOutbid    EventType = "outbid"
	EventWon       EventType = "won"
	EventSuspended EventType = "suspended"
	// EventReinstated tells a user their suspension was lifted.
	EventReinstated EventType = "reinstated"
	// EventBidCancelled tells a bidder an admin struck one of their bids;
	// Reason says why, BidID and BidAmount which bid.
	EventBidCancelled EventType = "bid_cancelled"
	EventStats        EventType = "stats" // made by realtime nodes, never stored
	// EventInvoice tells a buyer or seller that an invoice of theirs was
	// issued or changed state (Invoice says which and how).
	EventInvoice EventType = "invoice"
	// EventOffer tells a bidder or seller that an offer after close was
	// made, accepted, declined or expired (Offer says which).
	EventOffer EventType = "offer"

	// Watchlist notices, to each watcher of a lot: ending_soon when the
	// end comes within a reminder threshold (ThresholdSeconds), then
	// watch_extended the first time soft close moves the end, and
	// watch_closed with the result when it closes or is cancelled.
	EventEndingSoon    EventType = "ending_soon"
	EventWatchExtended EventType = "watch_extended"
	EventWatchClosed   EventType = "watch_closed"
	// EventWatchers tells a seller how many people now watch one of their
	// lots (Watchers); the count is theirs and the admins' to see only.
	EventWatchers EventType = "watchers"
)

// Personal reports whether events of this type belong to one user.
func (t EventType) Personal() bool {
	switch t {
	case EventOutbid, EventWon, EventSuspended, EventReinstated, EventBidCancelled, EventInvoice, EventOffer,
		EventEndingSoon, EventWatchExtended, EventWatchClosed, EventWatchers:
		return true
	}
	return false
}

// ChannelKind says which log an event belongs to.
type ChannelKind string

// Channel kinds: every auction has its own log ordered by the auction's Seq,
// and every user has one for personal events, ordered by the user's seq.
const (
	ChannelAuction ChannelKind = "auction"
	ChannelUser    ChannelKind = "user"
)

// Channel identifies one ordered event log.
type Channel struct {
	Kind ChannelKind
	ID   int64
}

// Subject is the NATS subject the channel's events are published on.
func (c Channel) Subject() string {
	return SubjectPrefix + "." + string(c.Kind) + "." + strconv.FormatInt(c.ID, 10)
}

// NATS names. All events live in one JetStream stream.
const (
	SubjectPrefix      = "gavel"
	StreamName         = "GAVEL"
	StreamSubjects     = "gavel.>"
	AuctionSubjectsAll = "gavel.auction.*"
	// ControlSubjects carry events every realtime node must see whatever
	// its watchers, such as a suspension that closes a user's streams.
	ControlSubjects        = "gavel.control.>"
	ControlSuspendedPrefix = "gavel.control.suspended."
	// ControlLogoutSubject carries a SessionEnded: a logout, on any node.
	ControlLogoutSubject = "gavel.control.logout"
	// StatsSubjectPrefix + node name: each realtime node's periodic stats,
	// on core NATS only (outside the stream: they are not worth keeping).
	StatsSubjectPrefix = "gavelnode.stats."
	// StatsWantSubject carries the name of a realtime node that has admin
	// streams, every stats interval. Nodes publish stats only while some
	// node asks, so a cluster that nobody is watching sends none.
	StatsWantSubject = "gavelnode.statswant"
	// WatchersSubject asks every realtime node how many streams watch some
	// auctions (a WatchersRequest); each answers with a WatchersReply.
	WatchersSubject = "gavelnode.watchers"
)

// Subject is the NATS subject the relay publishes e on.
func (e Event) Subject() string {
	if e.Type == EventSuspended {
		return ControlSuspendedPrefix + strconv.FormatInt(e.UserID, 10)
	}
	return e.Channel().Subject()
}

// AuctionChannel is the channel of one auction.
func AuctionChannel(id int64) Channel { return Channel{Kind: ChannelAuction, ID: id} }

// UserChannel is the personal channel of one user.
func UserChannel(id int64) Channel { return Channel{Kind: ChannelUser, ID: id} }

// Event is one committed change, as stored in the outbox, published on NATS
// and sent to browsers (data: is this struct as one line of JSON). Every
// event carries the auction's full public state, so a client that receives
// any event can redraw without another request.
type Event struct {
	// ID is unique and deterministic ("a<auction>-<seq>" or
	// "u<user>-<seq>"); it is the Nats-Msg-Id, so a re-published event is
	// dropped by JetStream's de-duplication.
	ID   string    `json:"id"`
	Type EventType `json:"type"`

	AuctionID int64 `json:"auction_id"`
	Seq       int64 `json:"seq"` // the auction's seq after this change

	// Personal events only.
	UserID  int64 `json:"user_id,omitempty"`
	UserSeq int64 `json:"user_seq,omitempty"`

	Title        string    `json:"title,omitempty"`
	Currency     string    `json:"currency"`
	Status       Status    `json:"status"`
	StartPrice   int64     `json:"start_price"`
	CurrentPrice int64     `json:"current_price"`
	MinNextBid   int64     `json:"min_next_bid"`
	BidCount     int       `json:"bid_count"`
	Leader       string    `json:"leader,omitempty"` // alias
	ReserveMet   bool      `json:"reserve_met"`
	HasReserve   bool      `json:"has_reserve"`
	BuyNowPrice  int64     `json:"buy_now_price,omitempty"` // only while buy-it-now is available
	EndsAt       time.Time `json:"ends_at"`
	SellerID     int64     `json:"seller_id,omitempty"`

	// The bid that caused a price event, for live bid histories.
	BidID     int64  `json:"bid_id,omitempty"`
	BidAmount int64  `json:"bid_amount,omitempty"`
	Bidder    string `json:"bidder,omitempty"` // alias; "" for a leader's raise, which is no public line
	// Auto are the automatic bids the price event's bid caused, in order:
	// the history shows them after the bid, marked automatic.
	Auto []AutoBid `json:"auto,omitempty"`

	PreviousEndsAt *time.Time `json:"previous_ends_at,omitempty"` // extended
	Winner         string     `json:"winner,omitempty"`           // closed: alias; "" when unsold
	WinnerID       int64      `json:"winner_id,omitempty"`        // won (personal) only
	Reason         string     `json:"reason,omitempty"`           // cancelled, suspended, reinstated, bid_cancelled

	// Invoice and Offer describe the invoice or offer of an invoice or
	// offer event.
	Invoice *InvoiceNote `json:"invoice,omitempty"`
	Offer   *OfferNote   `json:"offer,omitempty"`

	// ThresholdSeconds is the reminder threshold an ending_soon event
	// crossed (900 for "15 minutes before the end").
	ThresholdSeconds int `json:"threshold_seconds,omitempty"`
	// Watchers is the number of people watching the lot (watchers only).
	Watchers *int `json:"watchers,omitempty"`

	// CommittedAt is when the change committed (server clock, UTC); the
	// realtime node measures delivery lag from it.
	CommittedAt time.Time `json:"committed_at"`
	// ServerTime is stamped by the realtime node when it encodes the event,
	// so a client computes its countdown as ends_at - server_time.
	ServerTime time.Time `json:"server_time,omitzero"`
	// Reset marks a snapshot sent because the client's Last-Event-ID was
	// older than the retained log.
	Reset bool `json:"reset,omitempty"`
}

// Channel returns the log the event belongs to.
func (e Event) Channel() Channel {
	if e.Type.Personal() {
		return UserChannel(e.UserID)
	}
	return AuctionChannel(e.AuctionID)
}

// ChannelSeq returns the event's position in its channel.
func (e Event) ChannelSeq() int64 {
	if e.Type.Personal() {
		return e.UserSeq
	}
	return e.Seq
}

// MakeID returns the deterministic id of an event at a channel position.
func MakeID(c Channel, seq int64) string {
	return string(c.Kind[0]) + strconv.FormatInt(c.ID, 10) + "-" + strconv.FormatInt(seq, 10)
}

// StateEvent returns an event of type t carrying a's public state at a.Seq.
func StateEvent(t EventType, a Auction, at time.Time) Event {
	e := Event{
		Type:         t,
		AuctionID:    a.ID,
		Seq:          a.Seq,
		Title:        a.Title,
		Currency:     a.Currency,
		Status:       a.Status,
		StartPrice:   a.StartPrice,
		CurrentPrice: a.CurrentPrice,
		MinNextBid:   MinNextBid(a),
		BidCount:     a.BidCount,
		Leader:       a.LeaderAlias,
		ReserveMet:   ReserveMet(a),
		HasReserve:   a.ReservePrice > 0,
		EndsAt:       a.EndsAt.UTC(),
		SellerID:     a.SellerID,
		CommittedAt:  at.UTC(),
	}
	if BuyNowAvailable(a) {
		e.BuyNowPrice = a.BuyNowPrice
	}
	if t == EventPrice || t == EventExtended {
		// The most frequent events skip the title: every client got it in
		// its snapshot, and a storm writes and sends these by the thousand.
		e.Title = ""
	}
	if !t.Personal() {
		e.ID = MakeID(AuctionChannel(a.ID), a.Seq)
	}
	return e
}

// InvoiceNote is an invoice as an invoice event carries it.
type InvoiceNote struct {
	ID        int64         `json:"id"`
	Kind      InvoiceKind   `json:"kind"`
	Reference string        `json:"reference"`
	Status    InvoiceStatus `json:"status"`
	Total     int64         `json:"total"`
	BuyerID   int64         `json:"buyer_id"`
	SellerID  int64         `json:"seller_id"`
	DueAt     time.Time     `json:"due_at"`
	// Change is what happened: issued, checkout, paid, shipped,
	// collected, cancelled or overdue.
	Change string `json:"change"`
}

// OfferNote is an offer as an offer event carries it.
type OfferNote struct {
	ID        int64       `json:"id"`
	Kind      OfferKind   `json:"kind"`
	Status    OfferStatus `json:"status"`
	Amount    int64       `json:"amount"`
	BuyerID   int64       `json:"buyer_id"`
	SellerID  int64       `json:"seller_id"`
	ExpiresAt time.Time   `json:"expires_at"`
	InvoiceID int64       `json:"invoice_id,omitempty"`
}
