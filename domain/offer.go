package domain

import "time"

// OfferKind says why a lot is offered after its close.
type OfferKind string

// The offer kinds: the reserve was just missed, so the top bidder is
// offered the lot at their maximum; or the winner did not pay, so the
// next bidder is offered it at their own highest bid.
const (
	OfferReserve      OfferKind = "reserve"
	OfferSecondChance OfferKind = "second_chance"
)

// OfferStatus is an offer's state: open until accepted, declined or
// expired, each final.
type OfferStatus string

// The offer states.
const (
	OfferOpen     OfferStatus = "open"
	OfferAccepted OfferStatus = "accepted"
	OfferDeclined OfferStatus = "declined"
	OfferExpired  OfferStatus = "expired"
)

// Offer is a seller's offer of a closed lot to one bidder at a price.
type Offer struct {
	ID        int64       `json:"id"`
	AuctionID int64       `json:"auction_id"`
	Title     string      `json:"title"`
	SellerID  int64       `json:"seller_id"`
	BuyerID   int64       `json:"buyer_id"`
	Kind      OfferKind   `json:"kind"`
	Amount    int64       `json:"amount"`
	Currency  string      `json:"currency"`
	Estimate  FeeEstimate `json:"estimate"`
	Status    OfferStatus `json:"status"`
	ExpiresAt time.Time   `json:"expires_at"`
	CreatedAt time.Time   `json:"created_at"`
	DecidedAt *time.Time  `json:"decided_at,omitempty"`
	InvoiceID int64       `json:"invoice_id,omitempty"`
}

// Offer errors people can act on.
var (
	ErrOfferNotFound = &Error{Code: CodeNotFound, Message: "No such offer."}
	ErrOfferExpired  = &Error{Code: CodeGone, Message: "This offer has expired."}
	ErrOfferDecided  = &Error{Code: CodeConflict, Message: "This offer was already answered."}
	ErrNotYourOffer  = &Error{Code: CodeForbidden, Message: "This offer was made to another bidder."}
)

// CheckAnswer says whether buyer may accept or decline o at server time
// now. An offer is open strictly before its expiry.
func CheckAnswer(o Offer, buyerID int64, now time.Time) error {
	switch {
	case o.BuyerID != buyerID:
		return ErrNotYourOffer
	case o.Status == OfferExpired:
		return ErrOfferExpired
	case o.Status != OfferOpen:
		return ErrOfferDecided
	case !now.Before(o.ExpiresAt):
		return ErrOfferExpired
	}
	return nil
}

// OfferTTL validates how long an offer stays open; 0 means the default.
func OfferTTL(hours int) (time.Duration, error) {
	if hours == 0 {
		return DefaultOfferTTL, nil
	}
	d := time.Duration(hours) * time.Hour
	if d < MinOfferTTL || d > MaxOfferTTL {
		return 0, Invalid("expires_in_hours", "An offer stays open from 1 to 336 hours (14 days).")
	}
	return d, nil
}

// OfferCandidate is a bidder who might be offered a closed lot: their
// highest maximum, and when they first reached it.
type OfferCandidate struct {
	BidderID int64
	Highest  int64
	At       time.Time
}

// NextOffer picks whom to offer a closed lot to, and at what price, or
// says why nobody can be offered it. a is the closed auction; bidders are
// every bidder with bids that count, best first (highest maximum, then the
// earlier); excluded are the bidders who already won it, or were offered
// it, and did not buy. active says the lot is on an invoice that is not
// cancelled.
func NextOffer(a Auction, bidders []OfferCandidate, excluded map[int64]bool, active bool) (OfferKind, OfferCandidate, error) {
	switch {
	case a.Status != StatusClosed:
		return "", OfferCandidate{}, Errorf(CodeConflict, "Offers after close are made once the auction has closed.")
	case active:
		return "", OfferCandidate{}, Errorf(CodeConflict, "This lot is sold and its invoice stands. To offer it to the next bidder, cancel the invoice with a credit note first.")
	}
	for _, c := range bidders {
		if excluded[c.BidderID] || c.BidderID == a.SellerID {
			continue
		}
		kind := OfferSecondChance
		if c.BidderID == a.LeaderID && !ReserveMet(a) {
			kind = OfferReserve
		}
		return kind, c, nil
	}
	return "", OfferCandidate{}, Errorf(CodeConflict, "There is no other bidder to offer this lot to.")
}
