package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
	open := e.streamSpec
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

// muxSalesFake serves Sale for the mux tests; the rest of SaleService is
// not called.
type muxSalesFake struct {
	SaleService
	sales map[int64]domain.Sale
}

func (f muxSalesFake) Sale(_ context.Context, id int64) (domain.Sale, error) {
	if s, ok := f.sales[id]; ok {
		return s, nil
	}
	return domain.Sale{}, domain.ErrSaleNotFound
}

// TestMuxStreamSales: /stream/mux carries sale catalogues beside auctions
// (a guest's too), at most 16, never another seller's draft.
func TestMuxStreamSales(t *testing.T) {
	t.Parallel()
	fake := muxSalesFake{sales: map[int64]domain.Sale{
		3: {ID: 3, SellerID: 99, Status: domain.SaleOpen},
		4: {ID: 4, SellerID: 99, Status: domain.SaleScheduled},
		5: {ID: 5, SellerID: 99, Status: domain.SaleDraft},
	}}
	e := newEnv(t, func(_ *Config, d *Deps) { d.Sales = fake })
	u := e.mustUser("ann@example.com", "Ann", false)
	tok := e.mustLogin("ann@example.com")
	e.mustAuction(tok, "") // the home page shows it live: a guest session
	home := e.do(req{method: "GET", path: "/"}).wantStatus(t, http.StatusOK)
	gc, ok := home.sessionCookie()
	if !ok {
		t.Fatal("no guest session")
	}
	open := e.streamSpec
	if s := open("/stream/mux?ids=7&sales=3,4,3&lastEventId=7:2,s3:9,u:1", tok); !s.Personal || s.UserID != u.ID ||
		!slices.Equal(s.AuctionIDs, []int64{7}) || !slices.Equal(s.SaleIDs, []int64{3, 4}) || s.LastEventID != "7:2,s3:9,u:1" || s.SaleWatchers {
		t.Errorf("user's mux spec with sales = %+v", s)
	}
	if s := open("/stream/mux?sales=3", gc.Value); s.Personal || s.UserID != 0 || len(s.AuctionIDs) != 0 || !slices.Equal(s.SaleIDs, []int64{3}) {
		t.Errorf("guest's mux spec with a sale only = %+v", s)
	}
	many := make([]string, maxStreamSales+1)
	for i := range many {
		many[i] = "3"
	}
	for _, tt := range []struct {
		path   string
		status int
		code   domain.Code
	}{
		{"/stream/mux?sales=5", http.StatusNotFound, domain.CodeNotFound},
		{"/stream/mux?sales=3,404", http.StatusNotFound, domain.CodeNotFound},
		{"/stream/mux?sales=x", http.StatusUnprocessableEntity, domain.CodeInvalid},
		{"/stream/mux?sales=3,-1", http.StatusUnprocessableEntity, domain.CodeInvalid},
		{"/stream/mux?sales=" + strings.Join(many, ","), http.StatusUnprocessableEntity, domain.CodeInvalid},
	} {
		e.do(req{method: "GET", path: tt.path, cookie: tok}).wantProblem(t, tt.status, tt.code)
	}
	// Without a sales service the parameter is refused, not ignored.
	plain := newEnv(t)
	plain.mustUser("bo@example.com", "Bo", false)
	btok := plain.mustLogin("bo@example.com")
	plain.do(req{method: "GET", path: "/stream/mux?sales=3", cookie: btok}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
}

// streamSpec opens path with the session cookie and returns the spec the
// handler asked Streams to open.
func (e *testEnv) streamSpec(path, cookie string) domain.StreamSpec {
	e.t.Helper()
	e.streams.mu.Lock()
	e.streams.specs = nil
	e.streams.mu.Unlock()
	hr, _ := http.NewRequest("GET", "http://gavel.test"+path, nil)
	hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: cookie})
	_, _ = e.srv.App().Test(hr, 2000)
	spec, ok := e.streams.lastSpec()
	if !ok {
		e.t.Fatalf("%s: Streams.Open not called", path)
	}
	return spec
}
