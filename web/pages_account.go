package web

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// accountForm is the Data of the login and register pages.
type accountForm struct {
	Next   string // a checked local path, or ""
	Values map[string]string
	Errors map[string]string
	Error  string
	Demo   []DemoAccount // the login page lists them while the demo runs
}

// nextParam reads ?next= (or the form's next field) and keeps it only if
// it is a local path.
func nextParam(c *fiber.Ctx) string {
	next := c.FormValue("next")
	if next == "" {
		next = c.Query("next")
	}
	return safeNext(next)
}

func redirectNext(c *fiber.Ctx, next string) error {
	if next == "" {
		next = "/"
	}
	return seeOther(c, next)
}

func (p *pages) renderAccount(c *fiber.Ctx, status int, name, title string, f accountForm) error {
	pg := p.base(c, title, name)
	if name == "login" {
		f.Demo = p.s.cfg.DemoAccounts
	}
	pg.Data = f
	return p.r.render(c, status, name, pg)
}

// handleLoginPage shows the login form; a logged-in visitor goes on.
func (p *pages) handleLoginPage(c *fiber.Ctx) error {
	next := nextParam(c)
	if _, ok := p.s.currentUser(c); ok {
		return redirectNext(c, next)
	}
	f := accountForm{Next: next}
	if c.Query("reset") != "" {
		f.Values = map[string]string{"reset": "yes"}
	}
	return p.renderAccount(c, fiber.StatusOK, "login", "Log in", f)
}

// handleLoginForm logs in, with the same per-client limit as the API, and
// goes to ?next= when it is a local path. Every refusal says the same
// thing, whichever of email and password was wrong.
func (p *pages) handleLoginForm(c *fiber.Ctx) error {
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	f := accountForm{Next: nextParam(c), Values: map[string]string{"email": email}, Errors: map[string]string{}}
	if email == "" {
		f.Errors["email"] = "Enter your email address."
	}
	if password == "" {
		f.Errors["password"] = "Enter your password."
	}
	if len(f.Errors) > 0 {
		return p.renderAccount(c, fiber.StatusUnprocessableEntity, "login", "Log in", f)
	}
	attempt, err := p.s.allowLogin(c, email)
	if err != nil {
		pr, _ := pageProblem(err)
		c.Set(fiber.HeaderRetryAfter, strconv.FormatInt(retryAfterSeconds(pr.retryAfter), 10))
		f.Error = pr.detail
		return p.renderAccount(c, pr.status, "login", "Log in", f)
	}
	u, err := p.s.authenticate(c, email, password)
	attempt.settle(err)
	if errors.Is(err, domain.ErrBadCredentials) {
		f.Error = domain.ErrBadCredentials.Message
		return p.renderAccount(c, fiber.StatusUnauthorized, "login", "Log in", f)
	}
	if err != nil {
		return err
	}
	if err := p.s.login(c, u); err != nil {
		return err
	}
	return redirectNext(c, f.Next)
}

// handleRegisterPage shows the registration form.
func (p *pages) handleRegisterPage(c *fiber.Ctx) error {
	next := nextParam(c)
	if _, ok := p.s.currentUser(c); ok {
		return redirectNext(c, next)
	}
	return p.renderAccount(c, fiber.StatusOK, "register", "Register", accountForm{Next: next})
}

// handleRegisterForm creates an account, logs it in and goes on to ?next=.
// Problems are shown beside their fields with the table's 4xx status.
func (p *pages) handleRegisterForm(c *fiber.Ctx) error {
	b := registerBody{
		Email:    strings.TrimSpace(c.FormValue("email")),
		Password: c.FormValue("password"),
		Name:     strings.TrimSpace(c.FormValue("name")),
	}
	f := accountForm{Next: nextParam(c), Values: map[string]string{"email": b.Email, "name": b.Name}, Errors: map[string]string{}}
	err := validateRegistration(b)
	if err == nil {
		err = p.s.allowRegistration(c)
	}
	var u domain.User
	if err == nil {
		u, err = p.s.deps.Accounts.Register(c.UserContext(), b.Email, b.Password, b.Name)
	}
	if err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		f.Errors = mergeFields(f.Errors, pr.fields)
		if pr.code == domain.CodeConflict && len(pr.fields) == 0 {
			// The email is taken; say so beside it.
			f.Errors["email"] = pr.detail
		}
		if len(f.Errors) == 0 {
			f.Error = pr.detail
		}
		return p.renderAccount(c, pr.status, "register", "Register", f)
	}
	if err := p.s.login(c, u); err != nil {
		return err
	}
	p.s.sendVerification(c, u)
	p.flash(c, sessionFlashKey, "Welcome to Gavel, "+u.Name+".")
	return redirectNext(c, f.Next)
}

// handleLogoutForm ends the session. Logging out is a POST so that another
// site cannot log a visitor out with an image tag.
func (p *pages) handleLogoutForm(c *fiber.Ctx) error {
	if err := p.s.logout(c); err != nil {
		return err
	}
	return seeOther(c, "/")
}
