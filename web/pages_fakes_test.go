package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gavel-auctions/gavel/domain"
)

// pgFakeStore is the pages tests' in-memory Accounts, Bidder and
// AuctionReader. It applies the real domain rules, so the statuses the
// pages answer come from the errors the service would return.
type pgFakeStore struct {
	now func() time.Time

	mu        sync.Mutex
	users     map[int64]domain.User
	passwords map[int64]string
	auctions  map[int64]domain.Auction
	bids      map[int64][]domain.Bid
	aliases   map[int64]map[int64]string
	audit     []domain.AuditEntry
	nextID    int64
	// readErr, when set, fails every read: an internal error to hide.
	readErr error
}

var (
	_ Accounts      = (*pgFakeStore)(nil)
	_ Bidder        = (*pgFakeStore)(nil)
	_ AuctionReader = (*pgFakeStore)(nil)
)

func newPgFakeStore(now func() time.Time) *pgFakeStore {
	return &pgFakeStore{now: now, users: map[int64]domain.User{}, passwords: map[int64]string{},
		auctions: map[int64]domain.Auction{}, bids: map[int64][]domain.Bid{}, aliases: map[int64]map[int64]string{}}
}

func (f *pgFakeStore) id() int64 { f.nextID++; return f.nextID }

func (f *pgFakeStore) addUser(email, password, name string, admin bool) domain.User {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := domain.User{ID: f.id(), Email: email, Name: name, Admin: admin, CreatedAt: f.now()}
	f.users[u.ID], f.passwords[u.ID] = u, password
	return u
}

// addAuction seeds an auction through the domain's own constructor.
func (f *pgFakeStore) addAuction(tb testing.TB, seller domain.User, in domain.AuctionInput) domain.Auction {
	tb.Helper()
	a, err := f.CreateAuction(context.Background(), seller, in)
	if err != nil {
		tb.Fatalf("seed auction: %v", err)
	}
	return a
}

// setAuction replaces an auction's stored state (to close or cancel it).
func (f *pgFakeStore) setAuction(a domain.Auction) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auctions[a.ID] = a
}

func (f *pgFakeStore) Register(_ context.Context, email, password, name string) (domain.User, error) {
	f.mu.Lock()
	for _, u := range f.users {
		if strings.EqualFold(u.Email, email) {
			f.mu.Unlock()
			return domain.User{}, domain.ErrEmailTaken
		}
	}
	f.mu.Unlock()
	return f.addUser(email, password, name, false), nil
}

func (f *pgFakeStore) Authenticate(_ context.Context, email, password string) (domain.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, u := range f.users {
		if strings.EqualFold(u.Email, email) && f.passwords[id] == password {
			return u, nil
		}
	}
	return domain.User{}, domain.ErrBadCredentials
}

func (f *pgFakeStore) UserByID(_ context.Context, id int64) (domain.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return domain.User{}, domain.ErrUserNotFound
	}
	return u, nil
}

func (f *pgFakeStore) CreateAuction(_ context.Context, seller domain.User, in domain.AuctionInput) (domain.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := domain.NewAuction(seller.ID, in, f.now())
	if err != nil {
		return a, err
	}
	a.ID, a.Seq = f.id(), 1
	f.auctions[a.ID] = a
	return a, nil
}

func (f *pgFakeStore) UpdateAuction(_ context.Context, actor domain.User, id int64, in domain.AuctionInput) (domain.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.auctions[id]
	if !ok {
		return a, domain.ErrAuctionNotFound
	}
	if a.SellerID != actor.ID {
		return a, domain.ErrNotSeller
	}
	next, err := domain.Edit(a, in, f.now())
	if err != nil {
		return a, err
	}
	next.Seq++
	f.auctions[id] = next
	return next, nil
}

func (f *pgFakeStore) CancelAuction(_ context.Context, actor domain.User, id int64, reason string) (domain.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.auctions[id]
	if !ok {
		return a, domain.ErrAuctionNotFound
	}
	if !actor.Admin {
		if a.SellerID != actor.ID {
			return a, domain.ErrNotSeller
		}
		if !domain.CanSellerEdit(a) && a.Status != domain.StatusClosed && a.Status != domain.StatusCancelled {
			return a, domain.ErrHasBids
		}
	}
	next, _, err := domain.Cancel(a, reason, f.now())
	if err != nil {
		return a, err
	}
	f.auctions[id] = next
	if actor.Admin {
		f.audit = append(f.audit, domain.AuditEntry{ID: f.id(), ActorID: actor.ID, Actor: actor.Name,
			Action: "cancel_auction", TargetID: id, Reason: reason, CreatedAt: f.now()})
	}
	return next, nil
}

func (f *pgFakeStore) PlaceBid(_ context.Context, bidder domain.User, auctionID int64, in domain.BidInput) (domain.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.auctions[auctionID]
	if !ok {
		return domain.Receipt{}, domain.ErrAuctionNotFound
	}
	if f.aliases[auctionID] == nil {
		f.aliases[auctionID] = map[int64]string{}
	}
	alias, ok := f.aliases[auctionID][bidder.ID]
	if !ok {
		alias = fmt.Sprintf("Bidder %d", len(f.aliases[auctionID])+1)
	}
	out, err := domain.PlaceBid(a, domain.BidRequest{BidderID: bidder.ID, Alias: alias,
		Amount: in.Amount, MaxAmount: in.MaxAmount, BuyNow: in.BuyNow}, f.now())
	if err != nil {
		return domain.Receipt{}, err
	}
	f.aliases[auctionID][bidder.ID] = alias
	out.Bid.ID = f.id()
	f.auctions[auctionID] = out.Auction
	f.bids[auctionID] = append(f.bids[auctionID], out.Bid)
	na := out.Auction
	return domain.Receipt{BidID: out.Bid.ID, AuctionID: auctionID, Amount: out.Bid.Amount, MaxAmount: out.Bid.MaxAmount,
		Currency: na.Currency, Seq: out.Bid.Seq, ReceivedAt: out.Bid.ReceivedAt, Leading: out.Leading,
		CurrentPrice: na.CurrentPrice, MinNextBid: domain.MinNextBid(na), EndsAt: na.EndsAt, Status: na.Status}, nil
}

func (f *pgFakeStore) SuspendUser(_ context.Context, admin domain.User, userID int64, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !admin.Admin {
		return domain.ErrNotAdmin
	}
	if userID == admin.ID {
		return domain.Invalid("user_id", "You cannot suspend yourself.")
	}
	u, ok := f.users[userID]
	if !ok {
		return domain.ErrUserNotFound
	}
	u.Suspended = true
	f.users[userID] = u
	f.audit = append(f.audit, domain.AuditEntry{ID: f.id(), ActorID: admin.ID, Actor: admin.Name,
		Action: "suspend_user", TargetID: userID, Reason: reason, CreatedAt: f.now()})
	return nil
}

func (f *pgFakeStore) Auction(_ context.Context, id int64) (domain.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return domain.Auction{}, f.readErr
	}
	a, ok := f.auctions[id]
	if !ok {
		return a, domain.ErrAuctionNotFound
	}
	return a, nil
}

func (f *pgFakeStore) Auctions(_ context.Context, flt domain.AuctionFilter) ([]domain.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return nil, f.readErr
	}
	var out []domain.Auction
	for _, a := range f.auctions {
		if len(flt.Status) > 0 && !slices.Contains(flt.Status, a.Status) {
			continue
		}
		if flt.SellerID != 0 && a.SellerID != flt.SellerID {
			continue
		}
		if flt.BidderID != 0 {
			if _, ok := f.aliases[a.ID][flt.BidderID]; !ok {
				continue
			}
		}
		if flt.Query != "" && !strings.Contains(strings.ToLower(a.Title), strings.ToLower(flt.Query)) {
			continue
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y domain.Auction) int { return int(x.ID - y.ID) })
	return out, nil
}

func (f *pgFakeStore) Bids(_ context.Context, auctionID int64, limit int) ([]domain.BidView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.BidView
	bids := f.bids[auctionID]
	for i := len(bids) - 1; i >= 0 && len(out) < limit; i-- {
		b := bids[i]
		out = append(out, domain.BidView{ID: b.ID, Bidder: b.Alias, Amount: b.Amount, BuyNow: b.BuyNow, Seq: b.Seq, ReceivedAt: b.ReceivedAt})
	}
	return out, nil
}

func (f *pgFakeStore) Audit(_ context.Context, limit int) ([]domain.AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.audit)
	slices.Reverse(out)
	return out[:min(limit, len(out))], nil
}

func (f *pgFakeStore) Users(_ context.Context, limit int) ([]domain.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.User
	for _, u := range f.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(x, y domain.User) int { return int(x.ID - y.ID) })
	return out[:min(limit, len(out))], nil
}

// pgHarness is a server over pgFakeStore with a fixed clock.
type pgHarness struct {
	tb    testing.TB
	srv   *Server
	store *pgFakeStore
	now   time.Time
	// Seeded accounts.
	alice, bob, admin domain.User
}

var pgNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newPgHarness(tb testing.TB) *pgHarness {
	tb.Helper()
	h := &pgHarness{tb: tb, now: pgNow}
	clock := func() time.Time { return h.now }
	h.store = newPgFakeStore(clock)
	h.alice = h.store.addUser("alice@example.com", "alice-password", "Alice", false)
	h.bob = h.store.addUser("bob@example.com", "bob-password", "Bob", false)
	h.admin = h.store.addUser("admin@example.com", "admin-password", "Ada Admin", true)
	srv, err := New(Config{Role: RoleAll, Now: clock}, Deps{
		Accounts: h.store, Bidder: h.store, Reader: h.store, Sessions: scs.New(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	h.srv = srv
	return h
}

// pgResponse is a finished response with its body read.
type pgResponse struct {
	*http.Response
	body string
}

// do sends one request; form, when non-nil, is sent url-encoded.
func (h *pgHarness) do(method, target string, form url.Values, cookie string) pgResponse {
	h.tb.Helper()
	return h.send(method, target, form, http.Header{"Cookie": {cookie}})
}

// doWithHeader sends a request with one extra header.
func (h *pgHarness) doWithHeader(method, target, name, value string) pgResponse {
	h.tb.Helper()
	return h.send(method, target, nil, http.Header{name: {value}})
}

func (h *pgHarness) send(method, target string, form url.Values, header http.Header) pgResponse {
	h.tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		for _, v := range vs {
			if v != "" {
				req.Header.Add(k, v)
			}
		}
	}
	res, err := h.srv.App().Test(req, -1)
	if err != nil {
		h.tb.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.tb.Fatalf("read body: %v", err)
	}
	return pgResponse{Response: res, body: string(b)}
}

func (h *pgHarness) get(target, cookie string) pgResponse {
	return h.do(http.MethodGet, target, nil, cookie)
}

func (h *pgHarness) post(target string, form url.Values, cookie string) pgResponse {
	return h.do(http.MethodPost, target, form, cookie)
}

// sessionCookie returns the "name=value" of the session cookie res sets.
func sessionCookie(res pgResponse) string {
	for _, c := range res.Cookies() {
		if c.Name == sessionCookieName && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

// mustLogin logs u in through the login form and returns the cookie.
func (h *pgHarness) mustLogin(u domain.User) string {
	h.tb.Helper()
	passwords := map[int64]string{h.alice.ID: "alice-password", h.bob.ID: "bob-password", h.admin.ID: "admin-password"}
	res := h.post("/login", url.Values{"email": {u.Email}, "password": {passwords[u.ID]}}, "")
	if res.StatusCode != http.StatusSeeOther {
		h.tb.Fatalf("login %s: status %d\n%s", u.Email, res.StatusCode, res.body)
	}
	c := sessionCookie(res)
	if c == "" {
		h.tb.Fatalf("login %s: no session cookie", u.Email)
	}
	return c
}

// seedAuction lists a EUR auction by seller ending in an hour.
func (h *pgHarness) seedAuction(seller domain.User, title string, mod func(*domain.AuctionInput)) domain.Auction {
	h.tb.Helper()
	in := domain.AuctionInput{Title: title, Description: "A fine item.", Currency: "EUR",
		StartPrice: 1000, EndsAt: h.now.Add(time.Hour)}
	if mod != nil {
		mod(&in)
	}
	return h.store.addAuction(h.tb, seller, in)
}

// mustBid places a bid directly in the store.
func (h *pgHarness) mustBid(u domain.User, id, amount int64) domain.Receipt {
	h.tb.Helper()
	r, err := h.store.PlaceBid(context.Background(), u, id, domain.BidInput{Amount: amount})
	if err != nil {
		h.tb.Fatalf("bid %d on %d: %v", amount, id, err)
	}
	return r
}

// mustContain fails unless body contains every want.
func mustContain(tb testing.TB, body string, wants ...string) {
	tb.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			tb.Errorf("body lacks %q", w)
		}
	}
}

// mustNotContain fails if body contains any of bad.
func mustNotContain(tb testing.TB, body string, bad ...string) {
	tb.Helper()
	for _, b := range bad {
		if strings.Contains(body, b) {
			tb.Errorf("body contains %q", b)
		}
	}
}

var errPgSecret = errors.New("dial tcp 10.0.0.7:5432: password authentication failed for user gavel_secret")
