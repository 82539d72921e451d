package domain_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mods   []func(*domain.Auction)
		at     time.Duration
		wantOK bool
	}{
		{name: "scheduled, before start", mods: mods(scheduledAt(time.Minute)), at: time.Minute - 1},
		{name: "scheduled, at start", mods: mods(scheduledAt(time.Minute)), at: time.Minute, wantOK: true},
		{name: "scheduled, late", mods: mods(scheduledAt(time.Minute)), at: 2 * time.Minute, wantOK: true},
		{name: "already open"},
		{name: "closed", mods: mods(withStatus(domain.StatusClosed))},
		{name: "cancelled", mods: mods(withStatus(domain.StatusCancelled))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := openAuction(tt.mods...)
			now := t0.Add(tt.at)
			got, evs, ok := domain.Open(a, now)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				if got != a || evs != nil {
					t.Errorf("no-op changed state or emitted %v", eventTypes(evs))
				}
				return
			}
			if got.Status != domain.StatusOpen || !slices.Equal(eventTypes(evs), []domain.EventType{evOpened}) {
				t.Errorf("status %s, events %v", got.Status, eventTypes(evs))
			}
			checkEvents(t, a.Seq, got, evs, now)
			if _, _, again := domain.Open(got, now); again {
				t.Errorf("second Open was not a no-op")
			}
		})
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mods       []func(*domain.Auction)
		at         time.Duration
		wantOK     bool
		wantWinner int64
		wantEvents []domain.EventType
	}{
		{name: "reserve met", mods: mods(reserve(5000), leading(alice, 6000, 7000, 3)), at: end, wantOK: true, wantWinner: alice, wantEvents: evs(evClosed, evWon)},
		{name: "reserve exactly met", mods: mods(reserve(5000), leading(alice, 5000, 5000, 1)), at: end, wantOK: true, wantWinner: alice, wantEvents: evs(evClosed, evWon)},
		{name: "reserve not met", mods: mods(reserve(5000), leading(alice, 4000, 4999, 2)), at: end, wantOK: true, wantEvents: evs(evClosed)},
		{name: "no reserve", mods: mods(leading(bob, 1000, 1000, 1)), at: end + time.Minute, wantOK: true, wantWinner: bob, wantEvents: evs(evClosed, evWon)},
		{name: "no bids", at: end, wantOK: true, wantEvents: evs(evClosed)},
		{name: "scheduled, never opened, past end", mods: mods(scheduledAt(time.Minute)), at: end, wantOK: true, wantEvents: evs(evClosed)},
		{name: "not yet due", mods: mods(leading(bob, 1000, 1000, 1)), at: end - 1},
		{name: "extended end not yet due", mods: mods(leading(bob, 1000, 1000, 1), endsAt(end+time.Minute)), at: end + time.Second},
		{name: "already closed", mods: mods(leading(bob, 1000, 1000, 1), withStatus(domain.StatusClosed)), at: end},
		{name: "cancelled", mods: mods(withStatus(domain.StatusCancelled)), at: end},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := openAuction(tt.mods...)
			now := t0.Add(tt.at)
			got, events, ok := domain.Close(a, now)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				if got != a || events != nil {
					t.Errorf("no-op changed state or emitted %v", eventTypes(events))
				}
				return
			}
			if got.Status != domain.StatusClosed || domain.Winner(got) != tt.wantWinner {
				t.Errorf("status %s, winner %d; want closed, %d", got.Status, domain.Winner(got), tt.wantWinner)
			}
			if !slices.Equal(eventTypes(events), tt.wantEvents) {
				t.Fatalf("events %v, want %v", eventTypes(events), tt.wantEvents)
			}
			checkEvents(t, a.Seq, got, events, now)
			wantAlias := ""
			if tt.wantWinner != 0 {
				wantAlias = aliasOf(tt.wantWinner)
				if won := events[1]; won.UserID != tt.wantWinner || won.WinnerID != tt.wantWinner || won.Winner != wantAlias {
					t.Errorf("won event %+v", won)
				}
			}
			if events[0].Winner != wantAlias || events[0].Status != domain.StatusClosed {
				t.Errorf("closed event winner %q status %s, want %q", events[0].Winner, events[0].Status, wantAlias)
			}
			if again, evs, ok := domain.Close(got, now.Add(time.Hour)); ok || evs != nil || again != got {
				t.Errorf("duplicate close was not a no-op")
			}
			if _, err := domain.PlaceBid(got, domain.BidRequest{BidderID: carol, Amount: 99999}, now); !errors.Is(err, domain.ErrAuctionClosed) {
				t.Errorf("bid after close: %v", err)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mods    []func(*domain.Auction)
		wantErr error
	}{
		{name: "open"},
		{name: "scheduled", mods: mods(scheduledAt(time.Hour))},
		{name: "open with bids (admin)", mods: mods(leading(alice, 1000, 1000, 1))},
		{name: "closed", mods: mods(withStatus(domain.StatusClosed)), wantErr: domain.ErrAuctionClosed},
		{name: "cancelled", mods: mods(withStatus(domain.StatusCancelled)), wantErr: domain.ErrAuctionCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := openAuction(tt.mods...)
			got, events, err := domain.Cancel(a, "counterfeit", t0)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != a || events != nil {
					t.Errorf("err %v (want %v), events %v", err, tt.wantErr, eventTypes(events))
				}
				mustDomainError(t, err, domain.CodeGone)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != domain.StatusCancelled || len(events) != 1 || events[0].Type != domain.EventCancelled || events[0].Reason != "counterfeit" {
				t.Fatalf("status %s, events %+v", got.Status, events)
			}
			checkEvents(t, a.Seq, got, events, t0)
			if _, err := domain.PlaceBid(got, domain.BidRequest{BidderID: carol, Amount: 99999}, t0); !errors.Is(err, domain.ErrAuctionCanceled) {
				t.Errorf("bid after cancel: %v", err)
			}
			if _, _, ok := domain.Close(got, t0.Add(2*end)); ok {
				t.Errorf("Close after cancel was not a no-op")
			}
		})
	}
}

func TestSellerPredicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		mods                  []func(*domain.Auction)
		canEdit, buyNow, met  bool
		wantMinNext, wantWins int64
	}{
		{name: "open, no bids", mods: mods(buyNowAt(9000)), canEdit: true, buyNow: true, wantMinNext: 1000},
		{name: "scheduled, no bids", mods: mods(buyNowAt(9000), scheduledAt(time.Hour)), canEdit: true, buyNow: true, wantMinNext: 1000},
		{name: "no buy-now price", canEdit: true, wantMinNext: 1000},
		{name: "one bid", mods: mods(buyNowAt(9000), leading(alice, 1000, 1000, 1)), met: true, wantMinNext: 1050},
		{name: "reserve unmet", mods: mods(reserve(2000), leading(alice, 1999, 1999, 1)), wantMinNext: 2049},
		{name: "reserve met", mods: mods(reserve(2000), leading(alice, 2000, 2500, 1)), met: true, wantMinNext: 2050},
		{name: "closed, no bids", mods: mods(buyNowAt(9000), withStatus(domain.StatusClosed)), wantMinNext: 1000},
		{name: "closed, sold", mods: mods(leading(alice, 1000, 1000, 1), withStatus(domain.StatusClosed)), met: true, wantMinNext: 1050, wantWins: alice},
		{name: "closed, unsold", mods: mods(reserve(2000), leading(alice, 1000, 1000, 1), withStatus(domain.StatusClosed)), wantMinNext: 1050},
		{name: "cancelled", mods: mods(buyNowAt(9000), withStatus(domain.StatusCancelled)), wantMinNext: 1000},
		{name: "open, sold price not yet final", mods: mods(leading(alice, 1000, 1000, 1)), met: true, wantMinNext: 1050},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := openAuction(tt.mods...)
			if got := domain.CanSellerEdit(a); got != tt.canEdit {
				t.Errorf("CanSellerEdit = %v", got)
			}
			if got := domain.BuyNowAvailable(a); got != tt.buyNow {
				t.Errorf("BuyNowAvailable = %v", got)
			}
			if got := domain.ReserveMet(a); got != tt.met {
				t.Errorf("ReserveMet = %v", got)
			}
			if got := domain.MinNextBid(a); got != tt.wantMinNext {
				t.Errorf("MinNextBid = %d, want %d", got, tt.wantMinNext)
			}
			if got := domain.Winner(a); got != tt.wantWins {
				t.Errorf("Winner = %d, want %d", got, tt.wantWins)
			}
		})
	}
}

func validInput() domain.AuctionInput {
	return domain.AuctionInput{Title: "  Brass lamp ", Description: " Works. ", Currency: "EUR", StartPrice: 1000, EndsAt: t0.Add(24 * time.Hour)}
}

func TestNewAuction(t *testing.T) {
	t.Parallel()
	zero, later, past := 0, t0.Add(time.Hour), t0.Add(-time.Hour)
	tests := []struct {
		name       string
		mod        func(*domain.AuctionInput)
		wantStatus domain.Status
		wantStart  time.Time
		wantSoft   int
	}{
		{name: "defaults", mod: func(*domain.AuctionInput) {}, wantStatus: domain.StatusOpen, wantStart: t0, wantSoft: 120},
		{name: "hard close", mod: func(in *domain.AuctionInput) { in.SoftCloseSeconds = &zero }, wantStatus: domain.StatusOpen, wantStart: t0},
		{name: "future start", mod: func(in *domain.AuctionInput) { in.StartsAt = &later }, wantStatus: domain.StatusScheduled, wantStart: later, wantSoft: 120},
		{name: "past start means now", mod: func(in *domain.AuctionInput) { in.StartsAt = &past }, wantStatus: domain.StatusOpen, wantStart: t0, wantSoft: 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := validInput()
			tt.mod(&in)
			a, err := domain.NewAuction(seller, in, t0)
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != tt.wantStatus || !a.StartsAt.Equal(tt.wantStart) || a.SoftCloseSeconds != tt.wantSoft {
				t.Errorf("status %s start %v soft %d", a.Status, a.StartsAt, a.SoftCloseSeconds)
			}
			if a.SellerID != seller || a.Title != "Brass lamp" || a.Description != "Works." || a.StartPrice != 1000 ||
				!a.OriginalEndsAt.Equal(in.EndsAt) || !a.EndsAt.Equal(in.EndsAt) || a.MaxExtension != domain.DefaultMaxExtension ||
				a.Seq != 0 || a.BidCount != 0 || a.CurrentPrice != 0 || !a.CreatedAt.Equal(t0) {
				t.Errorf("auction %+v", a)
			}
		})
	}
	in := validInput()
	in.Title = ""
	if _, err := domain.NewAuction(seller, in, t0); domain.ErrorCode(err) != domain.CodeInvalid {
		t.Errorf("invalid input: %v", err)
	}
}

func TestEdit(t *testing.T) {
	t.Parallel()
	start := t0.Add(2 * time.Hour)
	tests := []struct {
		name       string
		mods       []func(*domain.Auction)
		mod        func(*domain.AuctionInput)
		wantCode   domain.Code
		wantErr    error
		wantStatus domain.Status
		wantStart  time.Time
	}{
		{name: "open keeps its start", wantStatus: domain.StatusOpen, wantStart: t0.Add(-time.Hour)},
		{name: "open ignores a new start", mod: func(in *domain.AuctionInput) { in.StartsAt = &start }, wantStatus: domain.StatusOpen, wantStart: t0.Add(-time.Hour)},
		{name: "scheduled takes a new start", mods: mods(scheduledAt(time.Hour)), mod: func(in *domain.AuctionInput) { in.StartsAt = &start }, wantStatus: domain.StatusScheduled, wantStart: start},
		{name: "has bids", mods: mods(leading(alice, 1000, 1000, 1)), wantCode: domain.CodeConflict, wantErr: domain.ErrHasBids},
		{name: "closed", mods: mods(withStatus(domain.StatusClosed)), wantCode: domain.CodeGone},
		{name: "cancelled", mods: mods(withStatus(domain.StatusCancelled)), wantCode: domain.CodeGone},
		{name: "invalid input", mod: func(in *domain.AuctionInput) { in.StartPrice = 0 }, wantCode: domain.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := openAuction(tt.mods...)
			a.Seq, a.CreatedAt = 5, t0.Add(-48*time.Hour)
			in := validInput()
			in.Title, in.StartPrice = "Copper lamp", 2000
			if tt.mod != nil {
				tt.mod(&in)
			}
			got, err := domain.Edit(a, in, t0)
			if tt.wantCode != "" {
				mustDomainError(t, err, tt.wantCode)
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("%v is not %v", err, tt.wantErr)
				}
				if got != a {
					t.Errorf("refused edit changed the auction")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != "Copper lamp" || got.StartPrice != 2000 || got.Status != tt.wantStatus || !got.StartsAt.Equal(tt.wantStart) {
				t.Errorf("title %q price %d status %s start %v", got.Title, got.StartPrice, got.Status, got.StartsAt)
			}
			if got.ID != a.ID || got.Seq != a.Seq || !got.CreatedAt.Equal(a.CreatedAt) || got.SellerID != a.SellerID ||
				!got.OriginalEndsAt.Equal(in.EndsAt) || !got.UpdatedAt.Equal(t0) {
				t.Errorf("identity not kept: %+v", got)
			}
		})
	}
}

func TestRecompute(t *testing.T) {
	t.Parallel()
	const m = time.Minute
	bids := []timedBid{
		{at: 1 * m, bidder: alice, amount: 1000, max: 3000},
		{at: 2 * m, bidder: bob, amount: 2000},
		{at: 3 * m, bidder: carol, amount: 3500},
		{at: 4 * m, bidder: alice, amount: 3600, max: 4000},
	}
	tests := []struct {
		name                       string
		remove                     int64
		price, leader, max, minNxt int64
		count                      int
	}{
		{name: "nobody removed", price: 3600, leader: alice, max: 4000, minNxt: 3700, count: 4},
		{name: "without carol: alice's last bid becomes a raise", remove: carol, price: 2050, leader: alice, max: 4000, minNxt: 2100, count: 3},
		{name: "without alice", remove: alice, price: 3500, leader: carol, max: 3500, minNxt: 3600, count: 2},
		{name: "without bob", remove: bob, price: 3600, leader: alice, max: 4000, minNxt: 3700, count: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			initial := openAuction(buyNowAt(90000))
			a, accepted := placeAll(initial, bids)
			if len(accepted) != len(bids) {
				t.Fatalf("%d of %d bids accepted", len(accepted), len(bids))
			}
			now := t0.Add(10 * m)
			got, events := domain.Recompute(a, without(accepted, tt.remove), now)
			if got.CurrentPrice != tt.price || got.LeaderID != tt.leader || got.LeaderMax != tt.max ||
				domain.MinNextBid(got) != tt.minNxt || got.BidCount != tt.count {
				t.Errorf("price %d leader %d max %d min_next %d count %d", got.CurrentPrice, got.LeaderID, got.LeaderMax, domain.MinNextBid(got), got.BidCount)
			}
			fresh, _ := placeAll(initial, slices.DeleteFunc(slices.Clone(bids), func(b timedBid) bool { return b.bidder == tt.remove }))
			if !sameBids(got, fresh) {
				t.Errorf("recomputed %+v\nfresh      %+v", got, fresh)
			}
			if got.Seq != a.Seq+1 || !got.EndsAt.Equal(a.EndsAt) || got.Status != a.Status {
				t.Errorf("seq %d (want %d), ends_at %v, status %s", got.Seq, a.Seq+1, got.EndsAt, got.Status)
			}
			if len(events) != 1 || events[0].Type != evPrice || events[0].CurrentPrice != tt.price {
				t.Fatalf("events %+v", events)
			}
			checkEvents(t, a.Seq, got, events, now)
		})
	}
}

func TestRecomputeEmpty(t *testing.T) {
	t.Parallel()
	a, accepted := placeAll(openAuction(buyNowAt(90000), reserve(2000)), []timedBid{{bidder: alice, amount: 1500}, {bidder: alice, amount: 2500}})
	if len(accepted) != 2 {
		t.Fatalf("%d bids accepted", len(accepted))
	}
	got, events := domain.Recompute(a, without(accepted, alice), t0)
	if got.CurrentPrice != 0 || got.LeaderID != 0 || got.LeaderMax != 0 || got.LeaderAlias != "" || got.BidCount != 0 {
		t.Errorf("state after removing every bid: %+v", got)
	}
	if domain.MinNextBid(got) != 1000 || !domain.BuyNowAvailable(got) || !domain.CanSellerEdit(got) || domain.ReserveMet(got) {
		t.Errorf("min_next %d, buy-now %v, editable %v, reserve met %v", domain.MinNextBid(got), domain.BuyNowAvailable(got), domain.CanSellerEdit(got), domain.ReserveMet(got))
	}
	if len(events) != 1 || events[0].BuyNowPrice != 90000 || events[0].Leader != "" {
		t.Errorf("events %+v", events)
	}
	bought := domain.Bid{BidderID: bob, Alias: aliasOf(bob), Amount: 90000, MaxAmount: 90000, BuyNow: true}
	if got, _ := domain.Recompute(a, []domain.Bid{bought}, t0); got.LeaderID != 0 || got.BidCount != 0 {
		t.Errorf("a buy-now bid was replayed: %+v", got)
	}
}

func TestRecomputeKeepsEnd(t *testing.T) {
	t.Parallel()
	a := openAuction(leading(carol, 5000, 5000, 3))
	late := []domain.Bid{
		{BidderID: alice, Alias: aliasOf(alice), Amount: 1000, MaxAmount: 1000, ReceivedAt: t0.Add(end - 10*time.Second)},
		{BidderID: bob, Alias: aliasOf(bob), Amount: 1050, MaxAmount: 1050, ReceivedAt: t0.Add(end - 5*time.Second)},
	}
	got, events := domain.Recompute(a, late, t0.Add(end+time.Hour))
	if got.CurrentPrice != 1050 || got.LeaderID != bob || got.BidCount != 2 || !got.EndsAt.Equal(a.EndsAt) || len(events) != 1 {
		t.Errorf("price %d leader %d bids %d ends_at %v, %d events", got.CurrentPrice, got.LeaderID, got.BidCount, got.EndsAt.Sub(t0), len(events))
	}
}
