package bidding

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// publicExplains reports why the public history (what an anonymous viewer
// sees, oldest first) does not explain a's price and leader: its last line
// must be the leader at the current price, amounts never fall, and no
// line is a raise.
func publicExplains(lines []domain.BidView, a domain.Auction) string {
	lines = domain.HistoryFor(lines, a, domain.User{})
	slices.Reverse(lines)
	for i, l := range lines {
		if l.Raise || l.User != nil || l.You {
			return "a raise, an identity or a 'you' reaches the public"
		}
		if i > 0 && l.Amount < lines[i-1].Amount {
			return "amounts fall"
		}
	}
	switch {
	case a.LeaderID == 0 && len(lines) == 0:
		return ""
	case len(lines) == 0:
		return "no lines"
	}
	if last := lines[len(lines)-1]; last.Bidder != a.LeaderAlias || last.Amount != a.CurrentPrice {
		return "last line " + last.Bidder + " " + domain.FormatAmount(last.Amount, a.Currency) + ", leader " +
			a.LeaderAlias + " " + domain.FormatAmount(a.CurrentPrice, a.Currency)
	}
	return ""
}

// TestHistoryExplainsPriceStored places random bids, with maxima and
// raises, through the service and checks after every bid, and after
// striking bids and suspending a bidder, that the stored history explains
// the price and the leader; raises reach only their bidder and admins, and
// identities only the seller and admins.
func TestHistoryExplainsPriceStored(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := mustService(t, db, newClock(t0))
		ctx := context.Background()
		seller, admin := mustUser(t, s, false), mustUser(t, s, true)
		bidders := []domain.User{mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false)}
		rng := rand.New(rand.NewPCG(12, 4))
		check := func(round int, what string, id int64) domain.Auction {
			t.Helper()
			a := mustGet(t, s, id)
			lines, err := s.Bids(ctx, id, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if why := publicExplains(lines, a); why != "" {
				t.Fatalf("round %d, %s: %s\n%+v", round, what, why, lines)
			}
			return a
		}
		for round := range 6 {
			a := mustAuction(t, s, seller, func(in *domain.AuctionInput) {
				if round%2 == 1 {
					in.ReservePrice = 4000
				}
			})
			var receipts []domain.Receipt
			for step := range 30 {
				u := bidders[rng.IntN(len(bidders))]
				cur := mustGet(t, s, a.ID)
				in := domain.BidInput{Amount: domain.MinNextBid(cur) + int64(rng.IntN(3))*50}
				if rng.IntN(2) == 0 {
					in.MaxAmount = in.Amount + int64(rng.IntN(20))*100
				}
				if cur.LeaderID == u.ID {
					in.MaxAmount = cur.LeaderMax + int64(1+rng.IntN(10))*100
				}
				r, err := s.PlaceBid(ctx, u, a.ID, in)
				if err != nil {
					continue
				}
				receipts = append(receipts, r)
				check(round, "bid "+string(rune('a'+step%26)), a.ID)
			}
			// Raises: shown to their bidder and admins only, as the new maximum.
			lines, _ := s.Bids(ctx, a.ID, 1000)
			for _, l := range lines {
				if !l.Raise {
					continue
				}
				owner := domain.User{ID: l.BidderID}
				for viewer, shown := range map[string]bool{"owner": true, "admin": true, "seller": false, "other": false} {
					v := map[string]domain.User{"owner": owner, "admin": admin, "seller": seller, "other": {ID: l.BidderID + 1000}}[viewer]
					seen := slices.ContainsFunc(domain.HistoryFor(lines, mustGet(t, s, a.ID), v), func(x domain.BidView) bool {
						return x.Raise && x.Seq == l.Seq && x.Amount == l.MaxAmount
					})
					if seen != shown {
						t.Errorf("round %d: raise at seq %d shown to %s = %v", round, l.Seq, viewer, seen)
					}
				}
			}
			for _, l := range domain.HistoryFor(lines, a, seller) {
				if l.User == nil || l.User.ID != l.BidderID || l.User.Name == "" || l.User.Email == "" {
					t.Fatalf("round %d: the seller sees %+v", round, l)
				}
			}
			// Strike two bids, then suspend a bidder: each recomputation
			// rebuilds a history that still explains the result.
			for k := 0; k < 3 && k < len(receipts); k++ {
				// The leader's newest bid moves the result the most; an
				// early bid changes what every later bid caused.
				target := receipts[0].BidID
				if k != 1 {
					cur := mustGet(t, s, a.ID)
					lines, _ := s.Bids(ctx, a.ID, 1000)
					if i := slices.IndexFunc(lines, func(l domain.BidView) bool { return l.Pos == 0 && l.BidderID == cur.LeaderID }); i >= 0 {
						target = lines[i].ID
					}
				}
				got, err := s.CancelBid(ctx, admin, a.ID, target, "test")
				if err != nil && domain.ErrorCode(err) != domain.CodeConflict {
					t.Fatal(err)
				}
				if err == nil && got.LeaderID != 0 && got.LeaderName == "" {
					t.Errorf("round %d: CancelBid returned no leader name", round)
				}
				check(round, "strike", a.ID)
			}
			if round == 5 {
				if err := s.SuspendUser(ctx, admin, bidders[0].ID, "test"); err != nil {
					t.Fatal(err)
				}
				check(round, "suspension", a.ID)
			}
		}
	})
}

func TestSettings(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := mustService(t, db, newClock(t0))
		ctx := context.Background()
		if v, err := s.Setting(ctx, "demo"); err != nil || v != "" {
			t.Fatalf("unset: %q, %v", v, err)
		}
		for _, want := range []string{"true", "false"} {
			if err := s.PutSetting(ctx, "demo", want); err != nil {
				t.Fatal(err)
			}
			if v, err := s.Setting(ctx, "demo"); err != nil || v != want {
				t.Fatalf("after putting %q: %q, %v", want, v, err)
			}
		}
	})
}
