package bidding

import (
	"context"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// TestCancelBid: an admin strikes one bid and the auction is recomputed
// from the rest, with one price event and an audit entry; every refusal
// has its own status.
func TestCancelBid(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := mustService(t, db, newClock(t0))
		ctx := context.Background()
		seller, x, y, z, admin := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, true)
		a := mustAuction(t, s, seller, nil)
		mustBid(t, s, x, a.ID, 1000, 0)
		yBid := mustBid(t, s, y, a.ID, 1100, 0)
		zBid := mustBid(t, s, z, a.ID, 1200, 0)
		other := mustAuction(t, s, seller, nil)
		otherBid := mustBid(t, s, x, other.ID, 1000, 0)
		sold := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.BuyNowPrice = 5000 })
		bought, err := s.PlaceBid(ctx, y, sold.ID, domain.BidInput{BuyNow: true})
		if err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name    string
			actor   domain.User
			auction int64
			bid     int64
			reason  string
			want    domain.Code
		}{
			{"not an admin", seller, a.ID, zBid.BidID, "", domain.CodeForbidden},
			{"no such auction", admin, 999999, zBid.BidID, "", domain.CodeNotFound},
			{"a bid on another auction", admin, a.ID, otherBid.BidID, "", domain.CodeNotFound},
			{"no such bid", admin, a.ID, 999999, "", domain.CodeNotFound},
			{"reason too long", admin, a.ID, zBid.BidID, strings.Repeat("x", 501), domain.CodeInvalid},
			{"reason not text", admin, a.ID, zBid.BidID, "bad \xff byte", domain.CodeInvalid},
			// 500 characters, 1,000 bytes: the limit is in characters, as
			// the forms count them.
			{"the leader's bid", admin, a.ID, zBid.BidID, strings.Repeat("é", 500), ""},
			{"the same bid again", admin, a.ID, zBid.BidID, "", domain.CodeConflict},
			{"a bid on an ended auction", admin, sold.ID, bought.BidID, "", domain.CodeGone},
		}
		for _, tc := range cases {
			_, err := s.CancelBid(ctx, tc.actor, tc.auction, tc.bid, tc.reason)
			if got := domain.ErrorCode(err); got != tc.want {
				t.Errorf("%s: %q (%v), want %q", tc.name, got, err, tc.want)
			}
		}

		got := mustGet(t, s, a.ID)
		if got.LeaderID != y.ID || got.CurrentPrice != 1100 || got.BidCount != 2 {
			t.Errorf("after striking the leader's bid: leader %d price %d count %d, want %d 1100 2", got.LeaderID, got.CurrentPrice, got.BidCount, y.ID)
		}
		evs := eventsOf(t, s, domain.AuctionChannel(a.ID))
		if last := evs[len(evs)-1]; last.Type != domain.EventPrice || last.Seq != got.Seq || last.CurrentPrice != 1100 {
			t.Errorf("last event %s seq %d price %d, want price seq %d price 1100", last.Type, last.Seq, last.CurrentPrice, got.Seq)
		}
		history, err := s.Bids(ctx, a.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(history) != 2 || history[0].ID != yBid.BidID {
			t.Errorf("history after the cancellation = %+v, want y's and x's bids", history)
		}
		entries, err := s.Audit(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Action != "cancel_bid" || entries[0].TargetID != zBid.BidID || entries[0].Reason != strings.Repeat("é", 500) {
			t.Errorf("audit = %+v, want one cancel_bid of %d", entries, zBid.BidID)
		}
		// The struck bidder may bid again, from the recomputed price.
		zAgain := mustBid(t, s, z, a.ID, domain.MinNextBid(got), 0)
		if !zAgain.Leading {
			t.Errorf("z bidding again: %+v", zAgain)
		}
		// The recomputed auction names its new leader, as Auction does, so
		// the admin's view of it (leader_user) is not nameless.
		out, err := s.CancelBid(ctx, admin, a.ID, zAgain.BidID, "again")
		if err != nil {
			t.Fatal(err)
		}
		if out.LeaderID != y.ID || out.LeaderName != y.Name {
			t.Errorf("after the strike: leader %d named %q, want %d %q", out.LeaderID, out.LeaderName, y.ID, y.Name)
		}
	})
}
