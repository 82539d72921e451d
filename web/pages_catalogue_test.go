package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// fakeSales is one open sale of many lots, for the catalogue pages. The
// SaleService methods a catalogue never calls are left nil (they panic).
type fakeSales struct {
	SaleService
	sale domain.Sale
	lots []domain.Auction
}

func (f *fakeSales) Sale(_ context.Context, id int64) (domain.Sale, error) {
	if id != f.sale.ID {
		return domain.Sale{}, domain.ErrSaleNotFound
	}
	return f.sale, nil
}

func (f *fakeSales) Sales(_ context.Context, flt domain.SaleFilter) ([]domain.Sale, error) {
	if flt.SellerID != 0 && flt.SellerID != f.sale.SellerID {
		return nil, nil
	}
	return []domain.Sale{f.sale}, nil
}

func (f *fakeSales) SaleStats(_ context.Context, ids []int64) (map[int64]domain.SaleStats, error) {
	return map[int64]domain.SaleStats{f.sale.ID: {Lots: len(f.lots), Open: len(f.lots)}}, nil
}

func (f *fakeSales) Lots(_ context.Context, saleID int64) ([]domain.Auction, error) {
	if saleID != f.sale.ID {
		return nil, nil
	}
	return slices.Clone(f.lots), nil
}

func (f *fakeSales) SaleAliases(context.Context, int64, int64) (map[int64]string, error) {
	return map[int64]string{}, nil
}

func (f *fakeSales) SaleBidCount(context.Context, int64, time.Time) (int, error) { return 0, nil }

func (f *fakeSales) LeadLots(_ context.Context, saleIDs []int64, n int) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	if slices.Contains(saleIDs, f.sale.ID) {
		for _, a := range f.lots[:min(n, len(f.lots))] {
			out[f.sale.ID] = append(out[f.sale.ID], a.ID)
		}
	}
	return out, nil
}

// countingPhotos and countingWatchlist count the reads a page makes.
type countingPhotos struct {
	*fakePhotos
	covers atomic.Int32
}

func (c *countingPhotos) Covers(ctx context.Context, ids []int64) (map[int64]domain.Photo, error) {
	c.covers.Add(1)
	return c.fakePhotos.Covers(ctx, ids)
}

type countingWatchlist struct {
	*fakeWatchlist
	watching atomic.Int32
}

func (c *countingWatchlist) Watching(ctx context.Context, userID int64, ids []int64) (map[int64]bool, error) {
	c.watching.Add(1)
	return c.fakeWatchlist.Watching(ctx, userID, ids)
}

// Watch records the lot: the fake sale's lots are not in the fakeStore
// that fakeWatchlist.Watch checks.
func (c *countingWatchlist) Watch(_ context.Context, u domain.User, id int64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists[u.ID] = append(c.lists[u.ID], id)
	return c.countLocked(id), nil
}

// catalogueEnv is a server with a 500-lot open sale by sel@example.com
// (sale 7, lots 1001…1500), photos on lots 3 and 150, and the watchlist.
type catalogueEnv struct {
	*testEnv
	sales  *fakeSales
	photos *countingPhotos
	watch  *countingWatchlist
	seller domain.User
}

func newCatalogueEnv(t *testing.T) *catalogueEnv {
	t.Helper()
	ce := &catalogueEnv{sales: &fakeSales{}}
	ce.testEnv = newEnv(t, func(_ *Config, d *Deps) {
		store := d.Accounts.(*fakeStore)
		ce.photos = &countingPhotos{fakePhotos: newFakePhotos(store)}
		ce.watch = &countingWatchlist{fakeWatchlist: &fakeWatchlist{store: store, lists: map[int64][]int64{}}}
		d.Sales, d.SaleLeads, d.Photos, d.Watchlist = ce.sales, ce.sales, ce.photos, ce.watch
	})
	ce.seller = ce.mustUser("sel@example.com", "Sel", false)
	s := domain.Sale{ID: 7, SellerID: ce.seller.ID, Title: "Toy sale", Currency: "EUR", OpensAt: testNow.Add(-time.Hour),
		FirstCloseAt: testNow.Add(time.Hour), GapSeconds: 10, SoftCloseSeconds: 30, SoftCloseMode: domain.SoftCloseLot, Status: domain.SaleOpen}
	ce.sales.sale = s
	for i := range 500 {
		ce.sales.lots = append(ce.sales.lots, domain.Auction{ID: int64(1001 + i), SaleID: s.ID, LotNumber: i + 1, SellerID: s.SellerID,
			Title: fmt.Sprintf("Toy %d", i+1), Currency: "EUR", StartPrice: 1000, Status: domain.StatusOpen,
			StartsAt: s.OpensAt, EndsAt: s.FirstCloseAt.Add(time.Duration(i) * s.Gap())})
	}
	for _, id := range []int64{1003, 1150} {
		ce.photos.photos[id] = []domain.Photo{{ID: id, AuctionID: id, Thumb: fmt.Sprintf("%064x.jpg", id),
			Medium: fmt.Sprintf("%064x.jpg", id+1), Large: fmt.Sprintf("%064x.jpg", id+2), Width: 1600, Height: 1200}}
	}
	return ce
}

func thumbOf(id int64) string { return domain.MediaPathPrefix + fmt.Sprintf("%064x.jpg", id) }

// TestCatalogueGuestLive: a visitor who is not logged in gets the sale's
// one stream and a guest session that opens it; the rows carry covers (a
// placeholder where a lot has none) and watch buttons that send a guest
// to log in and back. A page of 100 rows reads the covers once.
func TestCatalogueGuestLive(t *testing.T) {
	t.Parallel()
	e := newCatalogueEnv(t)
	r := e.do(req{method: "GET", path: "/sales/7"}).wantStatus(t, http.StatusOK)
	body := string(r.body)
	mustContain(t, body, `data-stream="/stream/sales/7"`, "Prices and countdowns move live.", `href="/login?next=%2fsales%2f7">Log in to bid</a>`,
		`<img class="lot-thumb" src="`+thumbOf(1003)+`" alt="Toy 3" width="1600" height="1200" loading="lazy" decoding="async">`,
		`action="/me/watchlist/1001"`, `<input type="hidden" name="next" value="/sales/7">`)
	for _, c := range []struct {
		what string
		want int
	}{{`class="lot-row"`, catalogueRows}, {`class="inline-form watch-form"`, catalogueRows}, {`<img class="lot-thumb"`, 1},
		{`<span class="lot-thumb lot-thumb-none" aria-hidden="true">No photo</span>`, catalogueRows - 1}} {
		if n := strings.Count(body, c.what); n != c.want {
			t.Errorf("%d × %s on the guest's first page, want %d", n, c.what, c.want)
		}
	}
	if n := e.photos.covers.Load(); n != 1 {
		t.Errorf("a page of %d rows read covers %d times, want once", catalogueRows, n)
	}
	if n := e.watch.watching.Load(); n != 0 {
		t.Errorf("a guest's page read a watchlist %d times", n)
	}
	c, ok := r.sessionCookie()
	if !ok || c.Value == "" {
		t.Fatalf("the catalogue set no guest session; headers %v", r.header)
	}
	guest := c.Value

	// The guest's session opens the sale's stream, as nobody; without a
	// session it is refused, and the watcher count is the seller's.
	hr, _ := http.NewRequest("GET", "http://gavel.test/stream/sales/7", nil)
	hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: guest})
	_, _ = e.srv.App().Test(hr, 2000)
	spec, ok := e.streams.lastSpec()
	if !ok || !slices.Equal(spec.SaleIDs, []int64{7}) || spec.UserID != 0 || spec.Session != domain.SessionHash(guest) || spec.SaleWatchers {
		t.Fatalf("the guest's sale stream: %+v (opened %v)", spec, ok)
	}
	e.do(req{method: "GET", path: "/stream/sales/7"}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
	e.do(req{method: "GET", path: "/stream/sales/7?watchers=1", cookie: guest}).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)

	// A guest's watch button (without JavaScript) leads to log in and back.
	w := e.do(req{method: "POST", path: "/me/watchlist/1002", contentType: formCT, cookie: guest,
		body: url.Values{"action": {"watch"}, "next": {"/sales/7"}}.Encode()})
	if loc := location(t, w); loc != "/login?next="+url.QueryEscape("/sales/7") {
		t.Errorf("a guest's watch: to %q", loc)
	}
	// With JavaScript, the API says 401 and watch.js goes to the login.
	e.do(req{method: "PUT", path: "/api/v1/me/watchlist/1002", cookie: guest}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)

	// The sales list shows the cover of the first lot that has a photo.
	sales := string(e.do(req{method: "GET", path: "/sales"}).wantStatus(t, http.StatusOK).body)
	mustContain(t, sales, `<img class="cover" src="`+thumbOf(1003)+`" alt="Toy sale"`)
}

// TestCatalogueWatchRows: a bidder's page of rows reads their watchlist
// once, and each row's button says whether they watch the lot; the seller
// gets no watch button on their own lots.
func TestCatalogueWatchRows(t *testing.T) {
	t.Parallel()
	e := newCatalogueEnv(t)
	bob := e.mustUser("bob@example.com", "Bob", false)
	e.watch.lists[bob.ID] = []int64{1150}
	cookie := e.mustLogin("bob@example.com")
	body := string(e.do(req{method: "GET", path: "/sales/7?page=2", cookie: cookie}).wantStatus(t, http.StatusOK).body)
	if n, w := e.photos.covers.Load(), e.watch.watching.Load(); n != 1 || w != 1 {
		t.Errorf("a page of 100 rows read covers %d times and the watchlist %d times, want once each", n, w)
	}
	if n := strings.Count(body, `class="inline-form watch-form"`); n != catalogueRows {
		t.Errorf("%d watch buttons on page 2, want %d", n, catalogueRows)
	}
	watched := `<form method="post" action="/me/watchlist/1150" class="inline-form watch-form" data-watch-id="1150">
  <input type="hidden" name="action" value="unwatch">
  <input type="hidden" name="next" value="/sales/7?page=2">
  <button type="submit" class="button button-secondary watch-button" data-watching="true">Unwatch</button>`
	mustContain(t, body, watched, `data-watch-id="1101"`, `<img class="lot-thumb" src="`+thumbOf(1150)+`" alt="Toy 150"`,
		`data-stream="/stream/sales/7"`)
	if n := strings.Count(body, `data-watching="true"`); n != 1 {
		t.Errorf("%d rows say watching, want 1", n)
	}
	mustNotContain(t, body, `data-watch-id="1001"`, "data-watchers-for") // page 1's; counts are the seller's

	// Watching from a row without JavaScript comes back to the same page.
	w := e.do(req{method: "POST", path: "/me/watchlist/1101", contentType: formCT, cookie: cookie,
		body: url.Values{"action": {"watch"}, "next": {"/sales/7?page=2"}}.Encode()})
	if loc := location(t, w); loc != "/sales/7?page=2" {
		t.Errorf("watch from a row: back to %q", loc)
	}
	if !slices.Contains(e.watch.lists[bob.ID], 1101) {
		t.Errorf("lot 101 not watched: %v", e.watch.lists[bob.ID])
	}

	// The seller gets no watch button on their own lots, but each lot's
	// watcher count (one read for the page), which watch.js keeps live.
	seller := string(e.do(req{method: "GET", path: "/sales/7/dashboard?page=2", cookie: e.mustLogin("sel@example.com")}).wantStatus(t, http.StatusOK).body)
	mustNotContain(t, seller, "watch-form")
	mustContain(t, seller, `<img class="lot-thumb" src="`+thumbOf(1150)+`"`, `<th scope="col">Watching</th>`,
		`<td data-label="Watching" class="watchers" data-watchers-for="1101">1</td>`,
		`<td data-label="Watching" class="watchers" data-watchers-for="1102">0</td>`)
}
