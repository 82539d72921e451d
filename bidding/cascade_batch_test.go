package bidding

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestApplyBatchCascadesLikeTheRule judges, in one batch, bids on a
// 500-lot cascade-mode sale that cascade one after another (the second
// and third over lots the first moved, some up to their cap) around a
// withdrawn lot, plus a refused bid, and checks the plan against a replay
// of the same bids through domain.PlaceBid and domain.Cascade, one copy
// of the lots at a time: the same events in the same order, the same
// final lots, and moved set exactly for the lots no bid was on. Then one
// cascade, twice: the second plan is built in the storage the first
// recycled, and is as right.
func TestApplyBatchCascadesLikeTheRule(t *testing.T) {
	sale, locked, now := cascadeFixture(500)
	// The store's clock is local time: events carry it as it is.
	now = now.In(time.FixedZone("CET", 3600))
	for id, a := range locked {
		switch {
		case a.LotNumber == 100:
			a.Status = domain.StatusCancelled
		case a.LotNumber > 300:
			a.MaxExtension = 3545 * time.Second
		}
		locked[id] = a
	}
	// The first bid moves every later lot by 3540 s, the second (lot 3)
	// by 3 s more, the last (lot 1 again) by 10 s, past the cap of lots
	// 301 and later.
	batch := []*bidCall{
		{auctionID: 1000, bidder: domain.User{ID: 8}, in: domain.BidInput{Amount: 1100}, receivedAt: now},
		{auctionID: 1002, bidder: domain.User{ID: 9}, in: domain.BidInput{Amount: 1000}, receivedAt: now.Add(5 * time.Second)},
		{auctionID: 1001, bidder: domain.User{ID: 9}, in: domain.BidInput{Amount: 1}, receivedAt: now.Add(5 * time.Second)}, // too low
		{auctionID: 1000, bidder: domain.User{ID: 10}, in: domain.BidInput{Amount: 1300}, receivedAt: now.Add(10 * time.Second)},
	}
	judge := func(batch []*bidCall) *batchPlan {
		t.Helper()
		wantEvents, wantPersonal, want, bidOn := replayCascades(t, sale, maps.Clone(locked), batch, now)
		st := newBatchState()
		st.sales[sale.ID] = sale
		st.laterFrom[sale.ID] = 1
		auctions := maps.Clone(locked)
		p := applyBatch(batch, auctions, st, now)
		checkCascadePlan(t, p, auctions, wantEvents, wantPersonal, want, bidOn, len(batch) > 1)
		return p
	}
	judge(batch).recycle() // too big to keep (~1,500 events)
	// One cascade's storage is kept, and the next batch judges in it.
	p := judge(batch[:1])
	storage := &p.touched[0]
	p.recycle()
	if p.events != nil || p.touched != nil {
		t.Fatal("a recycled plan keeps its events or lots")
	}
	if p = judge(batch[:1]); &p.touched[0] != storage {
		t.Error("the next plan did not reuse the recycled storage")
	}
}

// checkCascadePlan compares p with the replay's events and lots; full
// says the batch is the whole one, whose cascades and caps it counts.
func checkCascadePlan(t *testing.T, p *batchPlan, auctions map[int64]domain.Auction, wantEvents, wantPersonal []domain.Event,
	want map[int64]domain.Auction, bidOn map[int64]bool, full bool) {
	t.Helper()
	if full && (len(p.accepted) != 3 || p.results[2].err == nil) || !full && len(p.accepted) != 1 {
		t.Fatalf("accepted %v, results %+v", p.accepted, p.results)
	}
	if !reflect.DeepEqual(p.events, wantEvents) {
		t.Errorf("%d events, replay %d", len(p.events), len(wantEvents))
		for i := range min(len(p.events), len(wantEvents)) {
			if !reflect.DeepEqual(p.events[i], wantEvents[i]) {
				t.Fatalf("event %d:\n got %+v\nwant %+v", i, p.events[i], wantEvents[i])
			}
		}
	}
	if !reflect.DeepEqual(p.personal, wantPersonal) {
		t.Errorf("personal events %+v, replay %+v", p.personal, wantPersonal)
	}
	for id, a := range want {
		if !reflect.DeepEqual(auctions[id], a) {
			t.Fatalf("lot %d after the batch:\n got %+v\nwant %+v", a.LotNumber, auctions[id], a)
		}
	}
	var touched []int64
	for _, a := range p.touched {
		touched = append(touched, a.ID)
		if !reflect.DeepEqual(a, want[a.ID]) {
			t.Errorf("touched lot %d is not its final state", a.LotNumber)
		}
		if p.moved[a.ID] == bidOn[a.ID] {
			t.Errorf("lot %d: moved %v, bid on %v", a.LotNumber, p.moved[a.ID], bidOn[a.ID])
		}
	}
	slices.Sort(touched)
	// Every lot but the withdrawn one (lot 100) changed.
	if len(touched) != 499 || slices.Contains(touched, 1099) {
		t.Errorf("%d lots touched (withdrawn one in: %v), want 499", len(touched), slices.Contains(touched, 1099))
	}
	if len(p.moved) != 499-len(bidOn) {
		t.Errorf("%d lots moved only, want %d", len(p.moved), 499-len(bidOn))
	}
	if !full {
		return
	}
	var extended []int
	capped := 0
	for _, e := range p.events {
		if e.Type == domain.EventSaleExtended {
			extended = append(extended, e.AfterLot)
		}
		capped += len(e.Capped)
	}
	if !slices.Equal(extended, []int{1, 3, 1}) || capped != 200 {
		t.Errorf("sale_extended after lots %v with %d capped, want [1 3 1] and 200: the case is not covered", extended, capped)
	}
}

// replayCascades judges batch the plain way: each bid through PlaceBid,
// and a bid that extends its lot moves the later ones through Cascade on
// a fresh copy of them, in lot order.
func replayCascades(t *testing.T, sale domain.Sale, lots map[int64]domain.Auction, batch []*bidCall, now time.Time) (
	events, personal []domain.Event, final map[int64]domain.Auction, bidOn map[int64]bool) {
	t.Helper()
	bidOn = map[int64]bool{}
	aliases := map[aliasKey]string{}
	for _, c := range batch {
		a := lots[c.auctionID]
		ak := aliasKey{c.auctionID, c.bidder.ID}
		alias, known := aliases[ak]
		if !known {
			alias = "Bidder " + strconv.Itoa(a.BidderCount+1)
		}
		out, err := domain.PlaceBid(a, domain.BidRequest{BidderID: c.bidder.ID, Alias: alias, Amount: c.in.Amount}, c.receivedAt)
		if err != nil {
			continue
		}
		if !known {
			out.Auction.BidderCount++
			aliases[ak] = alias
		}
		next := out.Auction
		next.UpdatedAt = now
		lots[c.auctionID] = next
		bidOn[c.auctionID] = true
		for _, e := range out.Events {
			e.CommittedAt = now
			if e.Type.Personal() {
				personal = append(personal, e)
			} else {
				events = append(events, e)
			}
		}
		var later []domain.Auction
		for _, l := range lots {
			if l.LotNumber > next.LotNumber {
				later = append(later, l)
			}
		}
		slices.SortFunc(later, func(x, y domain.Auction) int { return cmp.Compare(x.LotNumber, y.LotNumber) })
		moved, evs := domain.Cascade(sale, next, a.EndsAt, later, now)
		for _, m := range moved {
			lots[m.ID] = m
		}
		for _, e := range evs {
			e.CommittedAt = now
			events = append(events, e)
		}
	}
	return events, personal, lots, bidOn
}
