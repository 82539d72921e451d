package web

import (
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

const (
	defaultAdminLimit = 100
	maxAdminLimit     = 1000
)

// handleUserSuspend suspends a user; the service records it in the audit
// log and publishes the event that closes the user's streams.
func (s *Server) handleUserSuspend(c *fiber.Ctx) error {
	admin, err := s.requireAdmin(c)
	if err != nil {
		return err
	}
	id, ok := parseID(c.Params("id"))
	if !ok {
		return domain.ErrUserNotFound
	}
	reason, err := bodyReason(c)
	if err != nil {
		return err
	}
	if err := s.deps.Bidder.SuspendUser(c.UserContext(), admin, id, reason); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// handleBidCancel strikes one bid from a running auction (admins only) and
// returns the recomputed auction.
func (s *Server) handleBidCancel(c *fiber.Ctx) error {
	admin, err := s.requireAdmin(c)
	if err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	bidID, err := bidIDParam(c)
	if err != nil {
		return err
	}
	reason, err := bodyReason(c)
	if err != nil {
		return err
	}
	a, err := s.deps.Bidder.CancelBid(c.UserContext(), admin, id, bidID, reason)
	if err != nil {
		return err
	}
	if a.LeaderID != 0 && a.LeaderName == "" {
		// A Bidder that does not name the new leader: read the auction
		// again, as GET does, rather than answer with an empty name.
		if fresh, err := s.deps.Reader.Auction(c.UserContext(), id); err == nil {
			a = fresh
		}
	}
	return writeJSON(c, fiber.StatusOK, domain.View(a, admin, s.now()))
}

// userListJSON is the admin user listing.
type userListJSON struct {
	Users []userJSON `json:"users"`
}

// handleUserList lists accounts for administrators.
func (s *Server) handleUserList(c *fiber.Ctx) error {
	if _, err := s.requireAdmin(c); err != nil {
		return err
	}
	limit, err := queryLimit(c, defaultAdminLimit, maxAdminLimit)
	if err != nil {
		return err
	}
	users, err := s.deps.Reader.Users(c.UserContext(), limit)
	if err != nil {
		return err
	}
	out := userListJSON{Users: make([]userJSON, 0, len(users))}
	for _, u := range users {
		out.Users = append(out.Users, toUserJSON(u))
	}
	return writeJSON(c, fiber.StatusOK, out)
}

// auditList is the audit log response.
type auditList struct {
	Entries []domain.AuditEntry `json:"entries"`
}

// handleAuditList returns the newest audit entries.
func (s *Server) handleAuditList(c *fiber.Ctx) error {
	if _, err := s.requireAdmin(c); err != nil {
		return err
	}
	limit, err := queryLimit(c, defaultAdminLimit, maxAdminLimit)
	if err != nil {
		return err
	}
	entries, err := s.deps.Reader.Audit(c.UserContext(), limit)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []domain.AuditEntry{}
	}
	return writeJSON(c, fiber.StatusOK, auditList{Entries: entries})
}
