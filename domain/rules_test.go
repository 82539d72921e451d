package domain_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

const (
	evOpened = domain.EventOpened
	evPrice  = domain.EventPrice
	evExt    = domain.EventExtended
	evClosed = domain.EventClosed
	evOutbid = domain.EventOutbid
	evWon    = domain.EventWon
)

func evs(t ...domain.EventType) []domain.EventType { return t }

func TestPlaceBidSequences(t *testing.T) {
	t.Parallel()
	const s = time.Second
	tests := []struct {
		name  string
		mods  []func(*domain.Auction)
		steps []step
	}{
		{name: "ascending bids, increments and own bids", steps: []step{
			{name: "below start", bidder: alice, amount: 999, code: domain.CodeConflict, field: "amount", extraMin: 1000},
			{name: "first bid at start", bidder: alice, amount: 1000, price: 1000, leader: alice, leaderMax: 1000, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice)},
			{name: "below min next", bidder: bob, amount: 1049, code: domain.CodeConflict, extraMin: 1050},
			{name: "exactly min next", bidder: bob, amount: 1050, price: 1050, leader: bob, leaderMax: 1050, minNext: 1100, bids: 2, seq: 3, events: evs(evPrice, evOutbid), outbid: alice},
			{name: "jump bid crosses a band", bidder: alice, amount: 2500, price: 2500, leader: alice, leaderMax: 2500, minNext: 2600, bids: 3, seq: 4, events: evs(evPrice, evOutbid), outbid: bob},
			{name: "seller", bidder: seller, amount: 5000, code: domain.CodeForbidden, sentinel: domain.ErrOwnAuction},
			{name: "leader raises without a max", bidder: alice, amount: 2600, price: 2500, leader: alice, leaderMax: 2600, minNext: 2600, bids: 4, seq: 5, events: evs(evPrice)},
			{name: "leader repeats own max", bidder: alice, amount: 2600, code: domain.CodeConflict, field: "max_amount", extraMin: 2600},
			{name: "equal maxima: earlier wins", bidder: bob, amount: 2600, max: 2600, price: 2600, leader: alice, leaderMax: 2600, minNext: 2700, bids: 5, seq: 6, events: evs(evPrice)},
			{name: "leader raise just below min next", bidder: alice, amount: 2699, code: domain.CodeConflict, extraMin: 2700},
			{name: "leader raise ignores a low amount", bidder: alice, amount: 2000, max: 2700, price: 2600, leader: alice, leaderMax: 2700, minNext: 2700, bids: 6, seq: 7, events: evs(evPrice)},
		}},
		{name: "proxy answers lower bids and is overtaken", steps: []step{
			{name: "hidden max", bidder: alice, amount: 1000, max: 5000, price: 1000, leader: alice, leaderMax: 5000, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice)},
			{name: "proxy answers one increment up", bidder: bob, amount: 1200, price: 1250, leader: alice, leaderMax: 5000, minNext: 1300, bids: 2, seq: 3, events: evs(evPrice)},
			{name: "proxy answers a max", bidder: bob, amount: 2000, max: 3000, price: 3100, leader: alice, leaderMax: 5000, minNext: 3200, bids: 3, seq: 4, events: evs(evPrice)},
			{name: "never below what the new bidder entered", bidder: carol, amount: 6000, price: 6000, leader: carol, leaderMax: 6000, minNext: 6100, bids: 4, seq: 5, events: evs(evPrice, evOutbid), outbid: alice},
			{name: "second max plus increment", bidder: alice, amount: 6100, max: 7000, price: 6100, leader: alice, leaderMax: 7000, minNext: 6200, bids: 5, seq: 6, events: evs(evPrice, evOutbid), outbid: carol},
			{name: "equal maxima keep the earlier", bidder: bob, amount: 6500, max: 7000, price: 7000, leader: alice, leaderMax: 7000, minNext: 7100, bids: 6, seq: 7, events: evs(evPrice)},
			{name: "one increment over the tie", bidder: bob, amount: 7100, price: 7100, leader: bob, leaderMax: 7100, minNext: 7200, bids: 7, seq: 8, events: evs(evPrice, evOutbid), outbid: alice},
		}},
		{name: "new leader pays one increment over the old max", steps: []step{
			{name: "first", bidder: alice, amount: 1000, max: 2000, price: 1000, leader: alice, leaderMax: 2000, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice)},
			{name: "overtake", bidder: bob, amount: 1050, max: 9000, price: 2050, leader: bob, leaderMax: 9000, minNext: 2100, bids: 2, seq: 3, events: evs(evPrice, evOutbid), outbid: alice},
			{name: "answered", bidder: carol, amount: 2100, max: 2100, price: 2150, leader: bob, leaderMax: 9000, minNext: 2200, bids: 3, seq: 4, events: evs(evPrice)},
		}},
		{name: "prices capped by the maxima", steps: []step{
			{name: "first", bidder: alice, amount: 1000, max: 2000, price: 1000, leader: alice, leaderMax: 2000, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice)},
			{name: "leader capped at own max", bidder: bob, amount: 1980, price: 2000, leader: alice, leaderMax: 2000, minNext: 2050, bids: 2, seq: 3, events: evs(evPrice)},
			{name: "new leader at min next", bidder: carol, amount: 2050, max: 2060, price: 2050, leader: carol, leaderMax: 2060, minNext: 2100, bids: 3, seq: 4, events: evs(evPrice, evOutbid), outbid: alice},
		}},
		{name: "new leader capped at own max", steps: []step{
			{name: "first", bidder: alice, amount: 1000, max: 2000, price: 1000, leader: alice, leaderMax: 2000, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice)},
			{name: "overtake below old max plus increment", bidder: bob, amount: 1050, max: 2020, price: 2020, leader: bob, leaderMax: 2020, minNext: 2070, bids: 2, seq: 3, events: evs(evPrice, evOutbid), outbid: alice},
		}},
		{name: "self raise moves neither price nor end", steps: []step{
			{name: "first", bidder: alice, amount: 1000, price: 1000, leader: alice, leaderMax: 1000, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice)},
			{name: "raise in the window", at: end - 10*s, bidder: alice, amount: 1000, max: 5000, price: 1000, leader: alice, leaderMax: 5000, minNext: 1050, bids: 2, seq: 3, events: evs(evPrice)},
			{name: "raise again", at: end - 5*s, bidder: alice, amount: 6000, price: 1000, leader: alice, leaderMax: 6000, minNext: 1050, bids: 3, seq: 4, events: evs(evPrice)},
			{name: "a rival's bid extends", at: end - 4*s, bidder: bob, amount: 1050, price: 1100, leader: alice, leaderMax: 6000, minNext: 1150, bids: 4, seq: 6, events: evs(evPrice, evExt), endsAt: end + 116*s},
		}},
		{name: "reserve reached by a self raise", mods: mods(reserve(5000)), steps: []step{
			{name: "max just under", bidder: alice, amount: 1000, max: 4999, price: 1000, leader: alice, leaderMax: 4999, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice), reserve: "unmet"},
			{name: "raise to the reserve", bidder: alice, amount: 1000, max: 5000, price: 5000, leader: alice, leaderMax: 5000, minNext: 5100, bids: 2, seq: 3, events: evs(evPrice), reserve: "met"},
			{name: "overtaken above", bidder: bob, amount: 5100, price: 5100, leader: bob, leaderMax: 5100, minNext: 5200, bids: 3, seq: 4, events: evs(evPrice, evOutbid), outbid: alice, reserve: "met"},
		}},
		{name: "reserve reached by a new leader", mods: mods(reserve(5000)), steps: []step{
			{name: "first", bidder: alice, amount: 1000, max: 2000, price: 1000, leader: alice, leaderMax: 2000, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice), reserve: "unmet"},
			{name: "straight to the reserve", bidder: bob, amount: 2100, max: 5500, price: 5000, leader: bob, leaderMax: 5500, minNext: 5100, bids: 2, seq: 3, events: evs(evPrice, evOutbid), outbid: alice, reserve: "met"},
			{name: "equal max above reserve", bidder: carol, amount: 5100, max: 5500, price: 5500, leader: bob, leaderMax: 5500, minNext: 5600, bids: 3, seq: 4, events: evs(evPrice), reserve: "met"},
		}},
		{name: "reserve reached by the first bid", mods: mods(reserve(5000)), steps: []step{
			{name: "max above reserve", bidder: alice, amount: 1000, max: 8000, price: 5000, leader: alice, leaderMax: 8000, minNext: 5100, bids: 1, seq: 2, events: evs(evPrice), reserve: "met"},
		}},
		{name: "reserve one cent above the bid", mods: mods(reserve(5000)), steps: []step{
			{name: "max above reserve", bidder: alice, amount: 4999, max: 5000, price: 5000, leader: alice, leaderMax: 5000, minNext: 5100, bids: 1, seq: 2, events: evs(evPrice), reserve: "met"},
		}},
		{name: "self raise to the reserve in the window keeps the end", mods: mods(reserve(5000)), steps: []step{
			{name: "first", at: end - 30*s, bidder: alice, amount: 1000, price: 1000, leader: alice, leaderMax: 1000, minNext: 1050, bids: 1, seq: 3, events: evs(evPrice, evExt), endsAt: end + 90*s, reserve: "unmet"},
			{name: "raise to reserve", at: end + 80*s, bidder: alice, amount: 6000, price: 5000, leader: alice, leaderMax: 6000, minNext: 5100, bids: 2, seq: 4, events: evs(evPrice), endsAt: end + 90*s, reserve: "met"},
		}},
		{name: "proxy below the reserve stays below", mods: mods(reserve(5000)), steps: []step{
			{name: "first", bidder: alice, amount: 1000, max: 4000, price: 1000, leader: alice, leaderMax: 4000, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice), reserve: "unmet"},
			{name: "answered", bidder: bob, amount: 3000, price: 3100, leader: alice, leaderMax: 4000, minNext: 3200, bids: 2, seq: 3, events: evs(evPrice), reserve: "unmet"},
			{name: "tie", bidder: bob, amount: 4000, price: 4000, leader: alice, leaderMax: 4000, minNext: 4100, bids: 3, seq: 4, events: evs(evPrice), reserve: "unmet"},
			{name: "over it", bidder: carol, amount: 4100, max: 6000, price: 5000, leader: carol, leaderMax: 6000, minNext: 5100, bids: 4, seq: 5, events: evs(evPrice, evOutbid), outbid: alice, reserve: "met"},
		}},
		{name: "fixed increment", mods: mods(func(a *domain.Auction) { a.Increment = 300 }), steps: []step{
			{name: "first", bidder: alice, amount: 1000, price: 1000, leader: alice, leaderMax: 1000, minNext: 1300, bids: 1, seq: 2, events: evs(evPrice)},
			{name: "below", bidder: bob, amount: 1299, code: domain.CodeConflict, extraMin: 1300},
			{name: "overtake", bidder: bob, amount: 1300, max: 2000, price: 1300, leader: bob, leaderMax: 2000, minNext: 1600, bids: 2, seq: 3, events: evs(evPrice, evOutbid), outbid: alice},
			{name: "proxy answers", bidder: alice, amount: 1600, price: 1900, leader: bob, leaderMax: 2000, minNext: 2200, bids: 3, seq: 4, events: evs(evPrice)},
			{name: "still fixed above the band", bidder: alice, amount: 2200, max: 3000, price: 2300, leader: alice, leaderMax: 3000, minNext: 2600, bids: 4, seq: 5, events: evs(evPrice, evOutbid), outbid: bob},
		}},
		{name: "JPY table", mods: mods(func(a *domain.Auction) { a.Currency = "JPY" }), steps: []step{
			{name: "first", bidder: alice, amount: 1000, price: 1000, leader: alice, leaderMax: 1000, minNext: 1025, bids: 1, seq: 2, events: evs(evPrice)},
			{name: "overtake", bidder: bob, amount: 1025, max: 3000, price: 1025, leader: bob, leaderMax: 3000, minNext: 1050, bids: 2, seq: 3, events: evs(evPrice, evOutbid), outbid: alice},
			{name: "answered", bidder: alice, amount: 2600, price: 2650, leader: bob, leaderMax: 3000, minNext: 2700, bids: 3, seq: 4, events: evs(evPrice)},
		}},
		{name: "soft close up to the cap", mods: mods(func(a *domain.Auction) { a.MaxExtension = 150 * s }), steps: []step{
			{name: "before the window", at: end - 121*s, bidder: alice, amount: 1000, price: 1000, leader: alice, leaderMax: 1000, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice)},
			{name: "at the window's start", at: end - 120*s, bidder: bob, amount: 1050, price: 1050, leader: bob, leaderMax: 1050, minNext: 1100, bids: 2, seq: 3, events: evs(evPrice, evOutbid), outbid: alice},
			{name: "inside", at: end - 60*s, bidder: alice, amount: 1100, price: 1100, leader: alice, leaderMax: 1100, minNext: 1150, bids: 3, seq: 5, events: evs(evPrice, evExt, evOutbid), outbid: bob, endsAt: end + 60*s},
			{name: "self raise after the original end", at: end + 30*s, bidder: alice, amount: 1100, max: 5000, price: 1100, leader: alice, leaderMax: 5000, minNext: 1150, bids: 4, seq: 6, events: evs(evPrice), endsAt: end + 60*s},
			{name: "price change capped", at: end + 59*s, bidder: bob, amount: 1150, price: 1200, leader: alice, leaderMax: 5000, minNext: 1250, bids: 5, seq: 8, events: evs(evPrice, evExt), endsAt: end + 150*s},
			{name: "at the cap", at: end + 149*s, bidder: bob, amount: 1250, price: 1300, leader: alice, leaderMax: 5000, minNext: 1350, bids: 6, seq: 9, events: evs(evPrice), endsAt: end + 150*s},
			{name: "at the extended end", at: end + 150*s, bidder: bob, amount: 1350, code: domain.CodeGone, sentinel: domain.ErrAuctionClosed},
		}},
		{name: "hard close", mods: mods(func(a *domain.Auction) { a.SoftCloseSeconds = 0 }), steps: []step{
			{name: "last second", at: end - s, bidder: alice, amount: 1000, price: 1000, leader: alice, leaderMax: 1000, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice)},
			{name: "last nanosecond", at: end - 1, bidder: bob, amount: 1050, price: 1050, leader: bob, leaderMax: 1050, minNext: 1100, bids: 2, seq: 3, events: evs(evPrice, evOutbid), outbid: alice},
			{name: "at ends_at", at: end, bidder: alice, amount: 1100, code: domain.CodeGone, sentinel: domain.ErrAuctionClosed},
		}},
		{name: "buy now before the first bid", mods: mods(reserve(5000), buyNowAt(10000)), steps: []step{
			{name: "seller", at: 10 * time.Minute, bidder: seller, buyNow: true, code: domain.CodeForbidden, sentinel: domain.ErrOwnAuction},
			{name: "buy now ignores the amount", at: 10 * time.Minute, bidder: carol, amount: -5, buyNow: true, price: 10000, leader: carol, leaderMax: 10000, minNext: 10250, bids: 1, seq: 2, events: evs(evClosed, evWon), reserve: "met"},
			{name: "bid after", at: 11 * time.Minute, bidder: alice, amount: 20000, code: domain.CodeGone, sentinel: domain.ErrAuctionClosed},
			{name: "buy now again", at: 11 * time.Minute, bidder: alice, buyNow: true, code: domain.CodeGone, sentinel: domain.ErrAuctionClosed},
		}},
		{name: "buy now gone after the first bid", mods: mods(buyNowAt(10000)), steps: []step{
			{name: "first", bidder: alice, amount: 1000, price: 1000, leader: alice, leaderMax: 1000, minNext: 1050, bids: 1, seq: 2, events: evs(evPrice)},
			{name: "buy now", bidder: bob, buyNow: true, code: domain.CodeConflict, sentinel: domain.ErrBuyNowGone},
		}},
		{name: "scheduled auction opened by its first bid", mods: mods(scheduledAt(10 * time.Minute)), steps: []step{
			{name: "before start", at: 10*time.Minute - 1, bidder: alice, amount: 1000, code: domain.CodeConflict, sentinel: domain.ErrNotOpen},
			{name: "too low at start", at: 10 * time.Minute, bidder: alice, amount: 999, code: domain.CodeConflict, extraMin: 1000},
			{name: "at start", at: 10 * time.Minute, bidder: alice, amount: 1000, price: 1000, leader: alice, leaderMax: 1000, minNext: 1050, bids: 1, seq: 3, events: evs(evOpened, evPrice)},
			{name: "next", at: 11 * time.Minute, bidder: bob, amount: 1050, price: 1050, leader: bob, leaderMax: 1050, minNext: 1100, bids: 2, seq: 4, events: evs(evPrice, evOutbid), outbid: alice},
		}},
		{name: "scheduled auction bought now", mods: mods(scheduledAt(0), buyNowAt(10000)), steps: []step{
			{name: "buy now at start", at: time.Second, bidder: carol, buyNow: true, price: 10000, leader: carol, leaderMax: 10000, minNext: 10250, bids: 1, seq: 3, events: evs(evOpened, evClosed, evWon)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runSteps(t, openAuction(tt.mods...), tt.steps)
		})
	}
}

func mods(m ...func(*domain.Auction)) []func(*domain.Auction) { return m }

func reserve(v int64) func(*domain.Auction)  { return func(a *domain.Auction) { a.ReservePrice = v } }
func buyNowAt(v int64) func(*domain.Auction) { return func(a *domain.Auction) { a.BuyNowPrice = v } }

func scheduledAt(d time.Duration) func(*domain.Auction) {
	return func(a *domain.Auction) { a.Status, a.StartsAt = domain.StatusScheduled, t0.Add(d) }
}

func TestPlaceBidRefusals(t *testing.T) {
	t.Parallel()
	first := leading(alice, 1000, 1000, 1)
	tests := []struct {
		name     string
		mods     []func(*domain.Auction)
		at       time.Duration
		req      domain.BidRequest
		code     domain.Code
		sentinel error
		field    string
	}{
		{name: "closed", mods: mods(withStatus(domain.StatusClosed)), req: domain.BidRequest{BidderID: bob, Amount: 5000}, code: domain.CodeGone, sentinel: domain.ErrAuctionClosed},
		{name: "cancelled", mods: mods(withStatus(domain.StatusCancelled)), req: domain.BidRequest{BidderID: bob, Amount: 5000}, code: domain.CodeGone, sentinel: domain.ErrAuctionCanceled},
		{name: "exactly at ends_at", at: end, req: domain.BidRequest{BidderID: bob, Amount: 5000}, code: domain.CodeGone, sentinel: domain.ErrAuctionClosed},
		{name: "after ends_at", at: end + time.Second, req: domain.BidRequest{BidderID: bob, Amount: 5000}, code: domain.CodeGone, sentinel: domain.ErrAuctionClosed},
		{name: "scheduled, before start", mods: mods(scheduledAt(time.Minute)), req: domain.BidRequest{BidderID: bob, Amount: 5000}, code: domain.CodeConflict, sentinel: domain.ErrNotOpen},
		{name: "scheduled, past its end", mods: mods(scheduledAt(0)), at: end, req: domain.BidRequest{BidderID: bob, Amount: 5000}, code: domain.CodeGone, sentinel: domain.ErrAuctionClosed},
		{name: "seller", req: domain.BidRequest{BidderID: seller, Amount: 5000}, code: domain.CodeForbidden, sentinel: domain.ErrOwnAuction},
		{name: "seller buys now", mods: mods(buyNowAt(9000)), req: domain.BidRequest{BidderID: seller, BuyNow: true}, code: domain.CodeForbidden, sentinel: domain.ErrOwnAuction},
		{name: "zero amount", req: domain.BidRequest{BidderID: bob}, code: domain.CodeInvalid, field: "amount"},
		{name: "negative amount", req: domain.BidRequest{BidderID: bob, Amount: -1000}, code: domain.CodeInvalid, field: "amount"},
		{name: "amount over MaxMoney", req: domain.BidRequest{BidderID: bob, Amount: domain.MaxMoney + 1}, code: domain.CodeInvalid, field: "amount"},
		{name: "negative max", req: domain.BidRequest{BidderID: bob, Amount: 1000, MaxAmount: -1}, code: domain.CodeInvalid, field: "max_amount"},
		{name: "max over MaxMoney", req: domain.BidRequest{BidderID: bob, Amount: 1000, MaxAmount: domain.MaxMoney + 1}, code: domain.CodeInvalid, field: "max_amount"},
		{name: "max below amount", req: domain.BidRequest{BidderID: bob, Amount: 2000, MaxAmount: 1999}, code: domain.CodeInvalid, field: "max_amount"},
		{name: "below start", req: domain.BidRequest{BidderID: bob, Amount: 999, MaxAmount: 5000}, code: domain.CodeConflict, field: "amount"},
		{name: "below min next with a high max", mods: mods(first), req: domain.BidRequest{BidderID: bob, Amount: 1049, MaxAmount: 9000}, code: domain.CodeConflict, field: "amount"},
		{name: "leader repeats own max", mods: mods(first), req: domain.BidRequest{BidderID: alice, Amount: 1000}, code: domain.CodeConflict, field: "max_amount"},
		{name: "leader lowers own max", mods: mods(leading(alice, 1000, 3000, 1)), req: domain.BidRequest{BidderID: alice, Amount: 2000}, code: domain.CodeConflict, field: "max_amount"},
		{name: "buy now without a price", req: domain.BidRequest{BidderID: bob, BuyNow: true}, code: domain.CodeConflict, sentinel: domain.ErrBuyNowGone},
		{name: "buy now after a bid", mods: mods(buyNowAt(9000), first), req: domain.BidRequest{BidderID: bob, BuyNow: true}, code: domain.CodeConflict, sentinel: domain.ErrBuyNowGone},
		{name: "buy now at ends_at", mods: mods(buyNowAt(9000)), at: end, req: domain.BidRequest{BidderID: bob, BuyNow: true}, code: domain.CodeGone, sentinel: domain.ErrAuctionClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := openAuction(tt.mods...)
			out, err := domain.PlaceBid(a, tt.req, t0.Add(tt.at))
			if err == nil {
				t.Fatalf("accepted: %+v", out.Auction)
			}
			de := mustDomainError(t, err, tt.code)
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("%v is not %v", err, tt.sentinel)
			}
			if _, ok := de.Fields[tt.field]; tt.field != "" && !ok {
				t.Errorf("Fields %v lack %q", de.Fields, tt.field)
			}
			if de.Message == "" || !reflect.DeepEqual(out, domain.Outcome{}) {
				t.Errorf("message %q, outcome %+v", de.Message, out)
			}
			if tt.code == domain.CodeConflict && tt.field == "amount" {
				want := domain.MinNextBid(a)
				if de.Extra["min_next_bid"] != want || de.Extra["current_price"] != a.CurrentPrice || de.Extra["currency"] != "EUR" {
					t.Errorf("Extra = %v, want min_next_bid %d", de.Extra, want)
				}
			}
		})
	}
}

func TestSoftCloseWindow(t *testing.T) {
	t.Parallel()
	const s = time.Second
	tests := []struct {
		name     string
		mods     []func(*domain.Auction)
		at       time.Duration
		wantEnd  time.Duration
		extended bool
	}{
		{name: "before the window", at: end - 121*s, wantEnd: end},
		{name: "at the window's start", at: end - 120*s, wantEnd: end},
		{name: "just inside", at: end - 119*s, wantEnd: end + s, extended: true},
		{name: "last nanosecond", at: end - 1, wantEnd: end + 120*s - 1, extended: true},
		{name: "already extended", mods: mods(endsAt(end + 100*s)), at: end + 90*s, wantEnd: end + 210*s, extended: true},
		{name: "capped", mods: mods(maxExt(60 * s)), at: end - s, wantEnd: end + 60*s, extended: true},
		{name: "at the default cap", mods: mods(endsAt(end + time.Hour)), at: end + time.Hour - s, wantEnd: end + time.Hour},
		{name: "zero cap", mods: mods(maxExt(0)), at: end - s, wantEnd: end},
		{name: "hard close", mods: mods(softClose(0)), at: end - s, wantEnd: end},
		{name: "long window", mods: mods(softClose(3600)), at: end - 30*time.Minute, wantEnd: end + 30*time.Minute, extended: true},
		{name: "long window, outside", mods: mods(softClose(3600)), at: end - 61*time.Minute, wantEnd: end},
		{name: "leader keeps the lead, price rises", mods: mods(leading(alice, 1000, 5000, 1)), at: end - s, wantEnd: end + 119*s, extended: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := openAuction(append(mods(leading(alice, 1000, 1000, 1)), tt.mods...)...)
			now := t0.Add(tt.at)
			out, err := domain.PlaceBid(a, domain.BidRequest{BidderID: bob, Alias: aliasOf(bob), Amount: 1050}, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Auction.EndsAt.Sub(t0); got != tt.wantEnd {
				t.Errorf("ends_at = end%+v, want end%+v", got-end, tt.wantEnd-end)
			}
			if !out.Auction.OriginalEndsAt.Equal(t0.Add(end)) {
				t.Errorf("original end moved to %v", out.Auction.OriginalEndsAt)
			}
			var ext []domain.Event
			for _, e := range out.Events {
				if e.Type == evExt {
					ext = append(ext, e)
				}
			}
			if (len(ext) == 1) != tt.extended || len(ext) > 1 {
				t.Fatalf("%d extended events, want extended=%v", len(ext), tt.extended)
			}
			if tt.extended && (!ext[0].PreviousEndsAt.Equal(a.EndsAt) || !ext[0].EndsAt.Equal(out.Auction.EndsAt)) {
				t.Errorf("extended %v -> %v, want %v -> %v", ext[0].PreviousEndsAt, ext[0].EndsAt, a.EndsAt, out.Auction.EndsAt)
			}
			checkEvents(t, a.Seq, out.Auction, out.Events, now)
		})
	}
}

func endsAt(d time.Duration) func(*domain.Auction) {
	return func(a *domain.Auction) { a.EndsAt = t0.Add(d) }
}
func maxExt(d time.Duration) func(*domain.Auction) {
	return func(a *domain.Auction) { a.MaxExtension = d }
}
func softClose(secs int) func(*domain.Auction) {
	return func(a *domain.Auction) { a.SoftCloseSeconds = secs }
}

func TestPlaceBidIsPure(t *testing.T) {
	t.Parallel()
	a := openAuction(reserve(3000), leading(alice, 1000, 2000, 1))
	before := a
	req := domain.BidRequest{BidderID: bob, Alias: aliasOf(bob), Amount: 1100, MaxAmount: 4000}
	now := t0.Add(end - time.Second)
	first, err1 := domain.PlaceBid(a, req, now)
	second, err2 := domain.PlaceBid(a, req, now.In(time.FixedZone("X", 3600)))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("same inputs, different outcomes:\n%+v\n%+v", first, second)
	}
	if a != before {
		t.Errorf("input auction changed")
	}
	if first.Auction.EndsAt.Location() != time.UTC || first.Bid.ReceivedAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v %v", first.Auction.EndsAt, first.Bid.ReceivedAt)
	}
}
