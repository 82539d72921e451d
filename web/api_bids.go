package web

import (
	"strconv"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

const (
	// maxIdempotencyKey bounds the Idempotency-Key header (characters).
	maxIdempotencyKey = 200
	defaultBidsLimit  = 100
	maxBidsLimit      = 500
	idempotencyHeader = "Idempotency-Key"
)

type bidBody struct {
	Amount    money `json:"amount"`
	MaxAmount money `json:"max_amount"`
}

// emptyBody accepts only an empty object (or no body at all).
type emptyBody struct{}

// idempotencyKey reads the optional Idempotency-Key header: at most 200
// printable ASCII characters.
func idempotencyKey(c *fiber.Ctx) (string, error) {
	k := c.Get(idempotencyHeader)
	if k == "" {
		return "", nil
	}
	bad := len(k) > maxIdempotencyKey
	for i := 0; i < len(k) && !bad; i++ {
		bad = k[i] < 0x20 || k[i] > 0x7e
	}
	if bad {
		return "", domain.Invalid(idempotencyHeader,
			"Idempotency-Key must be 1 to "+strconv.Itoa(maxIdempotencyKey)+" printable ASCII characters.")
	}
	return k, nil
}

// bidder returns the logged-in user allowed to bid now: not suspended, and
// within the per-user bid rate.
func (s *Server) bidder(c *fiber.Ctx) (domain.User, error) {
	u, err := s.requireActor(c)
	if err != nil {
		return u, err
	}
	if ok, retry := s.bidLimit.allow(strconv.FormatInt(u.ID, 10)); !ok {
		return domain.User{}, rateLimited("You are bidding too fast. Please wait a moment.", retry)
	}
	return u, nil
}

// handleBidCreate places a bid (with an optional proxy maximum). The receipt
// is sent once the bid is committed.
func (s *Server) handleBidCreate(c *fiber.Ctx) error {
	u, err := s.bidder(c)
	if err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	var b bidBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if b.Amount == 0 {
		return domain.Invalid("amount", `"amount" is required: a whole number of minor units (cents) greater than zero.`)
	}
	r, err := s.deps.Bidder.PlaceBid(c.UserContext(), u, id, domain.BidInput{
		Amount:         int64(b.Amount),
		MaxAmount:      int64(b.MaxAmount),
		IdempotencyKey: key,
	})
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusCreated, r)
}

// handleBuyNow buys the item at its buy-it-now price.
func (s *Server) handleBuyNow(c *fiber.Ctx) error {
	u, err := s.bidder(c)
	if err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	if err := decodeOptionalJSON(c, &emptyBody{}); err != nil {
		return err
	}
	r, err := s.deps.Bidder.PlaceBid(c.UserContext(), u, id, domain.BidInput{BuyNow: true, IdempotencyKey: key})
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusCreated, r)
}

// bidList is the bid history response.
type bidList struct {
	Bids []domain.BidView `json:"bids"`
}

// handleBidList returns an auction's bid history, newest first as the
// reader orders it, as the viewer may see it (domain.HistoryFor): aliases
// and automatic bids for everyone, a leader's raises for that bidder and
// admins, identities for the seller and admins.
func (s *Server) handleBidList(c *fiber.Ctx) error {
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	limit, err := queryLimit(c, defaultBidsLimit, maxBidsLimit)
	if err != nil {
		return err
	}
	viewer, err := s.viewer(c)
	if err != nil {
		return err
	}
	// The history of a missing auction is a 404, not an empty list.
	a, err := s.deps.Reader.Auction(c.UserContext(), id)
	if err != nil {
		return err
	}
	bids, err := s.deps.Reader.Bids(c.UserContext(), id, limit)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, bidList{Bids: domain.HistoryFor(bids, a, viewer)})
}
