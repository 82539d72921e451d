package domain_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// randomAuction returns an open or scheduled auction with random prices,
// increment and timing, ending at t0+end.
func randomAuction(rng *rand.Rand) domain.Auction {
	a := openAuction()
	a.Currency = []string{"EUR", "JPY", "BHD"}[rng.IntN(3)]
	a.StartPrice = 1 + rng.Int64N(50_000)
	if rng.IntN(3) > 0 {
		a.ReservePrice = a.StartPrice + rng.Int64N(3*a.StartPrice)
	}
	if rng.IntN(4) == 0 {
		a.BuyNowPrice = max(a.StartPrice, a.ReservePrice) + rng.Int64N(2*a.StartPrice)
	}
	if rng.IntN(4) == 0 {
		a.Increment = 1 + rng.Int64N(a.StartPrice/5+1)
	}
	switch rng.IntN(4) {
	case 0:
		a.SoftCloseSeconds = 0
	case 1:
		a.SoftCloseSeconds = 1 + rng.IntN(600)
	}
	if rng.IntN(3) == 0 {
		a.MaxExtension = time.Duration(rng.IntN(3600)) * time.Second
	}
	if rng.IntN(5) == 0 {
		a.Status, a.StartsAt = domain.StatusScheduled, t0.Add(time.Duration(rng.IntN(600))*time.Second)
	}
	return a
}

// randomRequest returns a bid near what a accepts, sometimes invalid.
func randomRequest(rng *rand.Rand, a domain.Auction) domain.BidRequest {
	bidder := alice + rng.Int64N(4)
	if rng.IntN(40) == 0 {
		bidder = seller
	}
	req := domain.BidRequest{BidderID: bidder, Alias: aliasOf(bidder)}
	if rng.IntN(30) == 0 {
		req.BuyNow = true
		return req
	}
	min := domain.MinNextBid(a)
	switch rng.IntN(10) {
	case 0:
		req.Amount = min - 1 - rng.Int64N(min)
	case 1:
		req.Amount = []int64{0, -1, domain.MaxMoney + 1}[rng.IntN(3)]
	case 2, 3:
		req.Amount = min
	default:
		req.Amount = min + rng.Int64N(min/2+2)
	}
	switch rng.IntN(10) {
	case 0:
		req.MaxAmount = req.Amount - 1
	case 1, 2, 3:
		req.MaxAmount = req.Amount + rng.Int64N(2*max(req.Amount, 1))
	case 4:
		// Tie the leader's hidden maximum when the amount allows it.
		req.MaxAmount = max(a.LeaderMax, req.Amount)
	}
	return req
}

// TestPlaceBidRandomSequences places random bids on random auctions and
// checks the invariants after each one, then checks that Recompute
// reproduces the state and matches a fresh replay without one bidder.
func TestPlaceBidRandomSequences(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(2030, 3))
	for iter := range 3000 {
		initial := randomAuction(rng)
		a := initial
		now := t0
		var accepted []domain.Bid
		var priceEvents, nonBuyNow int
		// topMax and topBidder model who must lead: the highest maximum
		// any bidder has entered, held by the first bidder to reach it.
		maxOf := map[int64]int64{}
		var topMax, topBidder int64
		boughtNow := false
		for step := 0; step < 40 && a.Status != domain.StatusClosed; step++ {
			now = now.Add(time.Duration(rng.IntN(240)) * time.Second)
			req := randomRequest(rng, a)
			out, err := domain.PlaceBid(a, req, now)
			if err != nil {
				var de *domain.Error
				if !errors.As(err, &de) {
					t.Fatalf("iter %d step %d: %v is not a *domain.Error", iter, step, err)
				}
				if de.Code == domain.CodeConflict && de.Fields["amount"] != "" && de.Extra["min_next_bid"] != domain.MinNextBid(a) {
					t.Fatalf("iter %d: too low with min_next_bid %v, want %d", iter, de.Extra["min_next_bid"], domain.MinNextBid(a))
				}
				switch de.Code {
				case domain.CodeInvalid, domain.CodeConflict, domain.CodeForbidden, domain.CodeGone:
				default:
					t.Fatalf("iter %d: unexpected code %s", iter, de.Code)
				}
				continue
			}
			got := out.Auction
			public := 0
			for _, e := range out.Events {
				if !e.Type.Personal() {
					public++
				}
				if e.Type == evPrice {
					priceEvents++
				}
			}
			if got.Seq-a.Seq != int64(public) || public == 0 {
				t.Fatalf("iter %d step %d: seq %d -> %d with %d public events", iter, step, a.Seq, got.Seq, public)
			}
			checkEvents(t, a.Seq, got, out.Events, now)
			if got.CurrentPrice < a.CurrentPrice || got.CurrentPrice < got.StartPrice || got.CurrentPrice > got.LeaderMax {
				t.Fatalf("iter %d step %d: price %d -> %d (start %d, leader max %d)", iter, step, a.CurrentPrice, got.CurrentPrice, got.StartPrice, got.LeaderMax)
			}
			if got.LeaderID == got.SellerID || got.BidCount != a.BidCount+1 {
				t.Fatalf("iter %d step %d: leader %d, bids %d -> %d", iter, step, got.LeaderID, a.BidCount, got.BidCount)
			}
			if got.ReservePrice > 0 && got.LeaderMax >= got.ReservePrice && got.CurrentPrice < got.ReservePrice {
				t.Fatalf("iter %d step %d: max %d reaches reserve %d, price %d", iter, step, got.LeaderMax, got.ReservePrice, got.CurrentPrice)
			}
			if (a.LeaderID != 0 && got.LeaderID != a.LeaderID) != hasEvent(out.Events, evOutbid) {
				t.Fatalf("iter %d step %d: leader %d -> %d, events %v", iter, step, a.LeaderID, got.LeaderID, eventTypes(out.Events))
			}
			accepted = append(accepted, out.Bid)
			if req.BuyNow {
				boughtNow = true
				if got.Status != domain.StatusClosed || got.CurrentPrice != got.BuyNowPrice || domain.Winner(got) != req.BidderID {
					t.Fatalf("iter %d step %d: buy-now left %+v", iter, step, got)
				}
				a = got
				continue
			}
			nonBuyNow++
			if got.CurrentPrice < req.Amount && req.BidderID != a.LeaderID {
				t.Fatalf("iter %d step %d: price %d below the %d entered", iter, step, got.CurrentPrice, req.Amount)
			}
			if req.BidderID == a.LeaderID && (got.LeaderID != a.LeaderID || !got.EndsAt.Equal(a.EndsAt) ||
				(got.CurrentPrice != a.CurrentPrice && got.CurrentPrice != got.ReservePrice)) {
				t.Fatalf("iter %d step %d: self raise moved price %d -> %d or end", iter, step, a.CurrentPrice, got.CurrentPrice)
			}
			if wantEnd := softCloseEnd(a, got, req.BidderID, now); !got.EndsAt.Equal(wantEnd) || hasEvent(out.Events, evExt) != !wantEnd.Equal(a.EndsAt) {
				t.Fatalf("iter %d step %d: ends_at %v -> %v, want %v", iter, step, a.EndsAt.Sub(t0), got.EndsAt.Sub(t0), wantEnd.Sub(t0))
			}
			if m := max(req.Amount, req.MaxAmount); m > maxOf[req.BidderID] {
				maxOf[req.BidderID] = m
				if m > topMax {
					topMax, topBidder = m, req.BidderID
				}
			}
			if got.LeaderID != topBidder || got.LeaderMax != topMax {
				t.Fatalf("iter %d step %d: leader %d with max %d, want %d with %d", iter, step, got.LeaderID, got.LeaderMax, topBidder, topMax)
			}
			a = got
		}
		if a.BidCount != len(accepted) || priceEvents != nonBuyNow {
			t.Fatalf("iter %d: bid count %d, accepted %d, price events %d, non-buy-now bids %d", iter, a.BidCount, len(accepted), priceEvents, nonBuyNow)
		}
		if boughtNow {
			continue
		}
		if re, _ := domain.Recompute(a, accepted, now); !sameBids(re, a) || !re.EndsAt.Equal(a.EndsAt) || re.Seq != a.Seq+1 {
			t.Fatalf("iter %d: recompute of every bid\n%+v\nwant %+v", iter, re, a)
		}
		removed := alice + rng.Int64N(4)
		untimed := initial
		untimed.Status, untimed.EndsAt, untimed.SoftCloseSeconds = domain.StatusOpen, t0.Add(1000*time.Hour), 0
		var reqs []timedBid
		for _, b := range without(accepted, removed) {
			reqs = append(reqs, timedBid{at: b.ReceivedAt.Sub(t0), bidder: b.BidderID, amount: b.Amount, max: b.MaxAmount})
		}
		fresh, _ := placeAll(untimed, reqs)
		if re, _ := domain.Recompute(a, without(accepted, removed), now); !sameBids(re, fresh) {
			t.Fatalf("iter %d: recompute without %d\n%+v\nwant %+v", iter, removed, re, fresh)
		}
	}
}

// softCloseEnd models the end after a bid moved a to got at now: a bid that
// changes the price or the leader in the final window moves the end to now
// plus the window, never back and never past the cap. A leader's own raise
// never moves it.
func softCloseEnd(a, got domain.Auction, bidder int64, now time.Time) time.Time {
	window := time.Duration(a.SoftCloseSeconds) * time.Second
	changed := got.CurrentPrice != a.CurrentPrice || got.LeaderID != a.LeaderID
	if window == 0 || !changed || bidder == a.LeaderID || now.Before(a.EndsAt.Add(-window)) {
		return a.EndsAt
	}
	return maxTime(a.EndsAt, minTime(now.Add(window), a.OriginalEndsAt.Add(a.MaxExtension)))
}

func minTime(x, y time.Time) time.Time {
	if x.Before(y) {
		return x
	}
	return y
}

func maxTime(x, y time.Time) time.Time {
	if x.After(y) {
		return x
	}
	return y
}

func hasEvent(evs []domain.Event, t domain.EventType) bool {
	for _, e := range evs {
		if e.Type == t {
			return true
		}
	}
	return false
}

// FuzzPlaceBid places three bids with fuzzed amounts and maxima on an
// auction with fuzzed prices and checks that nothing panics and the price
// stays within [start, leader's max].
func FuzzPlaceBid(f *testing.F) {
	f.Add(int64(1000), int64(0), int64(0), int64(1000), int64(5000), int64(1200), int64(0), int64(7000), int64(0), uint8(0))
	f.Add(int64(1), int64(3), int64(2), int64(1), int64(0), int64(2), int64(9), int64(5), int64(5), uint8(0xff))
	f.Add(domain.MaxMoney, domain.MaxMoney, domain.MaxMoney, domain.MaxMoney, domain.MaxMoney, domain.MaxMoney+1, int64(-1), int64(-1), int64(0), uint8(0x13))
	f.Fuzz(func(t *testing.T, start, reserveP, inc, a1, m1, a2, m2, a3, m3 int64, flags uint8) {
		a := openAuction()
		a.Currency = fuzzCurrencies[int(flags&3)]
		a.StartPrice = 1 + uint64mod(start, domain.MaxMoney)
		if flags&4 != 0 {
			a.ReservePrice = a.StartPrice + uint64mod(reserveP, domain.MaxMoney-a.StartPrice+1)
		}
		if flags&8 != 0 {
			a.BuyNowPrice = max(a.StartPrice, a.ReservePrice)
		}
		if flags&16 != 0 {
			a.Increment = 1 + uint64mod(inc, domain.MaxMoney)
		}
		bids := [][2]int64{{a1, m1}, {a2, m2}, {a3, m3}}
		for i, b := range bids {
			bidder := alice + int64(i+int(flags>>5))%3
			req := domain.BidRequest{BidderID: bidder, Alias: aliasOf(bidder), Amount: b[0], MaxAmount: b[1], BuyNow: i == 1 && flags&8 != 0 && flags&32 != 0}
			out, err := domain.PlaceBid(a, req, t0.Add(time.Duration(i)*time.Minute))
			if err != nil {
				if domain.ErrorCode(err) == domain.CodeInternal {
					t.Fatalf("bid %d: %v", i, err)
				}
				continue
			}
			got := out.Auction
			if got.CurrentPrice < 0 || got.CurrentPrice < got.StartPrice || got.LeaderMax > domain.MaxMoney {
				t.Fatalf("bid %d %+v: price %d, start %d, leader max %d", i, req, got.CurrentPrice, got.StartPrice, got.LeaderMax)
			}
			if got.CurrentPrice > got.LeaderMax && !req.BuyNow {
				t.Fatalf("bid %d %+v: price %d above leader max %d", i, req, got.CurrentPrice, got.LeaderMax)
			}
			if got.CurrentPrice < a.CurrentPrice || got.Seq <= a.Seq || got.BidCount != a.BidCount+1 {
				t.Fatalf("bid %d: price %d -> %d, seq %d -> %d", i, a.CurrentPrice, got.CurrentPrice, a.Seq, got.Seq)
			}
			checkEvents(t, a.Seq, got, out.Events, t0.Add(time.Duration(i)*time.Minute))
			a = got
		}
	})
}

// uint64mod maps any int64 onto [0, n).
func uint64mod(v, n int64) int64 { return int64(uint64(v) % uint64(n)) }
