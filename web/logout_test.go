package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

// fakeEnder records the sessions a logout ended.
type fakeEnder struct {
	mu    sync.Mutex
	ended []string
}

func (f *fakeEnder) SessionEnded(_ context.Context, session string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, session)
	return nil
}

func (f *fakeEnder) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ended...)
}

// TestLogoutEndsTheSessionsStreams: a stream carries the hash of its
// session's token (never the token), and logging out, through the API or
// the form, announces that hash so every node closes those streams.
func TestLogoutEndsTheSessionsStreams(t *testing.T) {
	t.Parallel()
	ender := &fakeEnder{}
	e := newEnv(t, func(_ *Config, d *Deps) { d.SessionEnder = ender })
	e.mustUser("ann@example.com", "Ann", false)
	for _, how := range []string{"api", "form"} {
		tok := e.mustLogin("ann@example.com")
		hr, _ := http.NewRequest("GET", "http://gavel.test/stream/auctions/1", nil)
		hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: tok})
		_, _ = e.srv.App().Test(hr, 2000) // hijacked: no answer to read
		spec, ok := e.streams.lastSpec()
		if !ok || spec.Session != domain.SessionHash(tok) || strings.Contains(spec.Session, tok) {
			t.Fatalf("%s: stream spec session %q, want the hash of the token", how, spec.Session)
		}
		if how == "api" {
			e.do(req{method: "DELETE", path: "/api/v1/session", cookie: tok}).wantStatus(t, http.StatusNoContent)
		} else {
			e.do(req{method: "POST", path: "/logout", cookie: tok, body: url.Values{}.Encode(),
				contentType: "application/x-www-form-urlencoded"}).wantStatus(t, http.StatusSeeOther)
		}
		got := ender.list()
		if len(got) == 0 || got[len(got)-1] != spec.Session {
			t.Errorf("%s: logout ended %v, want the stream's session %q", how, got, spec.Session)
		}
	}
	// Logging out with no session announces nothing.
	n := len(ender.list())
	e.do(req{method: "DELETE", path: "/api/v1/session"}).wantStatus(t, http.StatusNoContent)
	if len(ender.list()) != n {
		t.Errorf("an anonymous logout announced %v", ender.list()[n:])
	}
}
