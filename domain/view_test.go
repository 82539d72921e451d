package domain_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func TestViewByViewer(t *testing.T) {
	t.Parallel()
	a := openAuction(reserve(6000), leading(alice, 5000, 8000, 4), func(a *domain.Auction) { a.LeaderName = "Alice" })
	tests := []struct {
		name        string
		viewer      domain.User
		seesLeader  bool // identity, not the alias
		seesReserve bool
		you         *domain.ViewerRel
	}{
		{name: "anonymous"},
		{name: "anonymous flagged admin", viewer: domain.User{Admin: true}},
		{name: "other bidder", viewer: domain.User{ID: bob, Name: "Bob"}, you: &domain.ViewerRel{}},
		{name: "leader", viewer: domain.User{ID: alice, Name: "Alice"}, you: &domain.ViewerRel{Leading: true, MaxAmount: 8000}},
		{name: "seller", viewer: domain.User{ID: seller}, seesLeader: true, seesReserve: true, you: &domain.ViewerRel{Seller: true}},
		{name: "admin", viewer: domain.User{ID: admin, Admin: true}, seesLeader: true, seesReserve: true, you: &domain.ViewerRel{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := domain.View(a, tt.viewer, t0)
			if v.Leader != aliasOf(alice) || v.CurrentPrice != 5000 || v.MinNextBid != 5100 || v.BidCount != 4 || !v.HasReserve || v.ReserveMet {
				t.Errorf("public state: %+v", v)
			}
			if got := v.LeaderUser != nil; got != tt.seesLeader {
				t.Errorf("leader identity shown = %v", got)
			} else if got && (v.LeaderUser.ID != alice || v.LeaderUser.Name != "Alice") {
				t.Errorf("leader identity %+v", v.LeaderUser)
			}
			wantReserve := int64(0)
			if tt.seesReserve {
				wantReserve = 6000
			}
			if v.ReservePrice != wantReserve {
				t.Errorf("reserve price %d, want %d", v.ReservePrice, wantReserve)
			}
			switch {
			case tt.you == nil && v.You != nil:
				t.Errorf("You = %+v, want none", v.You)
			case tt.you != nil && (v.You == nil || *v.You != *tt.you):
				t.Errorf("You = %+v, want %+v", v.You, tt.you)
			}
			raw, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			for key, shown := range map[string]bool{`"reserve_price"`: tt.seesReserve, `"leader_user"`: tt.seesLeader, `"max_amount"`: tt.you != nil && tt.you.Leading} {
				if strings.Contains(string(raw), key) != shown {
					t.Errorf("JSON %s shows %s = %v, want %v", raw, key, !shown, shown)
				}
			}
			if strings.Contains(string(raw), "8000") && !(tt.you != nil && tt.you.Leading) {
				t.Errorf("JSON leaks the leader's maximum: %s", raw)
			}
		})
	}
}

func TestViewState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mods       []func(*domain.Auction)
		wantBuyNow int64
		wantWinner string
		wantMet    bool
	}{
		{name: "no bids, buy-now offered", mods: mods(buyNowAt(9000)), wantBuyNow: 9000},
		{name: "scheduled, buy-now offered", mods: mods(buyNowAt(9000), scheduledAt(time.Hour)), wantBuyNow: 9000},
		{name: "after the first bid", mods: mods(buyNowAt(9000), leading(alice, 1000, 1000, 1)), wantMet: true},
		{name: "open with a leader", mods: mods(leading(alice, 1000, 1000, 1)), wantMet: true},
		{name: "closed, sold", mods: mods(reserve(1000), leading(alice, 1000, 1000, 1), withStatus(domain.StatusClosed)), wantWinner: aliasOf(alice), wantMet: true},
		{name: "closed, reserve not met", mods: mods(reserve(2000), leading(alice, 1000, 1000, 1), withStatus(domain.StatusClosed))},
		{name: "closed, no bids", mods: mods(buyNowAt(9000), withStatus(domain.StatusClosed))},
		{name: "cancelled with a leader", mods: mods(leading(alice, 1000, 1000, 1), withStatus(domain.StatusCancelled)), wantMet: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := openAuction(tt.mods...)
			now := t0.In(time.FixedZone("CET", 3600))
			v := domain.View(a, domain.User{}, now)
			if v.BuyNowPrice != tt.wantBuyNow || v.Winner != tt.wantWinner || v.ReserveMet != tt.wantMet {
				t.Errorf("buy-now %d winner %q reserve met %v; want %d %q %v", v.BuyNowPrice, v.Winner, v.ReserveMet, tt.wantBuyNow, tt.wantWinner, tt.wantMet)
			}
			if v.ServerTime.Location() != time.UTC || !v.ServerTime.Equal(t0) || v.EndsAt.Location() != time.UTC {
				t.Errorf("times not UTC: %v %v", v.ServerTime, v.EndsAt)
			}
			if v.MinNextBid != domain.MinNextBid(a) || v.Seq != a.Seq || v.Status != a.Status || v.SoftCloseSeconds != a.SoftCloseSeconds {
				t.Errorf("view %+v", v)
			}
		})
	}
}

func TestEventChannels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e           domain.Event
		personal    bool
		subject     string
		channelSeq  int64
		wantChannel domain.Channel
	}{
		{e: domain.Event{Type: evPrice, AuctionID: 7, Seq: 4}, subject: "gavel.auction.7", channelSeq: 4, wantChannel: domain.AuctionChannel(7)},
		{e: domain.Event{Type: evOpened, AuctionID: 7, Seq: 2}, subject: "gavel.auction.7", channelSeq: 2, wantChannel: domain.AuctionChannel(7)},
		{e: domain.Event{Type: evOutbid, AuctionID: 7, Seq: 4, UserID: 3, UserSeq: 11}, personal: true, subject: "gavel.user.3", channelSeq: 11, wantChannel: domain.UserChannel(3)},
		{e: domain.Event{Type: evWon, AuctionID: 7, Seq: 9, UserID: 2, UserSeq: 5}, personal: true, subject: "gavel.user.2", channelSeq: 5, wantChannel: domain.UserChannel(2)},
		{e: domain.Event{Type: domain.EventSuspended, UserID: 3, UserSeq: 1}, personal: true, subject: "gavel.control.suspended.3", channelSeq: 1, wantChannel: domain.UserChannel(3)},
		{e: domain.Event{Type: domain.EventReinstated, UserID: 3, UserSeq: 2}, personal: true, subject: "gavel.user.3", channelSeq: 2, wantChannel: domain.UserChannel(3)},
		{e: domain.Event{Type: domain.EventBidCancelled, AuctionID: 7, Seq: 5, UserID: 4, UserSeq: 6}, personal: true, subject: "gavel.user.4", channelSeq: 6, wantChannel: domain.UserChannel(4)},
		// A lot's event in its sale's log goes where one subscription per
		// sale finds it; one a sale-level event covers stays on the lot's.
		{e: domain.Event{Type: evPrice, AuctionID: 7, Seq: 4, SaleID: 3, SaleSeq: 9}, subject: "gavel.sale.3.auction.7", channelSeq: 4, wantChannel: domain.AuctionChannel(7)},
		{e: domain.Event{Type: domain.EventExtended, AuctionID: 8, Seq: 5, SaleID: 3}, subject: "gavel.auction.8", channelSeq: 5, wantChannel: domain.AuctionChannel(8)},
		{e: domain.Event{Type: domain.EventSaleExtended, SaleID: 3, SaleSeq: 10}, subject: "gavel.sale.3.state", channelSeq: 10, wantChannel: domain.SaleChannel(3)},
		{e: domain.Event{Type: evOutbid, AuctionID: 7, Seq: 4, SaleID: 3, UserID: 3, UserSeq: 12}, personal: true, subject: "gavel.user.3", channelSeq: 12, wantChannel: domain.UserChannel(3)},
	}
	for _, tt := range tests {
		t.Run(string(tt.e.Type), func(t *testing.T) {
			t.Parallel()
			if tt.e.Type.Personal() != tt.personal || tt.e.Subject() != tt.subject || tt.e.ChannelSeq() != tt.channelSeq || tt.e.Channel() != tt.wantChannel {
				t.Errorf("personal %v subject %q seq %d channel %+v", tt.e.Type.Personal(), tt.e.Subject(), tt.e.ChannelSeq(), tt.e.Channel())
			}
		})
	}
	if a, u := domain.MakeID(domain.AuctionChannel(7), 12), domain.MakeID(domain.UserChannel(3), 1); a != "a7-12" || u != "u3-1" {
		t.Errorf("MakeID: %q %q", a, u)
	}
	lot := domain.Event{Type: evPrice, AuctionID: 7, Seq: 4, SaleID: 3, SaleSeq: 9}
	if a, s := lot.SeqIn(domain.ChannelAuction), lot.SeqIn(domain.ChannelSale); a != 4 || s != 9 {
		t.Errorf("SeqIn: auction %d sale %d, want 4 and 9", a, s)
	}
}

// TestSubjectsMatch checks that the subjects realtime nodes subscribe to
// match what the relay publishes on, with NATS's token wildcards.
func TestSubjectsMatch(t *testing.T) {
	t.Parallel()
	match := func(pattern, subject string) bool {
		p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
		for i, tok := range p {
			if tok == ">" {
				return len(s) > i
			}
			if i >= len(s) || (tok != "*" && tok != s[i]) {
				return false
			}
		}
		return len(p) == len(s)
	}
	anyMatch := func(patterns []string, subject string) bool {
		for _, p := range patterns {
			if match(p, subject) {
				return true
			}
		}
		return false
	}
	single := domain.Event{Type: evPrice, AuctionID: 7, Seq: 4}.Subject()
	lot := domain.Event{Type: evPrice, AuctionID: 7, Seq: 4, SaleID: 3, SaleSeq: 9}.Subject()
	covered := domain.Event{Type: domain.EventExtended, AuctionID: 7, Seq: 5, SaleID: 3}.Subject()
	sale := domain.Event{Type: domain.EventSalePaused, SaleID: 3, SaleSeq: 10}.Subject()
	other := domain.Event{Type: evPrice, AuctionID: 8, Seq: 1, SaleID: 4, SaleSeq: 1}.Subject()
	for _, tt := range []struct {
		subs    []string
		subject string
		want    bool
	}{
		{domain.AuctionSubjects(7), single, true},
		{domain.AuctionSubjects(7), lot, true},
		{domain.AuctionSubjects(7), covered, true},
		{domain.AuctionSubjects(7), sale, false},
		{domain.AuctionSubjects(7), other, false},
		{[]string{domain.SaleSubjects(3)}, lot, true},
		{[]string{domain.SaleSubjects(3)}, sale, true},
		{[]string{domain.SaleSubjects(3)}, covered, false},
		{[]string{domain.SaleSubjects(3)}, single, false},
		{[]string{domain.SaleSubjects(3)}, other, false},
		{[]string{domain.AuctionSubjectsAll, domain.LotSubjectsAll}, lot, true},
		{[]string{domain.AuctionSubjectsAll, domain.LotSubjectsAll}, covered, true},
		{[]string{domain.AuctionSubjectsAll, domain.LotSubjectsAll}, single, true},
		{[]string{domain.AuctionSubjectsAll, domain.LotSubjectsAll}, sale, false},
	} {
		if got := anyMatch(tt.subs, tt.subject); got != tt.want {
			t.Errorf("%v matches %s: %v, want %v", tt.subs, tt.subject, got, tt.want)
		}
	}
}
