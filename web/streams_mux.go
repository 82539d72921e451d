package web

import (
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// The multiplexed stream carries everything every tab of one browser
// watches over ONE connection (HTTP/1.1 allows six per origin, so a
// connection per tab freezes the seventh): the SharedWorker
// (static/js/shared-stream.js) opens /stream/mux with the union of the
// tabs' auctions and, when they change, reopens it with the new union and
// the last event's id as the cursor: channels the cursor names resume
// where they were, new ones start with a snapshot, so nothing is lost and
// the worker drops what it has already seen by (channel, seq).

// routesMux registers the multiplexed stream.
func (s *Server) routesMux() {
	s.app.Get("/stream/mux", s.handleMuxStream)
}

// handleMuxStream streams ?ids= (0 to 100 auctions) and, for a logged-in
// user, their personal events. A guest session may watch auctions only, so
// it must name at least one.
func (s *Server) handleMuxStream(c *fiber.Ctx) error {
	u, err := s.publicStreamViewer(c)
	if err != nil {
		return err
	}
	var spec domain.StreamSpec
	if q := c.Query("ids"); q != "" || u.ID == 0 {
		if spec.AuctionIDs, err = parseStreamIDs(q); err != nil {
			return err
		}
	}
	spec.Personal = u.ID != 0
	return s.openStream(c, spec, u)
}
