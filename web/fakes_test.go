package web

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// fakeStore is an in-memory Accounts, Bidder and AuctionReader that applies
// the real domain rules, so status codes come from the same errors the
// service returns.
type fakeStore struct {
	now func() time.Time

	mu        sync.Mutex
	users     map[int64]domain.User
	passwords map[int64]string
	auctions  map[int64]domain.Auction
	bids      map[int64][]domain.Bid
	aliases   map[int64]map[int64]string // auction → bidder → alias
	autos     map[int64][]domain.AutoBid // bid → the automatic bids it caused
	receipts  map[string]domain.Receipt  // idempotency key → receipt
	audit     []domain.AuditEntry
	nextID    int64
	// Injected failures.
	userByIDErr error
	readErr     error // fails every auction read: an internal error to hide
	authCalls   int
}

var (
	_ Accounts      = (*fakeStore)(nil)
	_ Bidder        = (*fakeStore)(nil)
	_ AuctionReader = (*fakeStore)(nil)
	_ Bidders       = (*fakeStore)(nil)
)

func newFakeStore(now func() time.Time) *fakeStore {
	return &fakeStore{
		now:       now,
		users:     map[int64]domain.User{},
		passwords: map[int64]string{},
		auctions:  map[int64]domain.Auction{},
		bids:      map[int64][]domain.Bid{},
		aliases:   map[int64]map[int64]string{},
		autos:     map[int64][]domain.AutoBid{},
		receipts:  map[string]domain.Receipt{},
	}
}

func (f *fakeStore) id() int64 { f.nextID++; return f.nextID }

// addAuction seeds an auction through the domain's own constructor.
func (f *fakeStore) addAuction(tb testing.TB, seller domain.User, in domain.AuctionInput) domain.Auction {
	tb.Helper()
	a, err := f.CreateAuction(context.Background(), seller, in)
	if err != nil {
		tb.Fatalf("seed auction: %v", err)
	}
	return a
}

// setAuction replaces an auction's stored state (to close or cancel it).
func (f *fakeStore) setAuction(a domain.Auction) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auctions[a.ID] = a
}

// addUser seeds a user directly.
func (f *fakeStore) addUser(email, password, name string, admin bool) domain.User {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := domain.User{ID: f.id(), Email: email, Name: name, Admin: admin, CreatedAt: f.now()}
	f.users[u.ID], f.passwords[u.ID] = u, password
	return u
}

func (f *fakeStore) Register(_ context.Context, email, password, name string) (domain.User, error) {
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

func (f *fakeStore) Authenticate(_ context.Context, email, password string) (domain.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authCalls++
	for id, u := range f.users {
		if strings.EqualFold(u.Email, email) && f.passwords[id] == password {
			return u, nil
		}
	}
	return domain.User{}, domain.ErrBadCredentials
}

func (f *fakeStore) UserByID(_ context.Context, id int64) (domain.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.userByIDErr != nil {
		return domain.User{}, f.userByIDErr
	}
	u, ok := f.users[id]
	if !ok {
		return domain.User{}, domain.ErrUserNotFound
	}
	return u, nil
}

func (f *fakeStore) CreateAuction(_ context.Context, seller domain.User, in domain.AuctionInput) (domain.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := domain.NewAuction(seller.ID, in, f.now())
	if err != nil {
		return a, err
	}
	a.ID = f.id()
	f.auctions[a.ID] = a
	return a, nil
}

func (f *fakeStore) UpdateAuction(_ context.Context, actor domain.User, id int64, in domain.AuctionInput) (domain.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.auctions[id]
	if !ok {
		return a, domain.ErrAuctionNotFound
	}
	if actor.ID != a.SellerID {
		return a, domain.ErrNotSeller
	}
	next, err := domain.Edit(a, in, f.now())
	if err != nil {
		return a, err
	}
	f.auctions[id] = next
	return next, nil
}

func (f *fakeStore) CancelAuction(_ context.Context, actor domain.User, id int64, reason string) (domain.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.auctions[id]
	if !ok {
		return a, domain.ErrAuctionNotFound
	}
	if !actor.Admin {
		if actor.ID != a.SellerID {
			return a, domain.ErrNotSeller
		}
		if a.BidCount > 0 {
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

func (f *fakeStore) PlaceBid(_ context.Context, bidder domain.User, auctionID int64, in domain.BidInput) (domain.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if bidder.Suspended {
		return domain.Receipt{}, domain.ErrSuspended
	}
	if in.IdempotencyKey != "" {
		if r, ok := f.receipts[fmt.Sprint(bidder.ID, "/", in.IdempotencyKey)]; ok {
			if r.AuctionID != auctionID {
				return domain.Receipt{}, domain.ErrIdempotencyKey
			}
			return r, nil
		}
	}
	a, ok := f.auctions[auctionID]
	if !ok {
		return domain.Receipt{}, domain.ErrAuctionNotFound
	}
	if f.aliases[auctionID] == nil {
		f.aliases[auctionID] = map[int64]string{}
	}
	alias, known := f.aliases[auctionID][bidder.ID]
	if !known {
		alias = fmt.Sprintf("Bidder %d", a.BidderCount+1)
	}
	out, err := domain.PlaceBid(a, domain.BidRequest{BidderID: bidder.ID, Alias: alias,
		Amount: in.Amount, MaxAmount: in.MaxAmount, BuyNow: in.BuyNow}, f.now())
	if err != nil {
		return domain.Receipt{}, err
	}
	if !known {
		f.aliases[auctionID][bidder.ID] = alias
		out.Auction.BidderCount++
	}
	b := out.Bid
	b.ID = f.id()
	f.auctions[auctionID] = out.Auction
	f.bids[auctionID] = append(f.bids[auctionID], b)
	f.autos[b.ID] = out.Auto
	r := domain.Receipt{BidID: b.ID, AuctionID: auctionID, Amount: b.Amount, MaxAmount: b.MaxAmount,
		Currency: a.Currency, Seq: b.Seq, ReceivedAt: b.ReceivedAt, Leading: out.Leading,
		CurrentPrice: out.Auction.CurrentPrice, MinNextBid: domain.MinNextBid(out.Auction),
		EndsAt: out.Auction.EndsAt, Status: out.Auction.Status}
	if in.IdempotencyKey != "" {
		f.receipts[fmt.Sprint(bidder.ID, "/", in.IdempotencyKey)] = r
	}
	return r, nil
}

func (f *fakeStore) CancelBid(_ context.Context, admin domain.User, auctionID, bidID int64, reason string) (domain.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !admin.Admin {
		return domain.Auction{}, domain.ErrNotAdmin
	}
	a, ok := f.auctions[auctionID]
	if !ok {
		return a, domain.ErrAuctionNotFound
	}
	if a.Status == domain.StatusClosed {
		return a, domain.ErrAuctionClosed
	}
	bids := f.bids[auctionID]
	i := slices.IndexFunc(bids, func(b domain.Bid) bool { return b.ID == bidID })
	if i < 0 {
		return a, domain.ErrBidNotFound
	}
	bids = slices.Delete(slices.Clone(bids), i, i+1)
	next, _ := domain.Recompute(a, bids, f.now())
	f.auctions[auctionID], f.bids[auctionID] = next, bids
	f.audit = append(f.audit, domain.AuditEntry{ID: f.id(), ActorID: admin.ID, Actor: admin.Name,
		Action: "cancel_bid", TargetID: bidID, Reason: reason, CreatedAt: f.now()})
	return next, nil
}

func (f *fakeStore) SuspendUser(_ context.Context, admin domain.User, userID int64, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !admin.Admin {
		return domain.ErrNotAdmin
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

func (f *fakeStore) Auction(_ context.Context, id int64) (domain.Auction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return domain.Auction{}, f.readErr
	}
	a, ok := f.auctions[id]
	if !ok {
		return a, domain.ErrAuctionNotFound
	}
	a.LeaderName = f.users[a.LeaderID].Name
	return a, nil
}

func (f *fakeStore) Auctions(_ context.Context, flt domain.AuctionFilter) ([]domain.Auction, error) {
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
		if len(flt.IDs) > 0 && !slices.Contains(flt.IDs, a.ID) {
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
		a.LeaderName = f.users[a.LeaderID].Name
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y domain.Auction) int { return int(x.ID - y.ID) })
	if flt.Limit > 0 && len(out) > flt.Limit {
		out = out[:flt.Limit]
	}
	return out, nil
}

func (f *fakeStore) Bids(_ context.Context, auctionID int64, limit int) ([]domain.BidView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.BidView
	bids := f.bids[auctionID]
	for i := len(bids) - 1; i >= 0 && len(out) < limit; i-- {
		b := bids[i]
		auto := f.autos[b.ID]
		for j := len(auto) - 1; j >= 0; j-- {
			u := f.users[auto[j].BidderID]
			out = append(out, domain.BidView{ID: b.ID, Bidder: auto[j].Bidder, Amount: auto[j].Amount, Automatic: true, Seq: b.Seq, Pos: j + 1,
				ReceivedAt: b.ReceivedAt, BidderID: u.ID, BidderName: u.Name, BidderEmail: u.Email})
		}
		u := f.users[b.BidderID]
		out = append(out, domain.BidView{ID: b.ID, Bidder: b.Alias, Amount: b.Amount, BuyNow: b.BuyNow, Raise: b.Raise, Seq: b.Seq,
			ReceivedAt: b.ReceivedAt, BidderID: u.ID, MaxAmount: b.MaxAmount, BidderName: u.Name, BidderEmail: u.Email})
	}
	return out, nil
}

func (f *fakeStore) AliasOf(_ context.Context, auctionID, userID int64) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.aliases[auctionID][userID], nil
}

func (f *fakeStore) Bidders(_ context.Context, auctionID int64) ([]domain.BidderIdentity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.BidderIdentity
	for id, alias := range f.aliases[auctionID] {
		u := f.users[id]
		out = append(out, domain.BidderIdentity{Alias: alias, User: domain.UserRef{ID: u.ID, Name: u.Name, Email: u.Email}})
	}
	slices.SortFunc(out, func(a, b domain.BidderIdentity) int { return strings.Compare(a.Alias, b.Alias) })
	return out, nil
}

func (f *fakeStore) Audit(_ context.Context, limit int) ([]domain.AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.audit)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (f *fakeStore) Users(_ context.Context, limit int) ([]domain.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.User
	for _, u := range f.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(x, y domain.User) int { return int(x.ID - y.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// fakeStreams records the specs it is asked to open and either refuses
// with err or returns serve.
type fakeStreams struct {
	mu    sync.Mutex
	specs []domain.StreamSpec
	err   error
	serve func(net.Conn)
}

var _ Streams = (*fakeStreams)(nil)

func (f *fakeStreams) Open(spec domain.StreamSpec) (func(net.Conn), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.specs = append(f.specs, spec)
	if f.err != nil {
		return nil, f.err
	}
	serve := f.serve
	if serve == nil {
		serve = func(conn net.Conn) {
			if conn != nil {
				_ = conn.Close()
			}
		}
	}
	return serve, nil
}

func (f *fakeStreams) lastSpec() (domain.StreamSpec, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.specs) == 0 {
		return domain.StreamSpec{}, false
	}
	return f.specs[len(f.specs)-1], true
}
