package web

import (
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// notifyPageNames are the templates of the email pages.
var notifyPageNames = []string{"verify", "forgot", "reset", "notifications", "unsubscribe", "mail", "mailmsg"}

// messageData is the Data of the one-message pages (verify, unsubscribe).
type messageData struct {
	OK      bool
	Heading string
	Message string
	Token   string
	Kind    string
}

// handleVerifyPage follows the link of a verification email: it verifies
// the address and says so, or says why the link does not work.
func (p *pages) handleVerifyPage(c *fiber.Ctx) error {
	u, err := p.s.deps.Notices.Verify(c.UserContext(), c.Query("token"))
	pg := p.base(c, "Verify your email", "verify")
	if err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		pg.Data = messageData{Heading: "This link does not work", Message: pr.detail}
		return p.r.render(c, pr.status, "verify", pg)
	}
	if pg.User != nil && pg.User.ID == u.ID {
		pg.User.EmailVerified = true
		pg.VerifyNotice = ""
	}
	pg.Data = messageData{OK: true, Heading: "Your email address is verified", Message: "Thank you, " + u.Name + ". You may now bid and sell."}
	return p.r.render(c, fiber.StatusOK, "verify", pg)
}

// handleVerifyResendForm is the banner's "send the link again" button.
func (p *pages) handleVerifyResendForm(c *fiber.Ctx) error {
	u, err := p.s.requireUser(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return toLogin(c, "/")
		}
		return err
	}
	back := safeNext(c.FormValue("next"))
	if back == "" {
		back = "/"
	}
	if err := p.s.allowMail(c); err == nil {
		err = p.s.deps.Notices.RequestVerification(c.UserContext(), u)
		if err == nil {
			p.flash(c, sessionFlashKey, "We sent a new verification link to "+u.Email+".")
			return seeOther(c, back)
		}
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		p.flash(c, sessionFlashKey, pr.detail)
	} else {
		p.flash(c, sessionFlashKey, domain.ErrorMessage(err))
	}
	return seeOther(c, back)
}

// handleForgotPage asks for the address to send a reset link to.
func (p *pages) handleForgotPage(c *fiber.Ctx) error {
	return p.renderAccount(c, fiber.StatusOK, "forgot", "Forgotten password", accountForm{})
}

// handleForgotForm sends a reset link if the address has an account, and
// says the same thing either way.
func (p *pages) handleForgotForm(c *fiber.Ctx) error {
	email := strings.TrimSpace(c.FormValue("email"))
	f := accountForm{Values: map[string]string{"email": email}, Errors: map[string]string{}}
	if err := p.s.allowMail(c); err != nil {
		pr, _ := pageProblem(err)
		c.Set(fiber.HeaderRetryAfter, "900")
		f.Error = pr.detail
		return p.renderAccount(c, pr.status, "forgot", "Forgotten password", f)
	}
	if err := p.s.deps.Notices.RequestPasswordReset(c.UserContext(), email); err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		f.Errors = mergeFields(f.Errors, pr.fields)
		f.Error = pr.detail
		return p.renderAccount(c, pr.status, "forgot", "Forgotten password", f)
	}
	f.Values["sent"] = "yes"
	return p.renderAccount(c, fiber.StatusAccepted, "forgot", "Forgotten password", f)
}

// handleResetPage shows the new-password form of a reset link, or why the
// link cannot be used.
func (p *pages) handleResetPage(c *fiber.Ctx) error {
	tok := c.Query("token")
	f := accountForm{Values: map[string]string{"token": tok}}
	if err := p.s.deps.Notices.CheckResetToken(c.UserContext(), tok); err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		f.Error = pr.detail
		f.Values["dead"] = "yes"
		return p.renderAccount(c, pr.status, "reset", "Choose a new password", f)
	}
	return p.renderAccount(c, fiber.StatusOK, "reset", "Choose a new password", f)
}

// handleResetForm sets the new password, ends every session of the user,
// and sends them to log in.
func (p *pages) handleResetForm(c *fiber.Ctx) error {
	tok := c.FormValue("token")
	f := accountForm{Values: map[string]string{"token": tok}, Errors: map[string]string{}}
	if _, err := p.s.deps.Notices.ResetPassword(c.UserContext(), tok, c.FormValue("password")); err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		f.Errors = mergeFields(f.Errors, pr.fields)
		if len(f.Errors) == 0 {
			f.Error = pr.detail
			f.Values["dead"] = "yes"
		}
		return p.renderAccount(c, pr.status, "reset", "Choose a new password", f)
	}
	if err := p.s.logout(c); err != nil {
		return err
	}
	// The session was destroyed, so the flash rides on a fresh one.
	return seeOther(c, "/login?reset=1")
}

// prefsData is the preferences page's Data.
type prefsData struct {
	Prefs  domain.NoticePrefs
	Error  string
	Errors map[string]string
}

// handlePrefsPage lists each kind of email, on or off, and the time zone.
func (p *pages) handlePrefsPage(c *fiber.Ctx) error {
	u, err := p.s.requireUser(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return toLogin(c, "/me/notifications")
		}
		return err
	}
	prefs, err := p.s.deps.Notices.Prefs(c.UserContext(), u)
	if err != nil {
		return err
	}
	return p.renderPrefs(c, fiber.StatusOK, prefsData{Prefs: prefs})
}

func (p *pages) renderPrefs(c *fiber.Ctx, status int, d prefsData) error {
	pg := p.base(c, "Email preferences", "notifications")
	pg.Data = d
	return p.r.render(c, status, "notifications", pg)
}

// handlePrefsForm saves the preferences form: a checkbox per optional
// kind (unchecked means off) and the time zone.
func (p *pages) handlePrefsForm(c *fiber.Ctx) error {
	u, err := p.s.requireUser(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return toLogin(c, "/me/notifications")
		}
		return err
	}
	tz := strings.TrimSpace(c.FormValue("time_zone"))
	upd := domain.NoticePrefsUpdate{TimeZone: &tz, Enabled: map[domain.NoticeKind]bool{}}
	for _, k := range domain.NoticeKinds() {
		if k.Optional() {
			upd.Enabled[k] = c.FormValue("kind_"+string(k)) == "on"
		}
	}
	prefs, err := p.s.deps.Notices.SetPrefs(c.UserContext(), u, upd)
	if err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		cur, perr := p.s.deps.Notices.Prefs(c.UserContext(), u)
		if perr != nil {
			return perr
		}
		cur.TimeZone = tz
		return p.renderPrefs(c, pr.status, prefsData{Prefs: cur, Error: pr.detail, Errors: pr.fields})
	}
	_ = prefs
	p.flash(c, sessionFlashKey, "Your email preferences were saved.")
	return seeOther(c, "/me/notifications")
}

// handleUnsubscribePage shows what the footer link turns off, with a
// button: a GET changes nothing, since mail scanners follow links.
func (p *pages) handleUnsubscribePage(c *fiber.Ctx) error {
	pg := p.base(c, "Unsubscribe", "unsubscribe")
	pg.Data = messageData{Heading: "Unsubscribe", Token: c.Query("token")}
	return p.r.render(c, fiber.StatusOK, "unsubscribe", pg)
}

// handleUnsubscribeForm turns one kind of email off for the user the
// signed token names: the page's button, and the RFC 8058 one-click POST
// (body List-Unsubscribe=One-Click) of mail providers.
func (p *pages) handleUnsubscribeForm(c *fiber.Ctx) error {
	if _, err := readBody(c, 4<<10); err != nil {
		return err
	}
	tok := c.Query("token")
	if tok == "" {
		tok = c.FormValue("token")
	}
	u, kind, err := p.s.deps.Notices.Unsubscribe(c.UserContext(), tok)
	pg := p.base(c, "Unsubscribe", "unsubscribe")
	if err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		pg.Data = messageData{Heading: "This link does not work", Message: pr.detail}
		return p.r.render(c, pr.status, "unsubscribe", pg)
	}
	pg.Data = messageData{OK: true, Heading: "You are unsubscribed", Kind: kind.Label(),
		Message: u.Email + " will no longer get these emails. You can turn them on again on your email preferences page."}
	return p.r.render(c, fiber.StatusOK, "unsubscribe", pg)
}

// mailData is the development mailbox page's Data.
type mailData struct {
	Links      []string // the message's links, to follow from here
	DevMailbox bool
	Messages   []domain.MailMessage
	Problems   []domain.MailFailure
	Message    domain.MailMessage
}

// handleAdminMailPage lists the development mailbox and delivery problems.
func (p *pages) handleAdminMailPage(c *fiber.Ctx) error {
	if _, done, err := p.adminUser(c); done || err != nil {
		return err
	}
	d := mailData{DevMailbox: p.s.deps.Notices.DevMailbox()}
	var err error
	if d.Messages, err = p.s.deps.Notices.Mailbox(c.UserContext(), 200); err != nil {
		return err
	}
	if d.Problems, err = p.s.deps.Notices.Problems(c.UserContext(), 100); err != nil {
		return err
	}
	pg := p.base(c, "Mail", "mail")
	pg.Data = d
	return p.r.render(c, fiber.StatusOK, "mail", pg)
}

// handleAdminMailMessagePage shows one message: headers, text part, and
// the HTML part in a sandboxed frame.
func (p *pages) handleAdminMailMessagePage(c *fiber.Ctx) error {
	if _, done, err := p.adminUser(c); done || err != nil {
		return err
	}
	id, ok := parseID(c.Params("id"))
	if !ok {
		return &domain.Error{Code: domain.CodeNotFound, Message: "No such message in the mailbox."}
	}
	m, err := p.s.deps.Notices.MailMessage(c.UserContext(), id)
	if err != nil {
		return err
	}
	pg := p.base(c, m.Subject, "mail")
	pg.Data = mailData{Message: m, Links: textLinks(m.Text)}
	return p.r.render(c, fiber.StatusOK, "mailmsg", pg)
}

// mailFrameCSP lets the HTML part style itself and nothing else: no
// script, no requests, its own sandbox, framed only by this site.
const mailFrameCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"

// handleAdminMailHTML serves a message's HTML part for the frame.
func (p *pages) handleAdminMailHTML(c *fiber.Ctx) error {
	if _, done, err := p.adminUser(c); done || err != nil {
		return err
	}
	id, ok := parseID(c.Params("id"))
	if !ok {
		return &domain.Error{Code: domain.CodeNotFound, Message: "No such message in the mailbox."}
	}
	m, err := p.s.deps.Notices.MailMessage(c.UserContext(), id)
	if err != nil {
		return err
	}
	c.Set("Content-Security-Policy", mailFrameCSP)
	c.Set("X-Frame-Options", "SAMEORIGIN")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(fiber.StatusOK).SendString(m.HTML)
}

// handleAdminUnsuspendForm reinstates a suspended user with a reason.
func (p *pages) handleAdminUnsuspendForm(c *fiber.Ctx) error {
	admin, done, err := p.adminUser(c)
	if done || err != nil {
		return err
	}
	d := adminData{}
	id, ok := parseID(strings.TrimSpace(c.FormValue("user_id")))
	reason, fields := adminReason(c)
	if !ok {
		fields = mergeFields(fields, map[string]string{"user_id": "Choose a user to reinstate."})
	}
	if fields != nil {
		d.Error, d.Errors = "The user was not reinstated.", fields
		return p.renderAdmin(c, fiber.StatusUnprocessableEntity, d)
	}
	if err := p.s.deps.Reinstater.UnsuspendUser(c.UserContext(), admin, id, reason); err != nil {
		return p.refusedAdmin(c, d, err)
	}
	p.flash(c, sessionFlashKey, "User #"+strconv.FormatInt(id, 10)+" was reinstated.")
	return seeOther(c, "/admin")
}

// verifyNotice is the banner an unverified user sees on every page, or "".
func (p *pages) verifyNotice(u *domain.User) string {
	n := p.s.deps.Notices
	if u == nil || u.EmailVerified || n == nil {
		return ""
	}
	if n.VerificationRequired() {
		return "Verify your email address to bid or sell: follow the link we sent to " + u.Email + ". Until then you may watch auctions."
	}
	return "Please verify your email address: follow the link we sent to " + u.Email + "."
}

// textLinks lists the http(s) links of a text part, in order, once each.
func textLinks(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Fields(text) {
		if (strings.HasPrefix(f, "http://") || strings.HasPrefix(f, "https://")) && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}
