package domain

import (
	"strconv"
	"strings"
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

	// A lot's clock stopped or restarted with its sale (sales #14).
	EventPaused  EventType = "paused"
	EventResumed EventType = "resumed"

	// Sale-level events (sales #14), on the sale's own log. The ones that
	// change many lots at once (opened, paused, resumed, extended,
	// cancelled) stand, for a sale's watchers, for the lots' own events.
	EventSaleScheduled EventType = "sale_scheduled"
	EventSaleUpdated   EventType = "sale_updated"
	EventSaleOpened    EventType = "sale_opened"
	EventSaleClosing   EventType = "sale_closing"
	EventSaleClosed    EventType = "sale_closed"
	EventSaleCancelled EventType = "sale_cancelled"
	EventSalePaused    EventType = "sale_paused"
	EventSaleResumed   EventType = "sale_resumed"
	EventSaleExtended  EventType = "sale_extended"
	EventSaleSnapshot  EventType = "sale_snapshot" // made by realtime nodes, never stored
	// EventSaleWatchers counts a sale's live catalogue streams over the
	// cluster, for its seller's dashboard; made by realtime nodes, never
	// stored.
	EventSaleWatchers EventType = "sale_watchers"
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

// SaleLevel reports whether events of this type belong to a sale's own log
// rather than to one auction's.
func (t EventType) SaleLevel() bool {
	return strings.HasPrefix(string(t), "sale_")
}

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
	// ChannelSale is a sale's log: its lots' events and its own, ordered by
	// the sale's seq (Event.SaleSeq), so one cursor resumes them all.
	ChannelSale ChannelKind = "sale"
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

// Subject is the NATS subject the relay publishes e on. A lot's event in
// its sale's log goes on gavel.sale.<sale>.auction.<lot>, so that a
// realtime node follows a whole sale with one subscription
// (SaleSubjects) and a lot with the same two as any auction
// (AuctionSubjects); the lot events a sale-level event stands for
// (Covered, no SaleSeq) stay on gavel.auction.<lot>, out of the sale's way.
func (e Event) Subject() string {
	switch {
	case e.Type == EventSuspended:
		return ControlSuspendedPrefix + strconv.FormatInt(e.UserID, 10)
	case e.Type.SaleLevel():
		return SaleSubjectPrefix + strconv.FormatInt(e.SaleID, 10) + ".state"
	case e.SaleID != 0 && e.SaleSeq != 0 && !e.Type.Personal():
		return SaleSubjectPrefix + strconv.FormatInt(e.SaleID, 10) + ".auction." + strconv.FormatInt(e.AuctionID, 10)
	}
	return e.Channel().Subject()
}

// SaleSubjectPrefix starts the subjects of a sale's log: its own events
// on gavel.sale.<sale>.state, its lots' on gavel.sale.<sale>.auction.<lot>.
const SaleSubjectPrefix = "gavel.sale."

// LotSubjectsAll matches every lot event in a sale's log; with
// AuctionSubjectsAll it covers every auction's public events.
const LotSubjectsAll = "gavel.sale.*.auction.*"

// AuctionSubjects are the subjects an auction's public events may be
// published on: its own, and, for a lot, its sale's.
func AuctionSubjects(id int64) []string {
	n := strconv.FormatInt(id, 10)
	return []string{SubjectPrefix + ".auction." + n, SaleSubjectPrefix + "*.auction." + n}
}

// SaleSubjects is the one subject that carries a sale's whole log.
func SaleSubjects(id int64) string {
	return SaleSubjectPrefix + strconv.FormatInt(id, 10) + ".>"
}

// SeqIn returns e's position in a log of kind k. A lot's event belongs to
// two logs: its auction's (Seq) and its sale's (SaleSeq).
func (e Event) SeqIn(k ChannelKind) int64 {
	if k == ChannelSale {
		return e.SaleSeq
	}
	return e.ChannelSeq()
}

// SaleChannel is the log of one sale.
func SaleChannel(id int64) Channel { return Channel{Kind: ChannelSale, ID: id} }

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

	// Sales. A lot's events carry its sale and lot number; SaleSeq is the
	// event's position in the sale's log, 0 for a lot event that a
	// sale-level event stands for (see Covered).
	SaleID       int64      `json:"sale_id,omitempty"`
	SaleSeq      int64      `json:"sale_seq,omitempty"`
	LotNumber    int        `json:"lot_number,omitempty"`
	LowEstimate  int64      `json:"low_estimate,omitempty"`  // sale snapshots
	HighEstimate int64      `json:"high_estimate,omitempty"` // sale snapshots
	PausedAt     *time.Time `json:"paused_at,omitempty"`     // the lot's sale is paused
	// Sale-level events: the sale's state after the change, and what
	// moved. sale_extended moves every unclosed lot numbered above
	// AfterLot by ShiftMS, except the Capped ones, which reached their
	// limit and end where listed; sale_resumed moves every unclosed lot
	// by ShiftMS.
	SaleStatus SaleStatus `json:"sale_status,omitempty"`
	ShiftMS    int64      `json:"shift_ms,omitempty"`
	AfterLot   int        `json:"after_lot,omitempty"`
	Capped     []LotEnd   `json:"capped,omitempty"`
	// Sale snapshots (made by realtime nodes): the sale and every lot.
	Sale *SaleView `json:"sale,omitempty"`
	Lots []Event   `json:"lots,omitempty"`

	// Covered marks a lot event that one sale-level event stands for in
	// the sale's log (the lots a cascade, pause, resume or opening moves
	// all at once), so a sale's watchers get one event instead of
	// thousands. It is not sent: such events have no SaleSeq.
	Covered bool `json:"-"`
}

// LotEnd is one lot's end time, in a sale_extended event.
type LotEnd struct {
	AuctionID int64     `json:"auction_id"`
	EndsAt    time.Time `json:"ends_at"`
}

// InSaleLog reports whether e takes a position in its sale's log.
func (e Event) InSaleLog() bool {
	return e.SaleID != 0 && !e.Type.Personal() && !e.Covered
}

// Channel returns the log the event belongs to.
func (e Event) Channel() Channel {
	switch {
	case e.Type.Personal():
		return UserChannel(e.UserID)
	case e.Type.SaleLevel():
		return SaleChannel(e.SaleID)
	}
	return AuctionChannel(e.AuctionID)
}

// ChannelSeq returns the event's position in its channel.
func (e Event) ChannelSeq() int64 {
	switch {
	case e.Type.Personal():
		return e.UserSeq
	case e.Type.SaleLevel():
		return e.SaleSeq
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
		SaleID:       a.SaleID,
		LotNumber:    a.LotNumber,
	}
	if !a.PausedAt.IsZero() {
		p := a.PausedAt.UTC()
		e.PausedAt = &p
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
