package web

import (
	"context"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Offers after close and the platform's commission: the invoicing routes
// that are not about one invoice (registered by routesInvoicing).

type offerBody struct {
	ExpiresInHours int `json:"expires_in_hours"`
}

func (s *Server) handleOfferCreate(c *fiber.Ctx) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	var b offerBody
	if err := decodeOptionalJSON(c, &b); err != nil {
		return err
	}
	o, err := s.deps.Invoicing.MakeOffer(c.UserContext(), u, id, b.ExpiresInHours)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusCreated, o)
}

type offerList struct {
	Offers []domain.Offer `json:"offers"`
}

func (s *Server) handleOfferList(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	role := c.Query("role")
	if role != "" && role != "buyer" && role != "seller" {
		return domain.Invalid("role", `role must be "buyer" or "seller".`)
	}
	list, err := s.deps.Invoicing.Offers(c.UserContext(), u, role == "seller", 0)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, offerList{Offers: list})
}

func (s *Server) handleOfferAccept(c *fiber.Ctx) error {
	return s.offerAnswer(c, s.deps.Invoicing.AcceptOffer)
}

func (s *Server) handleOfferDecline(c *fiber.Ctx) error {
	return s.offerAnswer(c, s.deps.Invoicing.DeclineOffer)
}

func (s *Server) offerAnswer(c *fiber.Ctx, fn func(ctx context.Context, u domain.User, id int64) (domain.Offer, error)) error {
	u, err := s.requireActor(c)
	if err != nil {
		return err
	}
	id, err := idParam(c, domain.ErrOfferNotFound)
	if err != nil {
		return err
	}
	if err := decodeOptionalJSON(c, &emptyBody{}); err != nil {
		return err
	}
	o, err := fn(c.UserContext(), u, id)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, o)
}

type commissionBody struct {
	RateBPS *int64 `json:"rate_bps"`
}

type commissionView struct {
	RateBPS int64  `json:"rate_bps"`
	Rate    string `json:"rate"`
}

func (s *Server) handleCommissionGet(c *fiber.Ctx) error {
	if _, err := s.requireAdmin(c); err != nil {
		return err
	}
	bps, err := s.deps.Invoicing.PlatformCommission(c.UserContext())
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, commissionView{RateBPS: bps, Rate: domain.FormatRate(bps)})
}

func (s *Server) handleCommissionPut(c *fiber.Ctx) error {
	u, err := s.requireAdmin(c)
	if err != nil {
		return err
	}
	var b commissionBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if b.RateBPS == nil {
		return domain.Invalid("rate_bps", `"rate_bps" is required: the default commission in basis points, 0 to 10000.`)
	}
	if err := s.deps.Invoicing.SetCommission(c.UserContext(), u, 0, b.RateBPS); err != nil {
		return err
	}
	return s.handleCommissionGet(c)
}

// handleSellerCommissionPut sets one seller's commission; "rate_bps": null
// returns them to the platform default.
func (s *Server) handleSellerCommissionPut(c *fiber.Ctx) error {
	u, err := s.requireAdmin(c)
	if err != nil {
		return err
	}
	id, err := idParam(c, domain.ErrUserNotFound)
	if err != nil {
		return err
	}
	var b commissionBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if err := s.deps.Invoicing.SetCommission(c.UserContext(), u, id, b.RateBPS); err != nil {
		return err
	}
	set, err := s.deps.Invoicing.SellerSettings(c.UserContext(), id)
	if err != nil {
		return err
	}
	v, err := s.settingsView(c, set)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, v)
}
