package web

import (
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// The login limits are three, so that neither a crowd behind one address,
// nor one guesser with many addresses, nor someone out to lock a user out
// gets far:
//   - per client IP, every attempt counts (Config.LoginIPLimit): one
//     address cannot try thousands of accounts;
//   - per account and client IP, only failures count (Config.LoginLimit):
//     one address cannot guess one password, and, as it is keyed by
//     address, cannot lock the account's owner out either;
//   - per account, only failures count (Config.LoginAccountLimit): the
//     ceiling for guessing one password from many addresses, ten times
//     higher, so that locking an owner out takes a sustained attack from
//     several addresses.
// The owner logging in spends nothing (a success refunds its attempt). The
// IP limit is checked first, so a flood from one address is refused before
// it can touch the others. Every limiter forgets its least recently used
// keys when full (limiter.go): a flood of fresh keys cannot make one
// refuse anyone it has not seen.

// loginAttempt is an admitted login; settle it with its outcome.
type loginAttempt struct {
	s             *Server
	account, pair string
}

// allowLogin admits a login attempt for email, or returns a rate_limited
// error saying which limit was hit.
func (s *Server) allowLogin(c *fiber.Ctx, email string) (loginAttempt, error) {
	ip := ipKey(s.clientIP(c))
	if ok, retry := s.loginIPLimit.allow(ip); !ok {
		return loginAttempt{}, rateLimited("Too many login attempts from your network. Please wait a minute before trying again.", retry)
	}
	account := accountKey(email)
	pair := account + " " + ip
	if ok, retry := s.loginLimit.allow(pair); !ok {
		return loginAttempt{}, rateLimited("Too many failed logins to this account from your network. Please wait before trying again, or reset your password.", retry)
	}
	if ok, retry := s.loginAccountLimit.allow(account); !ok {
		s.loginLimit.refund(pair)
		return loginAttempt{}, rateLimited("Too many failed logins to this account. Please wait before trying again, or reset your password.", retry)
	}
	return loginAttempt{s: s, account: account, pair: pair}, nil
}

// settle gives back the attempt's tokens unless it was a wrong password: a
// success, or a failure of ours (busy, database down), is not a guess.
func (a loginAttempt) settle(err error) {
	if a.s == nil {
		return
	}
	if err == nil || domain.ErrorCode(err) != domain.CodeUnauthorized {
		a.s.loginLimit.refund(a.pair)
		a.s.loginAccountLimit.refund(a.account)
	}
}

// accountKey is the per-account limiter key: the email as typed, folded
// and capped so that junk input cannot make keys arbitrarily large.
func accountKey(email string) string {
	return strings.ToLower(truncate(strings.TrimSpace(email), domain.MaxEmailBytes))
}

// authenticate checks a login's email and password after the limits. An
// email that is not even text (NUL, invalid UTF-8) is a wrong login
// without a database query; the password, however wrong or empty, is
// checked by Accounts, so that every refusal costs the same.
func (s *Server) authenticate(c *fiber.Ctx, email, password string) (domain.User, error) {
	if len(password) > domain.MaxPasswordBytes || domain.CheckText(email, domain.EmailText) != nil {
		return domain.User{}, domain.ErrBadCredentials
	}
	u, err := s.deps.Accounts.Authenticate(c.UserContext(), email, password)
	switch domain.ErrorCode(err) {
	case domain.CodeUnauthorized, domain.CodeNotFound, domain.CodeInvalid:
		return u, domain.ErrBadCredentials
	}
	return u, err
}

// allowRegistration applies the per-IP registration limit; only
// registrations that passed validation count.
func (s *Server) allowRegistration(c *fiber.Ctx) error {
	if ok, retry := s.registerLimit.allow(ipKey(s.clientIP(c))); !ok {
		return rateLimited("Too many accounts registered from your network. Please try again later.", retry)
	}
	return nil
}
