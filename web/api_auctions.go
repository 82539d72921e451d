package web

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Listing and input limits.
const (
	defaultListLimit = 50
	maxListLimit     = 100
)

// auctionBody is the JSON a seller sends to create or edit an auction.
// Times are strings so that a bad one is reported against its field.
type auctionBody struct {
	Title            string  `json:"title"`
	Description      string  `json:"description"`
	Currency         string  `json:"currency"`
	StartPrice       money   `json:"start_price"`
	ReservePrice     money   `json:"reserve_price"`
	BuyNowPrice      money   `json:"buy_now_price"`
	Increment        money   `json:"increment"`
	StartsAt         *string `json:"starts_at"`
	EndsAt           string  `json:"ends_at"`
	SoftCloseSeconds *int    `json:"soft_close_seconds"`
	// The lot's fees (buyers_premium, tax, shipping): sending none takes
	// the seller's defaults on create and keeps the lot's fees on edit.
	feesBody
	// Category is a slug or an id; absent or null keeps it (none on a
	// new listing), "" removes it.
	Category categoryRef `json:"category"`
}

// input converts the body to the domain's input; validation of the values
// themselves is the domain's (domain.ValidateAuctionInput, via the service).
func (b auctionBody) input() (domain.AuctionInput, error) {
	in := domain.AuctionInput{
		Title:            b.Title,
		Description:      b.Description,
		Currency:         strings.ToUpper(strings.TrimSpace(b.Currency)),
		StartPrice:       int64(b.StartPrice),
		ReservePrice:     int64(b.ReservePrice),
		BuyNowPrice:      int64(b.BuyNowPrice),
		Increment:        int64(b.Increment),
		SoftCloseSeconds: b.SoftCloseSeconds,
		Fees:             b.fees(),
	}
	if b.StartsAt != nil && strings.TrimSpace(*b.StartsAt) != "" {
		t, err := parseTime("starts_at", *b.StartsAt)
		if err != nil {
			return in, err
		}
		in.StartsAt = &t
	}
	if strings.TrimSpace(b.EndsAt) == "" {
		return in, domain.Invalid("ends_at", "Enter an end time.")
	}
	t, err := parseTime("ends_at", b.EndsAt)
	if err != nil {
		return in, err
	}
	in.EndsAt = t
	return in, nil
}

type reasonBody struct {
	Reason string `json:"reason"`
}

// bodyReason reads the optional {"reason": "…"} body of a cancel or
// suspend request.
func bodyReason(c *fiber.Ctx) (string, error) {
	var b reasonBody
	if err := decodeOptionalJSON(c, &b); err != nil {
		return "", err
	}
	return b.reason()
}

// reason validates an optional free-text reason.
func (b reasonBody) reason() (string, error) {
	r := strings.TrimSpace(b.Reason)
	if err := domain.CheckText(r, domain.ReasonText); err != nil {
		return "", err
	}
	return r, nil
}

// parseID parses a positive decimal id; signs, spaces and zero are refused.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 18 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// auctionID reads the :id route parameter. A malformed id names no auction,
// so it is a 404 like an id that does not exist.
func auctionID(c *fiber.Ctx) (int64, error) {
	id, ok := parseID(c.Params("id"))
	if !ok {
		return 0, domain.ErrAuctionNotFound
	}
	return id, nil
}

// bidIDParam reads the :bid route parameter; like auctionID, a malformed
// id is a 404.
func bidIDParam(c *fiber.Ctx) (int64, error) {
	id, ok := parseID(c.Params("bid"))
	if !ok {
		return 0, domain.ErrBidNotFound
	}
	return id, nil
}

// queryLimit reads the limit query parameter: 1..max, def when absent.
func queryLimit(c *fiber.Ctx, def, max int) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, domain.Invalid("limit", "limit must be a whole number from 1 to "+strconv.Itoa(max)+".")
	}
	return n, nil
}

// handleAuctionCreate lists a new auction for the logged-in seller.
func (s *Server) handleAuctionCreate(c *fiber.Ctx) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	var b auctionBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	if in.CategoryID, err = s.bodyCategory(c, b.Category); err != nil {
		return err
	}
	a, err := s.deps.Bidder.CreateAuction(c.UserContext(), u, in)
	if err != nil {
		return err
	}
	c.Location("/api/v1/auctions/" + strconv.FormatInt(a.ID, 10))
	return s.writeAuction(c, fiber.StatusCreated, u, a)
}

// handleAuctionUpdate edits an auction; the service allows it only to the
// seller before the first bid.
func (s *Server) handleAuctionUpdate(c *fiber.Ctx) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	var b auctionBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	in, err := b.input()
	if err != nil {
		return err
	}
	if in.CategoryID, err = s.bodyCategory(c, b.Category); err != nil {
		return err
	}
	a, err := s.deps.Bidder.UpdateAuction(c.UserContext(), u, id, in)
	if err != nil {
		return err
	}
	return s.writeAuction(c, fiber.StatusOK, u, a)
}

// handleAuctionCancel cancels an auction; the service decides whether the
// actor may (the seller before the first bid, an admin at any time).
func (s *Server) handleAuctionCancel(c *fiber.Ctx) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	reason, err := bodyReason(c)
	if err != nil {
		return err
	}
	a, err := s.deps.Bidder.CancelAuction(c.UserContext(), u, id, reason)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, domain.View(a, u, s.now()))
}

// handleAuctionGet returns one auction as the viewer (perhaps anonymous)
// may see it.
func (s *Server) handleAuctionGet(c *fiber.Ctx) error {
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	viewer, err := s.viewer(c)
	if err != nil {
		return err
	}
	a, err := s.deps.Reader.Auction(c.UserContext(), id)
	if err != nil {
		return err
	}
	if hiddenDraft(a, viewer) {
		return domain.ErrAuctionNotFound
	}
	return s.writeAuction(c, fiber.StatusOK, viewer, a)
}

// writeAuction answers with one auction as viewer sees it, with its photos.
func (s *Server) writeAuction(c *fiber.Ctx, status int, viewer domain.User, a domain.Auction) error {
	res, err := s.auctionResource(c, a, viewer)
	if err != nil {
		return err
	}
	return writeJSON(c, status, res)
}

// hiddenDraft reports whether a is a lot of an unpublished sale that
// viewer may not see: only its seller and admins may.
func hiddenDraft(a domain.Auction, viewer domain.User) bool {
	return a.Status == domain.StatusDraft && (viewer.ID == 0 || (!viewer.Admin && viewer.ID != a.SellerID))
}

// auctionList is the listing response.
type auctionList struct {
	Auctions   []auctionItem `json:"auctions"`
	ServerTime time.Time     `json:"server_time"`
}

// handleAuctionList lists auctions by status, seller, bidder and title.
func (s *Server) handleAuctionList(c *fiber.Ctx) error {
	viewer, err := s.viewer(c)
	if err != nil {
		return err
	}
	f, err := s.auctionFilter(c, viewer)
	if err != nil {
		return err
	}
	list, err := s.deps.Reader.Auctions(c.UserContext(), f)
	if err != nil {
		return err
	}
	return s.writeAuctionList(c, viewer, list)
}

// writeAuctionList answers with list as viewer sees it.
func (s *Server) writeAuctionList(c *fiber.Ctx, viewer domain.User, list []domain.Auction) error {
	now := s.now()
	views, err := s.auctionViews(c.UserContext(), viewer, list, now)
	if err != nil {
		return err
	}
	items, err := s.auctionItems(c.UserContext(), views)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, auctionList{Auctions: items, ServerTime: now})
}

// auctionFilter reads the listing's query parameters.
func (s *Server) auctionFilter(c *fiber.Ctx, viewer domain.User) (domain.AuctionFilter, error) {
	var f domain.AuctionFilter
	var err error
	if f.Status, err = parseStatuses(c.Query("status")); err != nil {
		return f, err
	}
	if f.SellerID, err = userParam(c, "seller", viewer, true); err != nil {
		return f, err
	}
	// Who bid where is private: only "me" is accepted for bidder.
	if f.BidderID, err = userParam(c, "bidder", viewer, false); err != nil {
		return f, err
	}
	q := strings.TrimSpace(c.Query("q"))
	if err := domain.CheckText(q, domain.SearchText); err != nil {
		return f, err
	}
	f.Query = q
	if f.Limit, err = queryLimit(c, defaultListLimit, maxListLimit); err != nil {
		return f, err
	}
	return f, nil
}

// parseStatuses reads a comma-separated list of statuses, without
// repeats; "" is none.
func parseStatuses(v string) ([]domain.Status, error) {
	if v == "" {
		return nil, nil
	}
	var out []domain.Status
	for _, part := range strings.Split(v, ",") {
		st := domain.Status(strings.TrimSpace(part))
		switch st {
		case domain.StatusScheduled, domain.StatusOpen, domain.StatusClosed, domain.StatusCancelled:
		default:
			return nil, domain.Invalid("status", "status must be a comma-separated list of scheduled, open, closed and cancelled.")
		}
		if !slices.Contains(out, st) {
			out = append(out, st)
		}
	}
	return out, nil
}

// userParam reads a user filter: "me" (the viewer; 401 when anonymous) or,
// if byID, a user id.
func userParam(c *fiber.Ctx, name string, viewer domain.User, byID bool) (int64, error) {
	v := c.Query(name)
	switch {
	case v == "":
		return 0, nil
	case v == "me":
		if viewer.ID == 0 {
			return 0, domain.ErrUnauthorized
		}
		return viewer.ID, nil
	}
	id, ok := parseID(v)
	if !byID {
		return 0, domain.Invalid(name, name+` must be "me".`)
	}
	if !ok {
		return 0, domain.Invalid(name, name+` must be "me" or a user id.`)
	}
	return id, nil
}

// viewer returns the logged-in user or the zero (anonymous) user. A failing
// user lookup is an error rather than a silent downgrade to anonymous.
func (s *Server) viewer(c *fiber.Ctx) (domain.User, error) {
	l := s.lookupUser(c)
	return l.user, l.err
}
