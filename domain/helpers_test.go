package domain_test

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// t0 is the reference server time of every rules test.
var t0 = time.Date(2030, time.March, 1, 12, 0, 0, 0, time.UTC)

// The users of the rules tests. seller owns every auction built by
// openAuction.
const (
	seller int64 = 1
	alice  int64 = 2
	bob    int64 = 3
	carol  int64 = 4
	admin  int64 = 9
)

// end is where openAuction's auction ends, as an offset from t0.
const end = time.Hour

func aliasOf(id int64) string { return "Bidder " + strconv.FormatInt(id-1, 10) }

// openAuction returns auction 7: open, EUR, starting at 10.00, ending at
// t0+end with the default soft close and cap, at seq 1. mods adjust it.
func openAuction(mods ...func(*domain.Auction)) domain.Auction {
	a := domain.Auction{
		ID: 7, SellerID: seller, Title: "Brass lamp", Currency: "EUR",
		StartPrice:       1000,
		StartsAt:         t0.Add(-time.Hour),
		EndsAt:           t0.Add(end),
		OriginalEndsAt:   t0.Add(end),
		SoftCloseSeconds: domain.DefaultSoftCloseSeconds,
		MaxExtension:     domain.DefaultMaxExtension,
		Status:           domain.StatusOpen,
		Seq:              1,
	}
	for _, m := range mods {
		m(&a)
	}
	return a
}

// leading puts bidder in the lead at price with maximum limit after bids bids.
func leading(bidder, price, limit int64, bids int) func(*domain.Auction) {
	return func(a *domain.Auction) {
		a.LeaderID, a.LeaderAlias, a.LeaderMax = bidder, aliasOf(bidder), limit
		a.CurrentPrice, a.BidCount = price, bids
	}
}

func withStatus(s domain.Status) func(*domain.Auction) {
	return func(a *domain.Auction) { a.Status = s }
}

// mustDomainError returns err as a *domain.Error with code want.
func mustDomainError(tb testing.TB, err error, want domain.Code) *domain.Error {
	tb.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		tb.Fatalf("error %v (%T) is not a *domain.Error", err, err)
	}
	if de.Code != want {
		tb.Fatalf("error code = %q (%v), want %q", de.Code, err, want)
	}
	return de
}

func eventTypes(evs []domain.Event) []domain.EventType {
	out := make([]domain.EventType, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

// checkEvents checks what every event list must satisfy: public events come
// first with consecutive seqs from prevSeq+1 to got.Seq and deterministic
// IDs; personal events follow, carry a user and got.Seq, and leave their ID
// to the store; every event names the auction and an end time.
func checkEvents(tb testing.TB, prevSeq int64, got domain.Auction, evs []domain.Event, now time.Time) {
	tb.Helper()
	seq := prevSeq
	personalSeen := false
	for i, e := range evs {
		if e.AuctionID != got.ID || e.EndsAt.IsZero() || !e.CommittedAt.Equal(now) {
			tb.Errorf("event %d (%s): auction %d, ends_at %v, committed_at %v", i, e.Type, e.AuctionID, e.EndsAt, e.CommittedAt)
		}
		if e.Type.Personal() {
			personalSeen = true
			if e.UserID == 0 || e.Seq != got.Seq || e.ID != "" {
				tb.Errorf("personal event %d (%s): user %d, seq %d (want %d), id %q", i, e.Type, e.UserID, e.Seq, got.Seq, e.ID)
			}
			continue
		}
		seq++
		if personalSeen {
			tb.Errorf("public event %d (%s) after a personal event", i, e.Type)
		}
		if e.Seq != seq || e.UserID != 0 || e.ID != domain.MakeID(domain.AuctionChannel(got.ID), seq) {
			tb.Errorf("public event %d (%s): seq %d (want %d), user %d, id %q", i, e.Type, e.Seq, seq, e.UserID, e.ID)
		}
	}
	if seq != got.Seq {
		tb.Errorf("auction seq = %d after %d public events from %d", got.Seq, seq-prevSeq, prevSeq)
	}
}

// step is one bid in a sequence and what must hold after it. A step with a
// code expects a refusal; any other step expects acceptance.
type step struct {
	name   string
	at     time.Duration // receipt time, as an offset from t0
	bidder int64
	amount int64
	max    int64
	buyNow bool

	code     domain.Code // refusals: the code
	sentinel error       // and, when set, the sentinel errors.Is must match
	field    string      // and, when set, a key of Fields
	extraMin int64       // and, when set, Extra["min_next_bid"]

	price, leaderMax, minNext int64
	leader                    int64
	bids                      int
	seq                       int64
	events                    []domain.EventType
	outbid                    int64         // the user an outbid event goes to; 0: none
	endsAt                    time.Duration // offset from t0; 0: unchanged (buy-now: receipt)
	reserve                   string        // "met", "unmet" or "": not checked
}

// runSteps places each step's bid on a in turn and checks the result.
func runSteps(t *testing.T, a domain.Auction, steps []step) domain.Auction {
	t.Helper()
	for i, s := range steps {
		now := t0.Add(s.at)
		req := domain.BidRequest{BidderID: s.bidder, Alias: aliasOf(s.bidder), Amount: s.amount, MaxAmount: s.max, BuyNow: s.buyNow}
		out, err := domain.PlaceBid(a, req, now)
		if s.code != "" {
			if err == nil {
				t.Fatalf("step %d %q: accepted (price %d), want %s", i, s.name, out.Auction.CurrentPrice, s.code)
			}
			de := mustDomainError(t, err, s.code)
			if s.sentinel != nil && !errors.Is(err, s.sentinel) {
				t.Errorf("step %d %q: error %v is not %v", i, s.name, err, s.sentinel)
			}
			if _, ok := de.Fields[s.field]; s.field != "" && !ok {
				t.Errorf("step %d %q: Fields %v lack %q", i, s.name, de.Fields, s.field)
			}
			if s.extraMin != 0 && de.Extra["min_next_bid"] != s.extraMin {
				t.Errorf("step %d %q: min_next_bid = %v, want %d", i, s.name, de.Extra["min_next_bid"], s.extraMin)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d %q: %v", i, s.name, err)
		}
		checkStep(t, i, s, a, out, now)
		a = out.Auction
	}
	return a
}

func checkStep(t *testing.T, i int, s step, prev domain.Auction, out domain.Outcome, now time.Time) {
	t.Helper()
	got := out.Auction
	if got.CurrentPrice != s.price || got.LeaderID != s.leader || got.LeaderMax != s.leaderMax ||
		domain.MinNextBid(got) != s.minNext || got.BidCount != s.bids || got.Seq != s.seq {
		t.Errorf("step %d %q: price %d leader %d max %d min_next %d bids %d seq %d; want %d %d %d %d %d %d", i, s.name,
			got.CurrentPrice, got.LeaderID, got.LeaderMax, domain.MinNextBid(got), got.BidCount, got.Seq,
			s.price, s.leader, s.leaderMax, s.minNext, s.bids, s.seq)
	}
	if got.LeaderAlias != aliasOf(s.leader) {
		t.Errorf("step %d %q: leader alias %q", i, s.name, got.LeaderAlias)
	}
	if ev := eventTypes(out.Events); !slices.Equal(ev, s.events) {
		t.Errorf("step %d %q: events %v, want %v", i, s.name, ev, s.events)
	}
	checkEvents(t, prev.Seq, got, out.Events, now)
	wantEnd := prev.EndsAt
	switch {
	case s.buyNow:
		wantEnd = now
	case s.endsAt != 0:
		wantEnd = t0.Add(s.endsAt)
	}
	if !got.EndsAt.Equal(wantEnd) {
		t.Errorf("step %d %q: ends_at %v, want %v", i, s.name, got.EndsAt.Sub(t0), wantEnd.Sub(t0))
	}
	wantStatus := domain.StatusOpen
	if s.buyNow {
		wantStatus = domain.StatusClosed
	}
	if got.Status != wantStatus {
		t.Errorf("step %d %q: status %s, want %s", i, s.name, got.Status, wantStatus)
	}
	if s.reserve != "" && domain.ReserveMet(got) != (s.reserve == "met") {
		t.Errorf("step %d %q: reserve_met = %v, want %s", i, s.name, domain.ReserveMet(got), s.reserve)
	}
	if out.Leading != (got.LeaderID == s.bidder) {
		t.Errorf("step %d %q: Leading = %v", i, s.name, out.Leading)
	}
	checkBidRecord(t, i, s, prev, got, out, now)
	for _, e := range out.Events {
		switch e.Type {
		case domain.EventOutbid:
			if e.UserID != s.outbid || e.UserID != prev.LeaderID {
				t.Errorf("step %d %q: outbid goes to %d, want %d (previous leader %d)", i, s.name, e.UserID, s.outbid, prev.LeaderID)
			}
		case domain.EventExtended:
			if e.PreviousEndsAt == nil || !e.PreviousEndsAt.Equal(prev.EndsAt) || !e.EndsAt.Equal(got.EndsAt) {
				t.Errorf("step %d %q: extended from %v to %v, want %v to %v", i, s.name, e.PreviousEndsAt, e.EndsAt, prev.EndsAt, got.EndsAt)
			}
		case domain.EventWon:
			if e.UserID != s.bidder || e.WinnerID != s.bidder || e.Winner != aliasOf(s.bidder) {
				t.Errorf("step %d %q: won event for %d/%d/%q", i, s.name, e.UserID, e.WinnerID, e.Winner)
			}
		case domain.EventClosed:
			if e.Winner != aliasOf(s.bidder) || e.Status != domain.StatusClosed {
				t.Errorf("step %d %q: closed event winner %q status %s", i, s.name, e.Winner, e.Status)
			}
		case domain.EventPrice:
			// A leader's raise is no public line: its event names no bid.
			wantAmount, wantBidder := publicAmount(s, prev, got), aliasOf(s.bidder)
			if out.Bid.Raise {
				wantAmount, wantBidder = 0, ""
			}
			if e.BidAmount != wantAmount || e.Bidder != wantBidder || e.CurrentPrice != got.CurrentPrice || e.BuyNowPrice != 0 ||
				!slices.Equal(e.Auto, out.Auto) {
				t.Errorf("step %d %q: price event %+v", i, s.name, e)
			}
		}
	}
	if s.outbid != 0 && !slices.Contains(s.events, domain.EventOutbid) {
		t.Errorf("step %d %q: table names outbid user %d but no outbid event", i, s.name, s.outbid)
	}
}

// checkBidRecord checks the Bid the store will insert for an accepted step.
func checkBidRecord(t *testing.T, i int, s step, prev, got domain.Auction, out domain.Outcome, now time.Time) {
	t.Helper()
	b := out.Bid
	wantAmount, wantMax, wantSeq := publicAmount(s, prev, got), max(s.amount, s.max), got.Seq
	if s.buyNow {
		wantAmount, wantMax = got.BuyNowPrice, got.BuyNowPrice
	}
	for _, e := range out.Events {
		if e.Type == domain.EventPrice {
			wantSeq = e.Seq
		}
	}
	raise := prev.LeaderID != 0 && prev.LeaderID == s.bidder && !s.buyNow
	if b.AuctionID != got.ID || b.BidderID != s.bidder || b.Alias != aliasOf(s.bidder) || b.Amount != wantAmount ||
		b.MaxAmount != wantMax || b.BuyNow != s.buyNow || b.Seq != wantSeq || !b.ReceivedAt.Equal(now) || b.Raise != raise {
		t.Errorf("step %d %q: bid record %+v", i, s.name, b)
	}
}

// timedBid is a bid request at an offset from t0.
type timedBid struct {
	at                  time.Duration
	bidder, amount, max int64
}

// placeAll places bids on a in order, skips the refused ones, and returns
// the final state and the accepted bids.
func placeAll(a domain.Auction, bids []timedBid) (domain.Auction, []domain.Bid) {
	var accepted []domain.Bid
	for _, b := range bids {
		req := domain.BidRequest{BidderID: b.bidder, Alias: aliasOf(b.bidder), Amount: b.amount, MaxAmount: b.max}
		out, err := domain.PlaceBid(a, req, t0.Add(b.at))
		if err != nil {
			continue
		}
		a = out.Auction
		accepted = append(accepted, out.Bid)
	}
	return a, accepted
}

// sameBids reports whether got and want agree on the state bids determine.
func sameBids(got, want domain.Auction) bool {
	return got.CurrentPrice == want.CurrentPrice && got.LeaderID == want.LeaderID && got.LeaderMax == want.LeaderMax &&
		got.LeaderAlias == want.LeaderAlias && got.BidCount == want.BidCount
}

// without returns bids less those of bidder.
func without(bids []domain.Bid, bidder int64) []domain.Bid {
	return slices.DeleteFunc(slices.Clone(bids), func(b domain.Bid) bool { return b.BidderID == bidder })
}

// publicAmount is the amount a bid shows publicly: what was entered, except
// that a leader's raise shows only the resulting price, since its entered
// amount would reveal the hidden maximum.
func publicAmount(s step, prev, got domain.Auction) int64 {
	if prev.LeaderID != 0 && prev.LeaderID == s.bidder && !s.buyNow {
		return got.CurrentPrice
	}
	return s.amount
}
