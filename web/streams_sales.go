package web

import (
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// routesSaleStreams registers a sale catalogue's stream.
func (s *Server) routesSaleStreams() {
	if s.deps.Sales == nil {
		return
	}
	s.app.Get("/stream/sales/:id", s.handleSaleStream)
}

// handleSaleStream streams a sale's whole log over one connection, to a
// user or a guest session (a sale's catalogue is public): a
// snapshot of every lot, then every lot's public events and the sale's
// own (docs/EVENTS.md). ?watchers=1 adds the live count of the sale's
// watchers, for its seller's dashboard.
func (s *Server) handleSaleStream(c *fiber.Ctx) error {
	u, err := s.publicStreamViewer(c)
	if err != nil {
		return err
	}
	sale, err := s.visibleSale(c, u)
	if err != nil {
		return err
	}
	watchers, err := queryBool(c, "watchers")
	if err != nil {
		return err
	}
	if watchers && !mayManageSale(u, sale) {
		return &domain.Error{Code: domain.CodeForbidden, Message: "Only the sale's seller and administrators see its watchers. Open the stream without watchers=1."}
	}
	return s.openStream(c, domain.StreamSpec{SaleIDs: []int64{sale.ID}, SaleWatchers: watchers}, u)
}
