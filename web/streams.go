package web

import (
	"net"
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

const (
	// maxStreamIDs bounds the auctions one multi-auction stream may watch.
	maxStreamIDs = 100
	// maxMyListings bounds the seller's own listings on /stream/me.
	maxMyListings = 200
	// maxLastEventID bounds the resume cursor: one "auction:seq" pair per
	// watched auction plus the user's own.
	maxLastEventID = 4096
)

// handleAuctionStream streams one auction's public events, to a user or a
// guest session.
func (s *Server) handleAuctionStream(c *fiber.Ctx) error {
	u, err := s.publicStreamViewer(c)
	if err != nil {
		return err
	}
	id, ok := parseID(c.Params("id"))
	if !ok {
		return domain.ErrAuctionNotFound
	}
	return s.openStream(c, domain.StreamSpec{AuctionIDs: []int64{id}}, u)
}

// handleAuctionsStream streams several auctions (a listing page):
// ?ids=1,2,3, at most 100 distinct positive ids.
func (s *Server) handleAuctionsStream(c *fiber.Ctx) error {
	u, err := s.publicStreamViewer(c)
	if err != nil {
		return err
	}
	ids, err := parseStreamIDs(c.Query("ids"))
	if err != nil {
		return err
	}
	return s.openStream(c, domain.StreamSpec{AuctionIDs: ids}, u)
}

// handleMeStream streams the user's personal events (outbid, won) and the
// public events of their own scheduled and open listings.
func (s *Server) handleMeStream(c *fiber.Ctx) error {
	u, err := s.streamUser(c)
	if err != nil {
		return err
	}
	spec := domain.StreamSpec{Personal: true}
	if s.deps.Reader != nil {
		mine, err := s.deps.Reader.Auctions(c.UserContext(), domain.AuctionFilter{
			SellerID: u.ID,
			Status:   []domain.Status{domain.StatusScheduled, domain.StatusOpen},
			Limit:    maxMyListings,
			NoLots:   true, // a sale's lots are on its dashboard's stream
		})
		if err != nil {
			return err
		}
		for _, a := range mine {
			spec.AuctionIDs = append(spec.AuctionIDs, a.ID)
		}
	}
	return s.openStream(c, spec, u)
}

// handleAdminStream streams every auction's events and node stats to an
// administrator's monitor.
func (s *Server) handleAdminStream(c *fiber.Ctx) error {
	u, err := s.streamUser(c)
	if err != nil {
		return err
	}
	if !u.Admin {
		return domain.ErrNotAdmin
	}
	return s.openStream(c, domain.StreamSpec{All: true}, u)
}

// streamUser requires a logged-in, unsuspended user: a suspension closes
// the user's streams, and a 403 stops an EventSource from reconnecting.
func (s *Server) streamUser(c *fiber.Ctx) (domain.User, error) {
	return s.requireActor(c)
}

// parseStreamIDs parses "1,2,3": positive ids, duplicates dropped in order.
func parseStreamIDs(v string) ([]int64, error) {
	bad := func(msg string) error { return domain.Invalid("ids", msg) }
	if strings.TrimSpace(v) == "" {
		return nil, bad("ids must list 1 to 100 auction ids, such as ids=1,2,3.")
	}
	parts := strings.Split(v, ",")
	if len(parts) > maxStreamIDs {
		return nil, bad("ids may list at most " + strconv.Itoa(maxStreamIDs) + " auctions.")
	}
	ids := make([]int64, 0, len(parts))
	seen := make(map[int64]bool, len(parts))
	for _, p := range parts {
		id, ok := parseID(strings.TrimSpace(p))
		if !ok {
			return nil, bad("ids must be positive whole numbers separated by commas, got " + strconv.Quote(truncate(p, 20)) + ".")
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// lastEventID is the client's resume cursor: the Last-Event-ID header an
// EventSource sends on reconnect, else the lastEventId query parameter (for
// a page that reconnects with a cursor it kept).
func lastEventID(c *fiber.Ctx) (string, error) {
	v := c.Get("Last-Event-ID")
	if v == "" {
		v = c.Query("lastEventId")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return "", domain.Invalid("lastEventId", "The event id is not valid.")
		}
	}
	if len(v) > maxLastEventID {
		return "", domain.Invalid("lastEventId", "The event id is too long.")
	}
	return v, nil
}

// openStream completes spec from the user and the request, asks Streams to
// admit it, and hands the connection over. After the handler returns,
// fasthttp writes no response and calls the hijack func with the raw
// connection; serve then owns it (its head, frames, deadlines and close).
func (s *Server) openStream(c *fiber.Ctx, spec domain.StreamSpec, u domain.User) error {
	if c.Method() == fiber.MethodHead {
		// Never hand a HEAD request a stream body.
		c.Set(fiber.HeaderContentType, "text/event-stream")
		return c.SendStatus(fiber.StatusOK)
	}
	last, err := lastEventID(c)
	if err != nil {
		return err
	}
	spec.UserID, spec.Admin, spec.LastEventID = u.ID, u.Admin, last
	if sessionLoaded(c) {
		spec.Session = domain.SessionHash(s.deps.Sessions.Token(c.UserContext()))
	}
	serve, err := s.deps.Streams.Open(spec)
	if err != nil {
		return err
	}
	// Only serve is captured: the hijack func runs after Fiber has recycled
	// c for another request, so it must not touch c.
	fctx := c.Context()
	release := handOverSetup(c)
	fctx.HijackSetNoResponse(true)
	fctx.Hijack(func(conn net.Conn) {
		serve(conn)
		if release != nil {
			release() // the stream is live: its set-up slot is free
		}
	})
	return nil
}
