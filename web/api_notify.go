package web

import (
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Per-IP limits of the email requests (each is also limited per address
// by the notifier). Per node: a cluster of n API nodes allows n times as
// many, still far below what would make Gavel a spam cannon.
const (
	mailRequestLimit  = 10
	mailRequestWindow = 15 * time.Minute
	// unsubscribePath takes the RFC 8058 one-click POST, which comes from
	// a mail provider, not a browser; the cross-origin check lets exactly
	// this path through (the signed token is its authorization).
	unsubscribePath = "/unsubscribe"
)

// routesNotify registers the email routes (docs/API.md, docs/EMAIL.md)
// when the capability is wired, and the reinstatement routes.
func (s *Server) routesNotify() {
	if r := s.deps.Reinstater; r != nil {
		s.app.Post("/api/v1/admin/users/:id/unsuspend", s.handleUserUnsuspend)
		s.app.Post("/admin/users/unsuspend", s.pages.handleAdminUnsuspendForm)
	}
	if s.deps.Notices == nil {
		return
	}
	s.mailLimit = newLimiter(mailRequestLimit, mailRequestWindow, s.cfg.Now)
	s.csrf.AddInsecureBypassPattern("POST " + unsubscribePath)

	api := s.app.Group("/api/v1")
	api.Post("/users/verify", s.handleVerify)
	api.Post("/users/verify/resend", s.handleVerifyResend)
	api.Post("/password-reset", s.handlePasswordReset)
	api.Post("/password-reset/confirm", s.handlePasswordResetConfirm)
	api.Get("/me/notifications", s.handlePrefsGet)
	api.Put("/me/notifications", s.handlePrefsPut)
	api.Get("/admin/mail", s.handleAdminMail)
	api.Get("/admin/mail/:id", s.handleAdminMailMessage)

	p := s.pages
	s.app.Get("/verify", p.handleVerifyPage)
	s.app.Post("/verify/resend", p.handleVerifyResendForm)
	s.app.Get("/forgot", p.handleForgotPage)
	s.app.Post("/forgot", p.handleForgotForm)
	s.app.Get("/reset", p.handleResetPage)
	s.app.Post("/reset", p.handleResetForm)
	s.app.Get("/me/notifications", p.handlePrefsPage)
	s.app.Post("/me/notifications", p.handlePrefsForm)
	s.app.Get(unsubscribePath, p.handleUnsubscribePage)
	s.app.Post(unsubscribePath, p.handleUnsubscribeForm)
	s.app.Get("/admin/mail", p.handleAdminMailPage)
	s.app.Get("/admin/mail/:id", p.handleAdminMailMessagePage)
	s.app.Get("/admin/mail/:id/html", p.handleAdminMailHTML)
}

// sendVerification emails a new user their verification link. The account
// exists either way: a failure is logged, and the page's "send again"
// button retries.
func (s *Server) sendVerification(c *fiber.Ctx, u domain.User) {
	if s.deps.Notices == nil || u.EmailVerified {
		return
	}
	if err := s.deps.Notices.RequestVerification(c.UserContext(), u); err != nil {
		s.log.Warn("verification email not queued", "user", u.ID, "err", err)
	}
}

// allowMail applies the per-IP limit of verification and reset requests.
func (s *Server) allowMail(c *fiber.Ctx) error {
	if ok, retry := s.mailLimit.allow(ipKey(s.clientIP(c))); !ok {
		return rateLimited("Too many email requests from your network. Please wait a few minutes.", retry)
	}
	return nil
}

type tokenBody struct {
	Token string `json:"token"`
}

// handleVerify verifies the address a verification link was sent to.
func (s *Server) handleVerify(c *fiber.Ctx) error {
	var b tokenBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	u, err := s.deps.Notices.Verify(c.UserContext(), b.Token)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, toUserJSON(u))
}

// handleVerifyResend emails the logged-in user a new verification link.
func (s *Server) handleVerifyResend(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	if err := s.allowMail(c); err != nil {
		return err
	}
	if err := s.deps.Notices.RequestVerification(c.UserContext(), u); err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusAccepted, map[string]string{"status": "sent"})
}

type resetRequestBody struct {
	Email string `json:"email"`
}

// handlePasswordReset always answers 202 to a well-formed request, whether
// or not the address has an account.
func (s *Server) handlePasswordReset(c *fiber.Ctx) error {
	var b resetRequestBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if err := s.allowMail(c); err != nil {
		return err
	}
	if err := s.deps.Notices.RequestPasswordReset(c.UserContext(), b.Email); err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusAccepted, map[string]string{"status": "If an account has this address, a reset link is on its way."})
}

type resetConfirmBody struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// handlePasswordResetConfirm sets the new password of a reset link, once,
// and ends every session of the user, this client's included.
func (s *Server) handlePasswordResetConfirm(c *fiber.Ctx) error {
	var b resetConfirmBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if _, err := s.deps.Notices.ResetPassword(c.UserContext(), b.Token, b.Password); err != nil {
		return err
	}
	if err := s.logout(c); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// handlePrefsGet returns the logged-in user's email preferences.
func (s *Server) handlePrefsGet(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	p, err := s.deps.Notices.Prefs(c.UserContext(), u)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, p)
}

// prefsBody is PUT /api/v1/me/notifications: each field optional.
type prefsBody struct {
	TimeZone *string        `json:"time_zone"`
	Kinds    map[string]any `json:"kinds"`
}

// handlePrefsPut changes preferences: {"time_zone": "Europe/Paris",
// "kinds": {"outbid": false}}.
func (s *Server) handlePrefsPut(c *fiber.Ctx) error {
	u, err := s.requireUser(c)
	if err != nil {
		return err
	}
	var b prefsBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	upd := domain.NoticePrefsUpdate{TimeZone: b.TimeZone, Enabled: map[domain.NoticeKind]bool{}}
	fields := map[string]string{}
	for k, v := range b.Kinds {
		on, ok := v.(bool)
		if !ok {
			fields["kinds."+truncate(k, 40)] = "Use true or false."
			continue
		}
		upd.Enabled[domain.NoticeKind(k)] = on
	}
	if err := domain.FieldErrors(fields); err != nil {
		return err
	}
	p, err := s.deps.Notices.SetPrefs(c.UserContext(), u, upd)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, p)
}

// adminMailJSON is GET /api/v1/admin/mail.
type adminMailJSON struct {
	DevMailbox bool                 `json:"dev_mailbox"`
	Messages   []domain.MailMessage `json:"messages"`
	Problems   []domain.MailFailure `json:"problems"`
}

// handleAdminMail lists the development mailbox and the notices that
// failed or are being retried.
func (s *Server) handleAdminMail(c *fiber.Ctx) error {
	if _, err := s.requireAdmin(c); err != nil {
		return err
	}
	limit, err := queryLimit(c, defaultAdminLimit, maxAdminLimit)
	if err != nil {
		return err
	}
	out := adminMailJSON{DevMailbox: s.deps.Notices.DevMailbox()}
	if out.Messages, err = s.deps.Notices.Mailbox(c.UserContext(), limit); err != nil {
		return err
	}
	if out.Problems, err = s.deps.Notices.Problems(c.UserContext(), limit); err != nil {
		return err
	}
	if out.Messages == nil {
		out.Messages = []domain.MailMessage{}
	}
	if out.Problems == nil {
		out.Problems = []domain.MailFailure{}
	}
	return writeJSON(c, fiber.StatusOK, out)
}

// handleAdminMailMessage returns one message of the mailbox, whole.
func (s *Server) handleAdminMailMessage(c *fiber.Ctx) error {
	if _, err := s.requireAdmin(c); err != nil {
		return err
	}
	id, ok := parseID(c.Params("id"))
	if !ok {
		return &domain.Error{Code: domain.CodeNotFound, Message: "No such message in the mailbox."}
	}
	m, err := s.deps.Notices.MailMessage(c.UserContext(), id)
	if err != nil {
		return err
	}
	return writeJSON(c, fiber.StatusOK, m)
}

// handleUserUnsuspend lifts a suspension, with an optional reason for the
// audit log and the user's email.
func (s *Server) handleUserUnsuspend(c *fiber.Ctx) error {
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
	if err := s.deps.Reinstater.UnsuspendUser(c.UserContext(), admin, id, strings.TrimSpace(reason)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
