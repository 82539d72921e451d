package web

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Account input limits.
const (
	minPasswordRunes = 8
	// maxPasswordBytes is bcrypt's input limit: longer passwords would be
	// refused by the hasher (or silently truncated by older versions).
	maxPasswordBytes = 72
	maxNameRunes     = 80
	maxEmailBytes    = 254
)

// userJSON is the user resource.
type userJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Admin     bool      `json:"admin"`
	Suspended bool      `json:"suspended,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func toUserJSON(u domain.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Admin: u.Admin, Suspended: u.Suspended, CreatedAt: u.CreatedAt.UTC()}
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
	u, err := s.deps.Accounts.Register(c.UserContext(), b.Email, b.Password, b.Name)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusCreated, toUserJSON(u))
}

// validateRegistration reports every problem with a registration at once.
func validateRegistration(b registerBody) error {
	fields := map[string]string{}
	if !validEmail(b.Email) {
		fields["email"] = "Enter an email address such as name@example.com."
	}
	switch {
	case utf8.RuneCountInString(b.Password) < minPasswordRunes:
		fields["password"] = "Use at least 8 characters."
	case len(b.Password) > maxPasswordBytes:
		fields["password"] = "Use at most 72 bytes (about 72 plain letters)."
	}
	switch n := utf8.RuneCountInString(b.Name); {
	case n == 0:
		fields["name"] = "Enter your name."
	case n > maxNameRunes:
		fields["name"] = "Keep your name to 80 characters."
	case strings.ContainsFunc(b.Name, unicode.IsControl):
		fields["name"] = "Your name contains invalid characters."
	}
	if len(fields) == 0 {
		return nil
	}
	msg := "Please correct the highlighted fields."
	if len(fields) == 1 {
		for _, m := range fields {
			msg = m
		}
	}
	return &domain.Error{Code: domain.CodeInvalid, Message: msg, Fields: fields}
}

// validEmail accepts a bare address (no display name) of plausible shape.
func validEmail(s string) bool {
	if s == "" || len(s) > maxEmailBytes {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}

// handleSessionCreate logs in. Attempts are limited per client IP and email;
// every refusal is the same 401, whichever of the two was wrong.
func (s *Server) handleSessionCreate(c *fiber.Ctx) error {
	var b loginBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	email := strings.TrimSpace(b.Email)
	if ok, retry := s.loginLimit.allow(loginKey(c, email)); !ok {
		return rateLimited("Too many login attempts. Please wait before trying again.", retry)
	}
	if email == "" || b.Password == "" || len(b.Password) > maxPasswordBytes {
		return domain.ErrBadCredentials
	}
	u, err := s.deps.Accounts.Authenticate(c.UserContext(), email, b.Password)
	if err != nil {
		switch domain.ErrorCode(err) {
		case domain.CodeUnauthorized, domain.CodeNotFound, domain.CodeInvalid:
			return domain.ErrBadCredentials
		}
		return err
	}
	if err := s.login(c, u); err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, toUserJSON(u))
}

// loginKey is the login limiter's key: client IP and email. The email part
// is capped so that junk input cannot make keys, and so the limiter's
// memory, arbitrarily large.
func loginKey(c *fiber.Ctx, email string) string {
	return c.IP() + "|" + strings.ToLower(truncate(strings.TrimSpace(email), maxEmailBytes))
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
