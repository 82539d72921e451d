package bidding

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestBidRulesThroughService(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(t0)
		s := mustService(t, db, c)
		seller := mustUser(t, s, false)
		users := map[string]domain.User{"S": seller, "A": mustUser(t, s, false), "B": mustUser(t, s, false), "C": mustUser(t, s, false)}
		a := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.ReservePrice = 5000 })

		steps := []struct {
			name        string
			who         string
			amount, max int64
			wantCode    domain.Code
			wantPrice   int64
			wantLeader  string
			wantReserve bool
		}{
			{"seller may not bid", "S", 1000, 0, domain.CodeForbidden, 0, "", false},
			{"below start price", "A", 900, 0, domain.CodeConflict, 0, "", false},
			{"first bid with proxy max", "A", 1000, 3000, "", 1000, "A", false},
			{"proxy answers a lower bid", "B", 1100, 0, "", 1150, "A", false},
			{"below min_next_bid", "B", 1160, 0, domain.CodeConflict, 1150, "A", false},
			{"leader raises max past reserve: price jumps to reserve", "A", 1200, 6000, "", 5000, "A", true},
			{"leader cannot lower own max", "A", 5100, 5500, domain.CodeConflict, 5000, "A", true},
			{"proxy answers again", "C", 5100, 0, "", 5200, "A", true},
			{"equal maxima: the earlier wins", "C", 6000, 6000, "", 6000, "A", true},
			{"new leader at just enough", "C", 6100, 0, "", 6100, "C", true},
			{"negative amount", "B", -5, 0, domain.CodeInvalid, 6100, "C", true},
			{"max below amount", "B", 7000, 6500, domain.CodeInvalid, 6100, "C", true},
			{"overflowing amount", "B", domain.MaxMoney + 1, 0, domain.CodeInvalid, 6100, "C", true},
		}
		for _, st := range steps {
			_, err := s.PlaceBid(context.Background(), users[st.who], a.ID, domain.BidInput{Amount: st.amount, MaxAmount: st.max})
			if got := domain.ErrorCode(err); got != st.wantCode {
				t.Fatalf("%s: error code %q (%v), want %q", st.name, got, err, st.wantCode)
			}
			got := mustGet(t, s, a.ID)
			leader := ""
			for k, u := range users {
				if u.ID == got.LeaderID {
					leader = k
				}
			}
			if got.CurrentPrice != st.wantPrice || leader != st.wantLeader || domain.ReserveMet(got) != st.wantReserve {
				t.Fatalf("%s: price %d leader %q reserve_met %v, want %d %q %v", st.name, got.CurrentPrice, leader, domain.ReserveMet(got), st.wantPrice, st.wantLeader, st.wantReserve)
			}
		}
		var e *domain.Error
		_, err := s.PlaceBid(context.Background(), users["B"], a.ID, domain.BidInput{Amount: 1})
		if !errors.As(err, &e) || e.Extra["min_next_bid"] != int64(6200) {
			t.Fatalf("a too-low bid must carry min_next_bid 6200, got %v %#v", err, e)
		}

		// A was outbid once (by C), so A's personal log holds one outbid event.
		outbid := eventsOf(t, s, domain.UserChannel(users["A"].ID))
		if len(outbid) != 1 || outbid[0].Type != domain.EventOutbid || outbid[0].UserSeq != 1 {
			t.Fatalf("A's personal events = %+v, want one outbid at user seq 1", outbid)
		}
		// Every accepted bid made exactly one price event, in seq order.
		evs := eventsOf(t, s, domain.AuctionChannel(a.ID))
		prices := 0
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d: the auction log must be gap-free", i, e.Seq)
			}
			if e.Type == domain.EventPrice {
				prices++
			}
		}
		if got := mustGet(t, s, a.ID); prices != got.BidCount {
			t.Fatalf("%d price events for %d accepted bids", prices, got.BidCount)
		}
		history, err := s.Bids(context.Background(), a.ID, 0)
		// Automatic bids come between the bids; the bids themselves keep
		// their aliases.
		history = slices.DeleteFunc(history, func(l domain.BidView) bool { return l.Automatic })
		if err != nil || len(history) != 6 || history[0].Bidder != "Bidder 3" || history[5].Bidder != "Bidder 1" {
			t.Fatalf("history = %+v, %v; want 6 bids with stable aliases", history, err)
		}
	})
}

func TestBidRefusals(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(t0)
		s := mustService(t, db, c)
		seller, bidder, admin := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, true)
		open := mustAuction(t, s, seller, nil)
		cancelled := mustAuction(t, s, seller, nil)
		if _, err := s.CancelAuction(context.Background(), seller, cancelled.ID, "changed my mind"); err != nil {
			t.Fatal(err)
		}
		suspended := mustUser(t, s, false)
		if err := s.SuspendUser(context.Background(), admin, suspended.ID, "fraud"); err != nil {
			t.Fatal(err)
		}
		suspended.Suspended = false // as if the web layer's copy were stale: the service re-checks
		cases := []struct {
			name    string
			who     domain.User
			auction int64
			want    domain.Code
		}{
			{"anonymous", domain.User{}, open.ID, domain.CodeUnauthorized},
			{"no such auction", bidder, 999999, domain.CodeNotFound},
			{"cancelled auction", bidder, cancelled.ID, domain.CodeGone},
			{"suspended bidder", suspended, open.ID, domain.CodeForbidden},
			{"own auction", seller, open.ID, domain.CodeForbidden},
		}
		for _, tc := range cases {
			_, err := s.PlaceBid(context.Background(), tc.who, tc.auction, domain.BidInput{Amount: 1000})
			if got := domain.ErrorCode(err); got != tc.want {
				t.Errorf("%s: code %q (%v), want %q", tc.name, got, err, tc.want)
			}
		}
		c.set(open.EndsAt)
		if _, err := s.PlaceBid(context.Background(), bidder, open.ID, domain.BidInput{Amount: 1000}); domain.ErrorCode(err) != domain.CodeGone {
			t.Errorf("a bid received exactly at ends_at must be refused as gone, got %v", err)
		}
	})
}

func TestIdempotentBid(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := mustService(t, db, newClock(t0))
		seller, bidder := mustUser(t, s, false), mustUser(t, s, false)
		a := mustAuction(t, s, seller, nil)
		b := mustAuction(t, s, seller, nil)
		in := domain.BidInput{Amount: 1000, IdempotencyKey: "k-1"}
		first, err := s.PlaceBid(context.Background(), bidder, a.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.PlaceBid(context.Background(), bidder, a.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if first.BidID == 0 || again.BidID != first.BidID || again.Seq != first.Seq || !again.ReceivedAt.Equal(first.ReceivedAt) {
			t.Fatalf("retry returned %+v, want the first receipt %+v", again, first)
		}
		if got := mustGet(t, s, a.ID); got.BidCount != 1 {
			t.Fatalf("bid count %d after a retried POST, want 1", got.BidCount)
		}
		if _, err := s.PlaceBid(context.Background(), bidder, b.ID, in); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Fatalf("reusing a key on another auction: %v, want invalid", err)
		}
		// The key names the whole request: any other field is another
		// request, refused rather than answered with the first receipt.
		for _, other := range []domain.BidInput{
			{Amount: 2000, IdempotencyKey: "k-1"},
			{Amount: 1000, MaxAmount: 5000, IdempotencyKey: "k-1"},
			{BuyNow: true, IdempotencyKey: "k-1"},
		} {
			if _, err := s.PlaceBid(context.Background(), bidder, a.ID, other); !errors.Is(err, domain.ErrIdempotencyKey) {
				t.Errorf("key reused for %+v: %v, want %v", other, err, domain.ErrIdempotencyKey)
			}
		}
		if got := mustGet(t, s, a.ID); got.BidCount != 1 {
			t.Fatalf("bid count %d after reused keys, want 1", got.BidCount)
		}
	})
}

// Two requests under one key in the same batch: the second is a retry only
// if it asks for the same thing.
func TestIdempotencyKeyInOneBatch(t *testing.T) {
	t.Parallel()
	a := domain.Auction{ID: 7, SellerID: 1, Currency: "EUR", StartPrice: 1000, Status: domain.StatusOpen,
		StartsAt: t0, EndsAt: t0.Add(time.Hour), OriginalEndsAt: t0.Add(time.Hour)}
	u := domain.User{ID: 2}
	call := func(in domain.BidInput) *bidCall {
		in.IdempotencyKey = "k"
		return &bidCall{auctionID: 7, bidder: u, in: in, receivedAt: t0.Add(time.Minute)}
	}
	batch := []*bidCall{call(domain.BidInput{Amount: 1000}), call(domain.BidInput{Amount: 1000}), call(domain.BidInput{Amount: 1500})}
	p := applyBatch(batch, map[int64]domain.Auction{7: a}, newBatchState(), t0.Add(time.Minute))
	if j, ok := p.dupOf[1]; !ok || j != 0 {
		t.Errorf("identical retry in one batch: dupOf %v, want 1 -> 0", p.dupOf)
	}
	if !errors.Is(p.results[2].err, domain.ErrIdempotencyKey) {
		t.Errorf("same key, other amount, same batch: %v, want %v", p.results[2].err, domain.ErrIdempotencyKey)
	}
}

func TestBuyNow(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := mustService(t, db, newClock(t0))
		seller, x, y := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false)
		a := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.BuyNowPrice = 5000 })
		b := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.BuyNowPrice = 5000 })

		r, err := s.PlaceBid(context.Background(), x, a.ID, domain.BidInput{BuyNow: true})
		if err != nil || r.Status != domain.StatusClosed || r.CurrentPrice != 5000 || !r.Leading {
			t.Fatalf("buy-now receipt %+v, %v", r, err)
		}
		if _, err := s.PlaceBid(context.Background(), y, a.ID, domain.BidInput{Amount: 6000}); domain.ErrorCode(err) != domain.CodeGone {
			t.Fatalf("bid after buy-now: %v, want gone", err)
		}
		won := eventsOf(t, s, domain.UserChannel(x.ID))
		if len(won) != 1 || won[0].Type != domain.EventWon {
			t.Fatalf("buyer's personal events %+v, want one won", won)
		}
		mustBid(t, s, y, b.ID, 1000, 0)
		if _, err := s.PlaceBid(context.Background(), x, b.ID, domain.BidInput{BuyNow: true}); domain.ErrorCode(err) != domain.CodeConflict {
			t.Fatalf("buy-now after the first bid: %v, want conflict", err)
		}
	})
}

func TestSoftClose(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(t0)
		s := mustService(t, db, c)
		seller, x, y := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false)
		a := mustAuction(t, s, seller, nil)
		mustBid(t, s, x, a.ID, 1000, 0)
		c.set(a.EndsAt.Add(-30 * time.Second))
		r := mustBid(t, s, y, a.ID, 2000, 0)
		want := c.now().Add(120 * time.Second)
		if !r.EndsAt.Equal(want) || !mustGet(t, s, a.ID).EndsAt.Equal(want) {
			t.Fatalf("ends_at %v after a bid 30s before the end, want %v", r.EndsAt, want)
		}
		evs := eventsOf(t, s, domain.AuctionChannel(a.ID))
		last := evs[len(evs)-1]
		if last.Type != domain.EventExtended || last.PreviousEndsAt == nil || !last.PreviousEndsAt.Equal(a.EndsAt) || !last.EndsAt.Equal(want) {
			t.Fatalf("last event %+v, want extended from %v to %v", last, a.EndsAt, want)
		}
		// Soft close never runs past the cap (one hour past the original end).
		for i := 0; i < 40; i++ {
			c.set(mustGet(t, s, a.ID).EndsAt.Add(-time.Second))
			cur := mustGet(t, s, a.ID)
			if _, err := s.PlaceBid(context.Background(), []domain.User{x, y}[i%2], a.ID, domain.BidInput{Amount: domain.MinNextBid(cur)}); err != nil {
				if domain.ErrorCode(err) == domain.CodeGone {
					break
				}
				t.Fatal(err)
			}
		}
		if end := mustGet(t, s, a.ID).EndsAt; end.After(a.EndsAt.Add(time.Hour)) {
			t.Fatalf("ends_at %v ran past the cap %v", end, a.EndsAt.Add(time.Hour))
		}
	})
}

func TestCancelAndAudit(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := mustService(t, db, newClock(t0))
		seller, other, bidder, admin := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, true)
		free := mustAuction(t, s, seller, nil)
		bid := mustAuction(t, s, seller, nil)
		mustBid(t, s, bidder, bid.ID, 1000, 0)

		cases := []struct {
			name  string
			actor domain.User
			id    int64
			want  domain.Code
		}{
			{"another user", other, free.ID, domain.CodeForbidden},
			{"seller after the first bid", seller, bid.ID, domain.CodeConflict},
			{"seller before the first bid", seller, free.ID, ""},
			{"seller again", seller, free.ID, domain.CodeGone},
			{"admin any time", admin, bid.ID, ""},
		}
		for _, tc := range cases {
			_, err := s.CancelAuction(context.Background(), tc.actor, tc.id, "reason")
			if got := domain.ErrorCode(err); got != tc.want {
				t.Errorf("%s: %q (%v), want %q", tc.name, got, err, tc.want)
			}
		}
		entries, err := s.Audit(context.Background(), 10)
		if err != nil || len(entries) != 1 || entries[0].Action != "cancel_auction" || entries[0].TargetID != bid.ID {
			t.Fatalf("audit = %+v, %v; want the admin's cancel only", entries, err)
		}
		if err := db.Exec("UPDATE audit_log SET reason = 'x'").Error; err == nil {
			t.Fatal("the audit log accepted an UPDATE; it must be append-only")
		}
		if err := db.Exec("DELETE FROM audit_log").Error; err == nil {
			t.Fatal("the audit log accepted a DELETE; it must be append-only")
		}
		if db.Dialector.Name() == "postgres" {
			if err := db.Exec("TRUNCATE audit_log").Error; err == nil {
				t.Fatal("the audit log accepted a TRUNCATE; it must be append-only")
			}
		}
		if entries, err := s.Audit(context.Background(), 10); err != nil || len(entries) != 1 {
			t.Fatalf("audit after refused changes = %d entries, %v; want the 1 entry kept", len(entries), err)
		}
	})
}

func TestSuspendRecomputes(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := mustService(t, db, newClock(t0))
		seller, x, y, admin := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, true)
		a := mustAuction(t, s, seller, nil)
		mustBid(t, s, x, a.ID, 1000, 0)
		mustBid(t, s, y, a.ID, 1500, 4000)
		if err := s.SuspendUser(context.Background(), x, y.ID, ""); domain.ErrorCode(err) != domain.CodeForbidden {
			t.Fatalf("a non-admin suspending: %v, want forbidden", err)
		}
		if err := s.SuspendUser(context.Background(), admin, y.ID, "shill bidding"); err != nil {
			t.Fatal(err)
		}
		got := mustGet(t, s, a.ID)
		if got.LeaderID != x.ID || got.CurrentPrice != 1000 || got.BidCount != 1 {
			t.Fatalf("after suspending the leader: leader %d price %d count %d, want %d 1000 1", got.LeaderID, got.CurrentPrice, got.BidCount, x.ID)
		}
		u, _ := s.UserByID(context.Background(), y.ID)
		if !u.Suspended {
			t.Fatal("user not marked suspended")
		}
		personal := eventsOf(t, s, domain.UserChannel(y.ID))
		if len(personal) == 0 || personal[len(personal)-1].Type != domain.EventSuspended {
			t.Fatalf("no suspended event for the user: %+v", personal)
		}
	})
}

func TestAccounts(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := mustService(t, db, newClock(t0))
		ctx := context.Background()
		u, err := s.Register(ctx, "Ann@Example.com", "long enough", "Ann")
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name, email, password string
			want                  domain.Code
		}{
			{"right", "ann@example.com", "long enough", ""},
			{"wrong password", "Ann@Example.com", "wrong one!", domain.CodeUnauthorized},
			{"unknown email", "bob@example.com", "long enough", domain.CodeUnauthorized},
		}
		for _, tc := range cases {
			got, err := s.Authenticate(ctx, tc.email, tc.password)
			if domain.ErrorCode(err) != tc.want || (err == nil && got.ID != u.ID) {
				t.Errorf("%s: %v %v", tc.name, got, err)
			}
			if err != nil && err.Error() != domain.ErrBadCredentials.Error() {
				t.Errorf("%s: the error must not say which part was wrong: %v", tc.name, err)
			}
		}
		if _, err := s.Register(ctx, "ANN@example.com", "long enough", "Ann 2"); !errors.Is(err, domain.ErrEmailTaken) {
			t.Errorf("duplicate email (other case): %v", err)
		}
		if _, err := s.Register(ctx, "not-an-email", "short", ""); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("invalid registration: %v", err)
		}
	})
}

// TestUserCache: UserByID may serve a user for the TTL, but never hides a
// suspension made through this service.
func TestUserCache(t *testing.T) {
	db := testpg.DB(t)
	c := newClock(t0)
	s := New(db, Options{Now: c.now, PasswordCost: bcrypt.MinCost, UserCacheTTL: time.Second})
	admin, u := mustUser(t, s, true), mustUser(t, s, false)
	get := func() domain.User {
		t.Helper()
		got, err := s.UserByID(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	steps := []struct {
		name string
		do   func()
		want func(domain.User) bool
	}{
		{"first read", func() {}, func(g domain.User) bool { return g.Name == u.Name }},
		{"renamed elsewhere: cached within the TTL", func() { db.Exec("UPDATE users SET name = 'Renamed' WHERE id = ?", u.ID) },
			func(g domain.User) bool { return g.Name == u.Name }},
		{"after the TTL: fresh", func() { c.add(time.Second) }, func(g domain.User) bool { return g.Name == "Renamed" }},
		{"suspended here: seen at once", func() {
			if err := s.SuspendUser(context.Background(), admin, u.ID, "test"); err != nil {
				t.Fatal(err)
			}
		}, func(g domain.User) bool { return g.Suspended }},
	}
	for _, st := range steps {
		st.do()
		if g := get(); !st.want(g) {
			t.Fatalf("%s: got %+v", st.name, g)
		}
	}
}
