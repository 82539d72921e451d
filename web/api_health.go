package web

import (
	"maps"

	"github.com/gofiber/fiber/v2"
)

// routesHealth registers the administrators' view of the dependency
// checks, with the details /readyz keeps to itself.
func (s *Server) routesHealth() {
	s.app.Get("/api/v1/admin/health", s.handleAdminHealth)
}

// handleAdminHealth runs every readiness check and answers each one's
// outcome in full: "ok", or the failure as the dependency reported it.
func (s *Server) handleAdminHealth(c *fiber.Ctx) error {
	if _, err := s.requireAdmin(c); err != nil {
		return err
	}
	passed, failed := s.runChecks(c.UserContext())
	checks := maps.Clone(passed)
	maps.Copy(checks, failed)
	status := "ok"
	if len(failed) > 0 {
		status = "unavailable"
	}
	return writeJSON(c, fiber.StatusOK, fiber.Map{"status": status, "checks": checks})
}
