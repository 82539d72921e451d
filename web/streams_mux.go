package web

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// The multiplexed stream carries everything every tab of one browser
// watches over ONE connection (HTTP/1.1 allows six per origin, so a
// connection per tab freezes the seventh): the SharedWorker
// (static/js/shared-stream.js), or where it is missing the tab elected to
// hold the connection (static/js/tab-leader.js), opens /stream/mux with
// the union of the tabs' auctions and sales and, when they change,
// reopens it with the new union and the last event's id as the cursor:
// channels the cursor names resume where they were, new ones start with a
// snapshot, so nothing is lost and the pages drop what they have already
// seen by (channel, seq).

// maxStreamSales bounds the sale catalogues one stream may carry (the
// realtime node's own bound); each is a whole sale's log.
const maxStreamSales = 16

// routesMux registers the multiplexed stream.
func (s *Server) routesMux() {
	s.app.Get("/stream/mux", s.handleMuxStream)
}

// handleMuxStream streams ?ids= (0 to 100 auctions), ?sales= (0 to 16
// sale catalogues, each as /stream/sales/{id} carries it) and, for a
// logged-in user, their personal events. A guest session may watch
// auctions and sales only, so it must name at least one.
func (s *Server) handleMuxStream(c *fiber.Ctx) error {
	u, err := s.publicStreamViewer(c)
	if err != nil {
		return err
	}
	var spec domain.StreamSpec
	ids, sales := c.Query("ids"), c.Query("sales")
	if ids != "" || (u.ID == 0 && sales == "") {
		if spec.AuctionIDs, err = parseStreamIDs(ids); err != nil {
			return err
		}
	}
	if sales != "" {
		if spec.SaleIDs, err = s.muxSales(c, u, sales); err != nil {
			return err
		}
	}
	spec.Personal = u.ID != 0
	return s.openStream(c, spec, u)
}

// muxSales parses ?sales=1,2 and checks the viewer may watch each: a
// draft is its seller's and admins', as on /stream/sales/{id}.
func (s *Server) muxSales(c *fiber.Ctx, u domain.User, v string) ([]int64, error) {
	bad := func(msg string) error { return domain.Invalid("sales", msg) }
	if s.deps.Sales == nil {
		return nil, bad("This server runs no sales: open the stream without sales=.")
	}
	parts := strings.Split(v, ",")
	if len(parts) > maxStreamSales {
		return nil, bad("sales may list at most " + strconv.Itoa(maxStreamSales) + " sales.")
	}
	ids := make([]int64, 0, len(parts))
	for _, p := range parts {
		id, ok := parseID(strings.TrimSpace(p))
		if !ok {
			return nil, bad("sales must be positive whole numbers separated by commas, got " + strconv.Quote(truncate(p, 20)) + ".")
		}
		if slices.Contains(ids, id) {
			continue
		}
		sale, err := s.deps.Sales.Sale(c.UserContext(), id)
		if err != nil {
			return nil, err
		}
		if sale.Status == domain.SaleDraft && !mayManageSale(u, sale) {
			return nil, domain.ErrSaleNotFound
		}
		ids = append(ids, id)
	}
	return ids, nil
}
