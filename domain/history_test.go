package domain_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// line is one public line of a bid history, oldest first.
type line struct {
	bidder string
	amount int64
	auto   bool
}

// appendLines adds what the public history shows for one accepted bid: the
// bid itself unless it is a leader's raise, then its automatic bids.
func appendLines(h []line, b domain.Bid, auto []domain.AutoBid) []line {
	if !b.Raise {
		h = append(h, line{bidder: b.Alias, amount: b.Amount})
	}
	for _, ab := range auto {
		h = append(h, line{bidder: ab.Bidder, amount: ab.Amount, auto: true})
	}
	return h
}

// explains reports why h does not explain a's price and leader: its last
// line must be the leader at the current price, and amounts never fall.
func explains(h []line, a domain.Auction) string {
	if a.LeaderID == 0 {
		if len(h) != 0 {
			return "lines but no leader"
		}
		return ""
	}
	if len(h) == 0 {
		return "a leader but no lines"
	}
	if last := h[len(h)-1]; last.bidder != a.LeaderAlias || last.amount != a.CurrentPrice {
		return "last line is " + last.bidder + " at " + domain.FormatAmount(last.amount, "EUR") +
			", leader " + a.LeaderAlias + " at " + domain.FormatAmount(a.CurrentPrice, "EUR")
	}
	for i := 1; i < len(h); i++ {
		if h[i].amount < h[i-1].amount {
			return "amounts fall"
		}
	}
	return ""
}

func TestAutoBids(t *testing.T) {
	t.Parallel()
	a := openAuction()
	alias := aliasOf
	steps := []struct {
		name              string
		bidder, amt, max  int64
		want              []domain.AutoBid
		raise, wantPublic bool
	}{
		{name: "first bid", bidder: alice, amt: 1000, max: 3500, wantPublic: true},
		{name: "the leader's proxy answers", bidder: bob, amt: 2000,
			want: []domain.AutoBid{{BidderID: alice, Bidder: alias(alice), Amount: 2050}}, wantPublic: true},
		{name: "a beaten maximum is revealed", bidder: bob, amt: 2500, max: 2800,
			want: []domain.AutoBid{{BidderID: bob, Bidder: alias(bob), Amount: 2800}, {BidderID: alice, Bidder: alias(alice), Amount: 2900}}, wantPublic: true},
		{name: "a challenger's proxy beats the leader's", bidder: carol, amt: 3000, max: 5000,
			want: []domain.AutoBid{{BidderID: alice, Bidder: alias(alice), Amount: 3500}, {BidderID: carol, Bidder: alias(carol), Amount: 3600}}, wantPublic: true},
		{name: "a raise is no public line", bidder: carol, amt: 3700, max: 6000, raise: true},
		{name: "a bid above every maximum needs no automatic bid", bidder: bob, amt: 9000, max: 12000, wantPublic: true},
		{name: "equal maxima: the earlier bid answers", bidder: alice, amt: 9100, max: 12000,
			want: []domain.AutoBid{{BidderID: alice, Bidder: alias(alice), Amount: 12000}, {BidderID: bob, Bidder: alias(bob), Amount: 12000}}, wantPublic: true},
	}
	var h []line
	for i, s := range steps {
		out, err := domain.PlaceBid(a, domain.BidRequest{BidderID: s.bidder, Alias: alias(s.bidder), Amount: s.amt, MaxAmount: s.max}, t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatalf("step %d %q: %v", i, s.name, err)
		}
		if !slices.Equal(out.Auto, s.want) {
			t.Errorf("step %d %q: auto %+v, want %+v", i, s.name, out.Auto, s.want)
		}
		if out.Bid.Raise != s.raise {
			t.Errorf("step %d %q: raise = %v", i, s.name, out.Bid.Raise)
		}
		price := out.Events[0]
		if price.Type != evPrice || !slices.Equal(price.Auto, s.want) || (price.Bidder != "") != s.wantPublic {
			t.Errorf("step %d %q: price event %+v", i, s.name, price)
		}
		a = out.Auction
		h = appendLines(h, out.Bid, out.Auto)
		if why := explains(h, a); why != "" {
			t.Errorf("step %d %q: %s", i, s.name, why)
		}
	}

	t.Run("reserve jump", func(t *testing.T) {
		t.Parallel()
		out, err := domain.PlaceBid(openAuction(reserve(5000)), domain.BidRequest{BidderID: alice, Alias: alias(alice), Amount: 1000, MaxAmount: 6000}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if want := []domain.AutoBid{{BidderID: alice, Bidder: alias(alice), Amount: 5000}}; !slices.Equal(out.Auto, want) {
			t.Errorf("auto %+v, want %+v", out.Auto, want)
		}
		raise, err := domain.PlaceBid(openAuction(reserve(5000), leading(alice, 1000, 2000, 1)),
			domain.BidRequest{BidderID: alice, Alias: alias(alice), Amount: 1000, MaxAmount: 6000}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if want := []domain.AutoBid{{BidderID: alice, Bidder: alias(alice), Amount: 5000}}; !raise.Bid.Raise || !slices.Equal(raise.Auto, want) {
			t.Errorf("raise to the reserve: raise %v auto %+v", raise.Bid.Raise, raise.Auto)
		}
	})
}

// TestHistoryExplainsPrice places random bids and checks, after each one,
// that the public history (bids, less raises, plus automatic bids) ends
// with the leader at the current price, that no automatic bid exceeds its
// bidder's maximum, and that the same holds for the history a
// recomputation without one bidder rebuilds.
func TestHistoryExplainsPrice(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(2031, 7))
	for iter := range 3000 {
		a := randomAuction(rng)
		now := t0
		var h []line
		var accepted []domain.Bid
		maxOf := map[int64]int64{}
		for step := 0; step < 40 && a.Status != domain.StatusClosed; step++ {
			now = now.Add(time.Duration(rng.IntN(240)) * time.Second)
			req := randomRequest(rng, a)
			out, err := domain.PlaceBid(a, req, now)
			if err != nil {
				continue
			}
			maxOf[req.BidderID] = max(maxOf[req.BidderID], req.Amount, req.MaxAmount)
			for _, ab := range out.Auto {
				if ab.Amount > maxOf[ab.BidderID] || ab.Bidder != aliasOf(ab.BidderID) {
					t.Fatalf("iter %d step %d: automatic bid %+v beyond the bidder's maximum %d", iter, step, ab, maxOf[ab.BidderID])
				}
			}
			for _, e := range out.Events {
				if e.Type == evPrice && !slices.Equal(e.Auto, out.Auto) {
					t.Fatalf("iter %d step %d: price event auto %+v, outcome %+v", iter, step, e.Auto, out.Auto)
				}
			}
			if req.BuyNow {
				out.Bid.Raise = false
			}
			a = out.Auction
			accepted = append(accepted, out.Bid)
			h = appendLines(h, out.Bid, out.Auto)
			if why := explains(h, a); why != "" {
				t.Fatalf("iter %d step %d: %s\nhistory %+v", iter, step, why, h)
			}
		}
		if a.Status == domain.StatusClosed {
			continue
		}
		removed := alice + rng.Int64N(4)
		kept := without(accepted, removed)
		re, _, trace := domain.RecomputeHistory(a, kept, now)
		if len(trace) != len(kept) {
			t.Fatalf("iter %d: %d replayed for %d bids", iter, len(trace), len(kept))
		}
		var rh []line
		for i, r := range trace {
			if r.Seq != kept[i].Seq {
				t.Fatalf("iter %d: replay %d has seq %d, bid %d", iter, i, r.Seq, kept[i].Seq)
			}
			if r.Counted {
				b := kept[i]
				b.Raise = r.Raise
				rh = appendLines(rh, b, r.Auto)
			}
		}
		if why := explains(rh, re); why != "" {
			t.Fatalf("iter %d: after recomputing without %d: %s\nhistory %+v", iter, removed, why, rh)
		}
	}
}
