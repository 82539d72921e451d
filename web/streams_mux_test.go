package web

import (
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

// TestMuxStreamSpecs: /stream/mux carries the asked auctions plus, for a
// user, the personal channel; a guest session must name auctions; no
// session is 401.
func TestMuxStreamSpecs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.mustUser("ann@example.com", "Ann", false)
	tok := e.mustLogin("ann@example.com")
	id := e.mustAuction(tok, "")
	home := e.do(req{method: "GET", path: "/"}).wantStatus(t, http.StatusOK)
	gc, ok := home.sessionCookie()
	if !ok {
		t.Fatal("no guest session")
	}
	open := func(path, cookie string) domain.StreamSpec {
		t.Helper()
		e.streams.mu.Lock()
		e.streams.specs = nil
		e.streams.mu.Unlock()
		hr, _ := http.NewRequest("GET", "http://gavel.test"+path, nil)
		hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: cookie})
		_, _ = e.srv.App().Test(hr, 200)
		spec, ok := e.streams.lastSpec()
		if !ok {
			t.Fatalf("%s: Streams.Open not called", path)
		}
		return spec
	}
	ids := strconv.FormatInt(id, 10)
	if s := open("/stream/mux?ids="+ids+",9&lastEventId="+ids+":3,u:2", tok); !s.Personal || s.UserID != u.ID ||
		!slices.Equal(s.AuctionIDs, []int64{id, 9}) || s.LastEventID != ids+":3,u:2" {
		t.Errorf("user's mux spec = %+v", s)
	}
	if s := open("/stream/mux", tok); !s.Personal || len(s.AuctionIDs) != 0 {
		t.Errorf("user's mux spec with no auctions = %+v", s)
	}
	if s := open("/stream/mux?ids="+ids, gc.Value); s.Personal || s.UserID != 0 || !slices.Equal(s.AuctionIDs, []int64{id}) ||
		s.Session != domain.SessionHash(gc.Value) {
		t.Errorf("guest's mux spec = %+v", s)
	}
	e.do(req{method: "GET", path: "/stream/mux", cookie: gc.Value}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	e.do(req{method: "GET", path: "/stream/mux?ids=x", cookie: tok}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	e.do(req{method: "GET", path: "/stream/mux?ids=" + ids}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
}
