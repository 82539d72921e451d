package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

const (
	// sessionCookieName is the cookie that carries the scs token.
	sessionCookieName = "gavel_session"
	// sessionUserKey holds the logged-in user's id (int64) in the session.
	sessionUserKey = "user_id"
	// sessionAuthKey holds the user's AuthVersion at login: a password
	// reset moves it on, which ends every session started before.
	sessionAuthKey = "auth_version"
	// localsUser caches the request's user lookup in c.Locals.
	localsUser = "gavel.user"
	// localsSession marks a request whose session was loaded; scs panics
	// on a context without one, and error pages can be rendered for
	// requests that never reached the session middleware.
	localsSession = "gavel.session"
)

// configureSessions sets the cookie attributes Gavel relies on. The store
// and lifetime are cmd's choice. IdleTimeout is deliberately left alone: a
// non-zero one marks every loaded session Modified, so every request (stream
// connects included) would write the store.
func configureSessions(sm *scs.SessionManager, cfg Config, log *slog.Logger) {
	sm.Cookie.Name = sessionCookieName
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.CookieSecure
	if sm.Cookie.Path == "" {
		sm.Cookie.Path = "/"
	}
	if _, ok := sm.Codec.(*memoCodec); !ok && sm.Codec != nil {
		sm.Codec = newMemoCodec(sm.Codec, maxDecodedSessions)
	}
	if sm.IdleTimeout > 0 {
		log.Warn("session IdleTimeout > 0 writes the session store on every request", slog.Duration("idle_timeout", sm.IdleTimeout))
	}
}

// sessions loads the scs session named by the request's cookie into the
// user context, runs the rest of the chain, then commits the session and
// writes its cookie if a handler changed it, or expires the cookie if a
// handler destroyed it. It is the net/http LoadAndSave of scs, for Fiber.
func (s *Server) sessions(c *fiber.Ctx) error {
	if skipSession(c.Path()) {
		return c.Next()
	}
	sm := s.deps.Sessions
	token := c.Cookies(sm.Cookie.Name)
	if !tokenShaped(token) {
		// Not a token scs could have made: no session, and the store
		// (whose database may refuse the bytes) never sees it.
		token = ""
	}
	ctx, err := sm.Load(c.UserContext(), token)
	if err != nil {
		return fmt.Errorf("load session: %w", err)
	}
	c.SetUserContext(ctx)
	c.Locals(localsSession, true)
	c.Vary(fiber.HeaderCookie)

	err = c.Next()

	switch sm.Status(ctx) {
	case scs.Modified:
		token, expiry, cerr := sm.Commit(ctx)
		if cerr != nil {
			cerr = fmt.Errorf("commit session: %w", cerr)
			if err != nil {
				// The handler's error is what the client needs to see;
				// the store failure still must not go unnoticed.
				s.log.Error("session not saved", slog.Any("err", cerr))
				return err
			}
			return cerr
		}
		s.writeSessionCookie(c, token, expiry)
	case scs.Destroyed:
		s.writeSessionCookie(c, "", time.Time{})
	}
	return err
}

// sessionTokenLen is the length of an scs token: 32 random bytes in
// unpadded URL-safe base64.
const sessionTokenLen = 43

// tokenShaped reports whether token looks like an scs session token.
func tokenShaped(token string) bool {
	if len(token) != sessionTokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// skipSession lists paths that never need a session, to spare the store a
// read per asset or probe. Photo files are the same for everyone, and
// must not vary by cookie, or shared caches could not keep them.
func skipSession(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics", "/favicon.ico":
		return true
	}
	return strings.HasPrefix(path, "/static/") || strings.HasPrefix(path, domain.MediaPathPrefix)
}

// writeSessionCookie writes the session cookie with the manager's
// attributes, as scs's WriteSessionCookie does for net/http. A zero expiry
// expires the cookie.
func (s *Server) writeSessionCookie(c *fiber.Ctx, token string, expiry time.Time) {
	sm := s.deps.Sessions
	cookie := &http.Cookie{
		Name:        sm.Cookie.Name,
		Value:       token,
		Domain:      sm.Cookie.Domain,
		Path:        sm.Cookie.Path,
		HttpOnly:    sm.Cookie.HttpOnly,
		Secure:      sm.Cookie.Secure,
		SameSite:    sm.Cookie.SameSite,
		Partitioned: sm.Cookie.Partitioned,
	}
	if expiry.IsZero() {
		cookie.Expires = time.Unix(1, 0)
		cookie.MaxAge = -1
	} else if sm.Cookie.Persist {
		cookie.Expires = time.Unix(expiry.Unix()+1, 0)
		cookie.MaxAge = int(time.Until(expiry).Seconds() + 1)
	}
	c.Response().Header.Add(fiber.HeaderSetCookie, cookie.String())
	// Keep a cache from storing the cookie; an existing no-store (API
	// responses) already does.
	if len(c.Response().Header.Peek(fiber.HeaderCacheControl)) == 0 {
		c.Set(fiber.HeaderCacheControl, `no-cache="Set-Cookie"`)
	}
}

// userLookup is the cached result of resolving the session's user.
type userLookup struct {
	user domain.User
	ok   bool
	err  error
}

// lookupUser resolves the session's user through Accounts once per request.
// A session whose user no longer exists is anonymous; any other failure is
// returned so that an action answers 503/500 rather than 401.
func (s *Server) lookupUser(c *fiber.Ctx) userLookup {
	if l, ok := c.Locals(localsUser).(userLookup); ok {
		return l
	}
	var l userLookup
	if loaded, _ := c.Locals(localsSession).(bool); loaded {
		id := s.deps.Sessions.GetInt64(c.UserContext(), sessionUserKey)
		if id > 0 {
			u, err := s.deps.Accounts.UserByID(c.UserContext(), id)
			switch {
			case err == nil && u.AuthVersion != s.deps.Sessions.GetInt64(c.UserContext(), sessionAuthKey):
				// Signed in before a password reset: anonymous now.
			case err == nil:
				l = userLookup{user: u, ok: true}
			case domain.ErrorCode(err) == domain.CodeNotFound:
			default:
				l.err = err
			}
		}
	}
	c.Locals(localsUser, l)
	return l
}

// currentUser returns the logged-in user, if any. A suspended user is
// returned too (they may look, not act); see requireActor.
func (s *Server) currentUser(c *fiber.Ctx) (domain.User, bool) {
	l := s.lookupUser(c)
	if l.err != nil {
		s.log.Warn("session user lookup failed", slog.Any("err", l.err))
	}
	return l.user, l.ok
}

// requireUser returns the logged-in user or an unauthorized error.
func (s *Server) requireUser(c *fiber.Ctx) (domain.User, error) {
	l := s.lookupUser(c)
	if l.err != nil {
		return domain.User{}, l.err
	}
	if !l.ok {
		return domain.User{}, domain.ErrUnauthorized
	}
	return l.user, nil
}

// requireActor is requireUser for requests that change something: a
// suspended user is refused. The service checks again inside its
// transaction; this check only answers early.
func (s *Server) requireActor(c *fiber.Ctx) (domain.User, error) {
	u, err := s.requireUser(c)
	if err != nil {
		return u, err
	}
	if u.Suspended {
		return domain.User{}, domain.ErrSuspended
	}
	return u, nil
}

// requireAdmin returns the logged-in, unsuspended administrator.
func (s *Server) requireAdmin(c *fiber.Ctx) (domain.User, error) {
	u, err := s.requireActor(c)
	if err != nil {
		return u, err
	}
	if !u.Admin {
		return domain.User{}, domain.ErrNotAdmin
	}
	return u, nil
}

// login starts an authenticated session for user. The token is renewed first
// so that a token planted before login (session fixation) is worthless.
func (s *Server) login(c *fiber.Ctx, user domain.User) error {
	ctx := c.UserContext()
	if err := s.deps.Sessions.RenewToken(ctx); err != nil {
		return fmt.Errorf("renew session token: %w", err)
	}
	// RenewToken also restores the full lifetime a guest session lacked.
	s.deps.Sessions.Remove(ctx, sessionGuestKey)
	s.deps.Sessions.Put(ctx, sessionUserKey, user.ID)
	s.deps.Sessions.Put(ctx, sessionAuthKey, user.AuthVersion)
	c.Locals(localsUser, userLookup{user: user, ok: true})
	return nil
}

// logout destroys the session; the middleware then expires the cookie.
// Every node then closes the streams opened with it: they were
// authenticated by this session, which no longer exists.
func (s *Server) logout(c *fiber.Ctx) error {
	session := domain.SessionHash(s.deps.Sessions.Token(c.UserContext()))
	if err := s.deps.Sessions.Destroy(c.UserContext()); err != nil {
		return fmt.Errorf("destroy session: %w", err)
	}
	c.Locals(localsUser, userLookup{})
	if session != "" && s.deps.SessionEnder != nil {
		// The logout itself has succeeded; a stream left open (NATS down)
		// still ends at its next reconnect, which the session store refuses.
		if err := s.deps.SessionEnder.SessionEnded(c.UserContext(), session); err != nil {
			s.log.Warn("logout: streams not told", slog.Any("err", err))
		}
	}
	return nil
}
