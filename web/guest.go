package web

import (
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// Guests: anyone may watch public streams live. A visitor who is not
// logged in gets a guest session (an scs session with no user) when a page
// with a public stream is rendered, so every stream stays authenticated by
// the session cookie and capped per session (realtime counts guests'
// streams by session as it counts users' by user). Bidding, /stream/me and
// the admin stream still need a login.
const (
	// sessionGuestKey marks a guest session.
	sessionGuestKey = "guest"
	// guestLifetime bounds a guest session: it is one store row per
	// visitor, so it lives a day, not the week a login does; the next page
	// view after it expires starts another.
	guestLifetime = 24 * time.Hour
	// guestSessionLimit guest sessions may start from one client address
	// (an IPv6 /64) per guestSessionWindow. Each is a store row for a day,
	// so a client that drops its cookie on every page view (a scraper, a
	// script) would otherwise add a row per view. An office or campus
	// behind one address starts a few hundred an hour at most.
	guestSessionLimit  = 300
	guestSessionWindow = time.Hour
)

// guestsThrottled is the page's notice when its address has started too
// many guest sessions: the page works, without live updates.
const guestsThrottled = "Live updates are off for this page: many new visitors from your network started watching in the last hour. Log in, or reload the page later, to see prices change live."

// DemoAccount is a published demo login, shown on the login page while
// the demo runs.
type DemoAccount struct {
	Role, Email, Password string
}

// errNoSession refuses a public stream that arrives without a session: the
// page that opens it sets the cookie, so the visitor's browser refused it
// or the stream URL was opened on its own.
var errNoSession = &domain.Error{Code: domain.CodeUnauthorized,
	Message: "Live updates need this site's session cookie. Open the page again (with cookies allowed), or log in."}

// publicStream makes url the page's stream, starting a guest session for a
// visitor who is not logged in. Pages whose stream is public (an auction,
// a listing of auctions, a sale) use it.
func (s *Server) publicStream(c *fiber.Ctx, pg *page, url string) {
	pg.Stream = url
	if url == "" || pg.User != nil || !sessionLoaded(c) {
		return
	}
	ctx := c.UserContext()
	sm := s.deps.Sessions
	if sm.GetBool(ctx, sessionGuestKey) {
		return // already a guest: no store write
	}
	if ok, _ := s.guestLimit.allow(ipKey(s.clientIP(c))); !ok {
		pg.Stream = ""
		if pg.Flash == "" {
			pg.Flash = guestsThrottled
		}
		return
	}
	sm.Put(ctx, sessionGuestKey, true)
	sm.SetDeadline(ctx, time.Now().Add(guestLifetime))
}

// publicStreamViewer admits a public stream: a logged-in, unsuspended
// user as themselves, a guest session as nobody (the zero User; the
// stream carries the session's hash), anyone else 401.
func (s *Server) publicStreamViewer(c *fiber.Ctx) (domain.User, error) {
	l := s.lookupUser(c)
	if l.err != nil {
		return domain.User{}, l.err
	}
	if l.ok {
		return s.requireActor(c)
	}
	if sessionLoaded(c) {
		ctx := c.UserContext()
		if s.deps.Sessions.GetBool(ctx, sessionGuestKey) && s.deps.Sessions.Token(ctx) != "" {
			return domain.User{}, nil
		}
	}
	return domain.User{}, errNoSession
}
