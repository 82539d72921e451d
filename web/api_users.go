package web

import (
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Account input limits.

// userJSON is the user resource.
type userJSON struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Admin     bool   `json:"admin"`
	Suspended bool   `json:"suspended,omitempty"`
	// EmailVerified is false until the user follows the verification link.
	EmailVerified bool      `json:"email_verified"`
	TimeZone      string    `json:"time_zone,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

func toUserJSON(u domain.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Admin: u.Admin, Suspended: u.Suspended,
		EmailVerified: u.EmailVerified, TimeZone: u.TimeZone, CreatedAt: u.CreatedAt.UTC()}
}

type registerBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

type loginBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// handleUserCreate registers an account. It does not log the new user in.
func (s *Server) handleUserCreate(c *fiber.Ctx) error {
	var b registerBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	b.Email, b.Name = strings.TrimSpace(b.Email), strings.TrimSpace(b.Name)
	if err := validateRegistration(b); err != nil {
		return err
	}
	if err := s.allowRegistration(c); err != nil {
		return err
	}
	u, err := s.deps.Accounts.Register(c.UserContext(), b.Email, b.Password, b.Name)
	if err != nil {
		return err
	}
	s.sendVerification(c, u)
	return writeJSON(c, fiber.StatusCreated, toUserJSON(u))
}

// validateRegistration checks a registration with the domain's rules.
func validateRegistration(b registerBody) error {
	return domain.ValidateRegistration(b.Email, b.Password, b.Name)
}

// handleSessionCreate logs in, within the login limits (limits.go); every
// wrong login is the same 401, whichever of email and password was wrong.
func (s *Server) handleSessionCreate(c *fiber.Ctx) error {
	var b loginBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	email := strings.TrimSpace(b.Email)
	attempt, err := s.allowLogin(c, email)
	if err != nil {
		return err
	}
	u, err := s.authenticate(c, email, b.Password)
	attempt.settle(err)
	if err != nil {
		return err
	}
	if err := s.login(c, u); err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, toUserJSON(u))
}

// handleSessionDelete logs out; it succeeds whether or not anyone was
// logged in.
func (s *Server) handleSessionDelete(c *fiber.Ctx) error {
	if err := s.logout(c); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// handleMe returns the logged-in user.
func (s *Server) handleMe(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, toUserJSON(u))
}
