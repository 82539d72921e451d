package domain_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func ptr[T any](v T) *T { return &v }

// validSale is a sale input that passes validation at t0.
func validSale(mods ...func(*domain.SaleInput)) domain.SaleInput {
	in := domain.SaleInput{
		Title: "Spring sale", Currency: "EUR", OpensAt: ptr(t0.Add(time.Minute)),
		FirstCloseAt: t0.Add(time.Hour), GapSeconds: ptr(20), SoftCloseSeconds: ptr(60),
		SoftCloseMode: domain.SoftCloseCascade,
	}
	for _, m := range mods {
		m(&in)
	}
	return in
}

func TestValidateSaleInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mod    func(*domain.SaleInput)
		fields []string
	}{
		{name: "valid"},
		{name: "defaults", mod: func(in *domain.SaleInput) {
			in.OpensAt, in.GapSeconds, in.SoftCloseSeconds, in.SoftCloseMode = nil, nil, nil, ""
		}},
		{name: "no title", mod: func(in *domain.SaleInput) { in.Title = "  " }, fields: []string{"title"}},
		{name: "NUL in title", mod: func(in *domain.SaleInput) { in.Title = "a\x00b" }, fields: []string{"title"}},
		{name: "bad currency", mod: func(in *domain.SaleInput) { in.Currency = "XXX" }, fields: []string{"currency"}},
		{name: "negative increment", mod: func(in *domain.SaleInput) { in.Increment = -1 }, fields: []string{"increment"}},
		{name: "no first close", mod: func(in *domain.SaleInput) { in.FirstCloseAt = time.Time{} }, fields: []string{"first_close_at"}},
		{name: "first close before opening", mod: func(in *domain.SaleInput) { in.FirstCloseAt = t0.Add(time.Minute + 5*time.Second) }, fields: []string{"first_close_at"}},
		{name: "first close in the past", mod: func(in *domain.SaleInput) { in.OpensAt, in.FirstCloseAt = nil, t0.Add(-time.Minute) }, fields: []string{"first_close_at"}},
		{name: "opens too late", mod: func(in *domain.SaleInput) {
			in.OpensAt, in.FirstCloseAt = ptr(t0.Add(31*24*time.Hour)), t0.Add(32*24*time.Hour)
		}, fields: []string{"opens_at"}},
		{name: "gap out of range", mod: func(in *domain.SaleInput) { in.GapSeconds = ptr(-1) }, fields: []string{"gap_seconds"}},
		{name: "soft close out of range", mod: func(in *domain.SaleInput) { in.SoftCloseSeconds = ptr(3601) }, fields: []string{"soft_close_seconds"}},
		{name: "bad mode", mod: func(in *domain.SaleInput) { in.SoftCloseMode = "group" }, fields: []string{"soft_close_mode"}},
		{name: "everything at once", mod: func(in *domain.SaleInput) {
			in.Title, in.Currency, in.GapSeconds, in.SoftCloseMode = "", "", ptr(9999), "x"
		}, fields: []string{"currency", "gap_seconds", "soft_close_mode", "title"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := validSale()
			if tt.mod != nil {
				tt.mod(&in)
			}
			err := domain.ValidateSaleInput(in, t0)
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			de := mustDomainError(t, err, domain.CodeInvalid)
			var got []string
			for f := range de.Fields {
				got = append(got, f)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.fields) {
				t.Errorf("fields %v, want %v (%v)", got, tt.fields, de.Fields)
			}
		})
	}
}

func TestValidateLotInput(t *testing.T) {
	t.Parallel()
	ok := domain.LotInput{LotNumber: 1, Title: "Clock", StartPrice: 1000, Reserve: 2000, LowEstimate: 1500, HighEstimate: 2500, BuyNow: 5000}
	tests := []struct {
		name   string
		mod    func(*domain.LotInput)
		fields []string
	}{
		{name: "valid"},
		{name: "minimal", mod: func(in *domain.LotInput) { *in = domain.LotInput{LotNumber: 7, Title: "x", StartPrice: 1} }},
		{name: "lot number zero", mod: func(in *domain.LotInput) { in.LotNumber = 0 }, fields: []string{"lot_number"}},
		{name: "lot number too large", mod: func(in *domain.LotInput) { in.LotNumber = domain.MaxLotNumber + 1 }, fields: []string{"lot_number"}},
		{name: "no start price", mod: func(in *domain.LotInput) { in.StartPrice, in.Reserve, in.BuyNow = 0, 0, 0 }, fields: []string{"start_price"}},
		{name: "reserve below start", mod: func(in *domain.LotInput) { in.Reserve = 500 }, fields: []string{"reserve"}},
		{name: "buy now below reserve", mod: func(in *domain.LotInput) { in.BuyNow = 1500 }, fields: []string{"buy_now"}},
		{name: "estimates reversed", mod: func(in *domain.LotInput) { in.LowEstimate, in.HighEstimate = 3000, 2000 }, fields: []string{"high_estimate"}},
		{name: "negative estimate", mod: func(in *domain.LotInput) { in.LowEstimate = -5 }, fields: []string{"low_estimate"}},
		{name: "long title", mod: func(in *domain.LotInput) { in.Title = strings.Repeat("é", 201) }, fields: []string{"title"}},
		{name: "invalid UTF-8", mod: func(in *domain.LotInput) { in.Description = "\xff" }, fields: []string{"description"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := ok
			if tt.mod != nil {
				tt.mod(&in)
			}
			got := domain.ValidateLotInput(in)
			var names []string
			for f := range got {
				names = append(names, f)
			}
			slices.Sort(names)
			if !slices.Equal(names, tt.fields) {
				t.Errorf("fields %v, want %v (%v)", names, tt.fields, got)
			}
		})
	}
}

// saleWithLots returns sale 1 (published, open) and n open lots numbered
// 1..n with ids 101.. as Schedule lays them out.
func saleWithLots(t *testing.T, mode domain.SoftCloseMode, n, gap, soft int) (domain.Sale, []domain.Auction) {
	t.Helper()
	in := validSale(func(in *domain.SaleInput) {
		in.SoftCloseMode, in.GapSeconds, in.SoftCloseSeconds = mode, ptr(gap), ptr(soft)
	})
	s, err := domain.NewSale(seller, in, t0)
	if err != nil {
		t.Fatal(err)
	}
	s.ID = 1
	var lots []domain.Auction
	for i := n; i >= 1; i-- { // added out of order on purpose
		a, err := domain.NewLot(s, domain.LotInput{LotNumber: i * 10, Title: "Lot", StartPrice: 1000}, t0)
		if err != nil {
			t.Fatal(err)
		}
		a.ID = int64(100 + i)
		lots = append(lots, a)
	}
	s, lots, _, err = domain.PublishSale(s, lots, t0)
	if err != nil {
		t.Fatal(err)
	}
	s, opened, _, ok := domain.OpenSale(s, lots, *in.OpensAt)
	if !ok || len(opened) != n {
		t.Fatalf("open: ok %v, %d of %d lots", ok, len(opened), n)
	}
	return s, opened
}

func TestScheduleFollowsLotOrder(t *testing.T) {
	t.Parallel()
	s, lots := saleWithLots(t, domain.SoftCloseLot, 4, 20, 60)
	for i, a := range lots {
		if a.LotNumber != (i+1)*10 {
			t.Fatalf("lot %d is number %d: not in lot order", i, a.LotNumber)
		}
		want := t0.Add(time.Hour + time.Duration(i)*20*time.Second)
		if !a.EndsAt.Equal(want) || !a.OriginalEndsAt.Equal(want) || !a.StartsAt.Equal(s.OpensAt) {
			t.Errorf("lot %d: starts %v ends %v (orig %v), want start %v end %v", a.LotNumber, a.StartsAt, a.EndsAt, a.OriginalEndsAt, s.OpensAt, want)
		}
		if a.Status != domain.StatusOpen || a.SaleID != 1 || a.Seq != 1 {
			t.Errorf("lot %d: status %s sale %d seq %d", a.LotNumber, a.Status, a.SaleID, a.Seq)
		}
	}
	if s.Status != domain.SaleOpen {
		t.Errorf("sale status %s", s.Status)
	}
}

func TestPublishSale(t *testing.T) {
	t.Parallel()
	s, err := domain.NewSale(seller, validSale(func(in *domain.SaleInput) { in.OpensAt = nil }), t0)
	if err != nil {
		t.Fatal(err)
	}
	s.ID = 5
	if _, _, _, err := domain.PublishSale(s, nil, t0); err == nil || !strings.Contains(err.Error(), "at least one lot") {
		t.Fatalf("publishing an empty sale: %v", err)
	}
	lot, err := domain.NewLot(s, domain.LotInput{LotNumber: 1, Title: "Lot", StartPrice: 100}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if lot.Status != domain.StatusDraft {
		t.Fatalf("lot of a draft is %s", lot.Status)
	}
	// No opening set: it opens as it is published.
	next, lots, evs, err := domain.PublishSale(s, []domain.Auction{lot}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if next.Status != domain.SaleOpen || !next.OpensAt.Equal(t0) || lots[0].Status != domain.StatusOpen {
		t.Fatalf("sale %s opens %v, lot %s", next.Status, next.OpensAt, lots[0].Status)
	}
	want := []domain.EventType{domain.EventSaleScheduled, domain.EventOpened, domain.EventSaleOpened}
	if !slices.Equal(eventTypes(evs), want) {
		t.Errorf("events %v, want %v", eventTypes(evs), want)
	}
	if !evs[1].Covered || evs[1].InSaleLog() || !evs[2].InSaleLog() {
		t.Errorf("the lot's opened event must be covered by sale_opened")
	}
	if _, _, _, err := domain.PublishSale(next, lots, t0); err == nil {
		t.Errorf("published twice")
	}
	if domain.CanEditSale(next, t0) {
		t.Errorf("an open sale is editable")
	}
}

// TestCascadeWorkedExample is the example of docs/SALES.md: three lots
// closing 60 s apart, a 120 s soft close, and a bid on lot 1 ten seconds
// before its end.
func TestCascadeWorkedExample(t *testing.T) {
	t.Parallel()
	for _, mode := range []domain.SoftCloseMode{domain.SoftCloseLot, domain.SoftCloseCascade} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			s, lots := saleWithLots(t, mode, 3, 60, 120)
			first := lots[0]
			now := first.EndsAt.Add(-10 * time.Second)
			out, err := domain.PlaceBid(first, domain.BidRequest{BidderID: alice, Alias: "Bidder 1", Amount: 1000}, now)
			if err != nil {
				t.Fatal(err)
			}
			if d := out.Auction.EndsAt.Sub(first.EndsAt); d != 110*time.Second {
				t.Fatalf("lot 1 extended by %v, want 110s", d)
			}
			moved, evs := domain.Cascade(s, out.Auction, first.EndsAt, lots[1:], now)
			if mode == domain.SoftCloseLot {
				if moved != nil || evs != nil {
					t.Fatalf("lot mode moved %d lots", len(moved))
				}
				return
			}
			if len(moved) != 2 {
				t.Fatalf("moved %d lots, want 2", len(moved))
			}
			for i, a := range moved {
				if want := lots[i+1].EndsAt.Add(110 * time.Second); !a.EndsAt.Equal(want) || a.Seq != lots[i+1].Seq+1 {
					t.Errorf("lot %d ends %v seq %d, want %v seq %d", a.LotNumber, a.EndsAt, a.Seq, want, lots[i+1].Seq+1)
				}
			}
			want := []domain.EventType{domain.EventExtended, domain.EventExtended, domain.EventSaleExtended}
			if !slices.Equal(eventTypes(evs), want) {
				t.Fatalf("events %v, want %v", eventTypes(evs), want)
			}
			se := evs[2]
			if se.ShiftMS != 110_000 || se.AfterLot != 10 || len(se.Capped) != 0 || !se.InSaleLog() || evs[0].InSaleLog() {
				t.Errorf("sale_extended %+v", se)
			}
			if !evs[0].PreviousEndsAt.Equal(lots[1].EndsAt) {
				t.Errorf("previous_ends_at %v", evs[0].PreviousEndsAt)
			}
		})
	}
}

func TestCascadeCapsEachLot(t *testing.T) {
	t.Parallel()
	s, lots := saleWithLots(t, domain.SoftCloseCascade, 3, 60, 120)
	lots[1].MaxExtension = 30 * time.Second        // lot 20 may move 30 s in all
	lots[2].EndsAt = lots[2].EndsAt.Add(time.Hour) // lot 30 already moved its whole hour
	from := lots[0]
	from.EndsAt = from.EndsAt.Add(100 * time.Second)
	moved, evs := domain.Cascade(s, from, lots[0].EndsAt, lots[1:], t0)
	if len(moved) != 1 || moved[0].LotNumber != 20 || !moved[0].EndsAt.Equal(lots[1].OriginalEndsAt.Add(30*time.Second)) {
		t.Fatalf("moved %+v", moved)
	}
	se := evs[len(evs)-1]
	if len(se.Capped) != 2 || se.Capped[0].AuctionID != lots[1].ID || se.Capped[1].AuctionID != lots[2].ID ||
		!se.Capped[1].EndsAt.Equal(lots[2].EndsAt) {
		t.Errorf("capped %+v", se.Capped)
	}
}

func TestPauseAndResumeShiftRemainingEnds(t *testing.T) {
	t.Parallel()
	s, lots := saleWithLots(t, domain.SoftCloseCascade, 3, 30, 60)
	lots[0].Status = domain.StatusClosed
	pausedAt := t0.Add(2 * time.Hour)
	p, changed, evs, err := domain.PauseSale(s, lots, pausedAt)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Paused() || len(changed) != 2 || eventTypes(evs)[2] != domain.EventSalePaused {
		t.Fatalf("paused %v, %d changed, events %v", p.Paused(), len(changed), eventTypes(evs))
	}
	if err := domain.CheckSaleBid(p); err != domain.ErrSalePaused {
		t.Errorf("a paused sale takes bids: %v", err)
	}
	if _, _, _, err := domain.PauseSale(p, changed, pausedAt); err == nil {
		t.Errorf("paused twice")
	}
	r, resumed, evs, err := domain.ResumeSale(p, append([]domain.Auction{lots[0]}, changed...), pausedAt.Add(90*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if r.Paused() || len(resumed) != 2 || evs[len(evs)-1].ShiftMS != 90_000 {
		t.Fatalf("resumed %v, %d lots, events %+v", r.Paused(), len(resumed), evs)
	}
	for i, a := range resumed {
		want := lots[i+1].EndsAt.Add(90 * time.Second)
		if !a.EndsAt.Equal(want) || !a.OriginalEndsAt.Equal(lots[i+1].OriginalEndsAt.Add(90*time.Second)) || !a.PausedAt.IsZero() {
			t.Errorf("lot %d: ends %v orig %v paused %v, want end %v", a.LotNumber, a.EndsAt, a.OriginalEndsAt, a.PausedAt, want)
		}
	}
}

func TestSaleProgress(t *testing.T) {
	t.Parallel()
	s := domain.Sale{ID: 1, Status: domain.SaleOpen}
	if s2, evs := domain.SaleProgress(s, 0, 3, t0); s2.Status != domain.SaleOpen || len(evs) != 0 {
		t.Fatalf("nothing closed: %s %v", s2.Status, eventTypes(evs))
	}
	s, evs := domain.SaleProgress(s, 1, 2, t0)
	if s.Status != domain.SaleClosing || !slices.Equal(eventTypes(evs), []domain.EventType{domain.EventSaleClosing}) {
		t.Fatalf("first close: %s %v", s.Status, eventTypes(evs))
	}
	if s2, evs := domain.SaleProgress(s, 2, 1, t0); s2.Status != domain.SaleClosing || len(evs) != 0 {
		t.Fatalf("middle close: %s %v", s2.Status, eventTypes(evs))
	}
	s, evs = domain.SaleProgress(s, 3, 0, t0)
	if s.Status != domain.SaleClosed || !slices.Equal(eventTypes(evs), []domain.EventType{domain.EventSaleClosed}) {
		t.Fatalf("last close: %s %v", s.Status, eventTypes(evs))
	}
	open := domain.Sale{ID: 1, Status: domain.SaleOpen}
	if s, evs := domain.SaleProgress(open, 0, 0, t0); s.Status != domain.SaleClosed || len(evs) != 2 {
		t.Fatalf("every lot withdrawn: %s %v", s.Status, eventTypes(evs))
	}
	sched := domain.Sale{ID: 1, Status: domain.SaleScheduled}
	if s, evs := domain.SaleProgress(sched, 0, 0, t0); s.Status != domain.SaleScheduled || len(evs) != 0 {
		t.Fatalf("a scheduled sale moved: %s %v", s.Status, eventTypes(evs))
	}
}

func TestCancelSale(t *testing.T) {
	t.Parallel()
	s, lots := saleWithLots(t, domain.SoftCloseLot, 3, 30, 60)
	lots[2].Status = domain.StatusClosed
	c, changed, evs, err := domain.CancelSale(s, lots, "Consignor withdrew", t0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != domain.SaleCancelled || len(changed) != 2 || evs[len(evs)-1].Reason != "Consignor withdrew" {
		t.Fatalf("%s, %d changed, %+v", c.Status, len(changed), evs)
	}
	if _, _, _, err := domain.CancelSale(c, lots, "", t0); err != domain.ErrSaleFinished {
		t.Errorf("cancelled twice: %v", err)
	}
}

func TestSaleSnapshot(t *testing.T) {
	t.Parallel()
	s, lots := saleWithLots(t, domain.SoftCloseCascade, 3, 60, 120)
	s.Seq, s.PausedAt = 41, t0
	var evs []domain.Event
	for _, a := range lots {
		evs = append(evs, domain.LotSnapshot(a))
	}
	e := domain.SaleSnapshot(s, evs)
	if e.Type != domain.EventSaleSnapshot || e.SaleSeq != 41 || e.SaleID != s.ID || e.ID != domain.MakeID(domain.SaleChannel(s.ID), 41) ||
		e.ChannelSeq() != 41 || e.Channel() != domain.SaleChannel(s.ID) {
		t.Fatalf("snapshot position: %+v", e)
	}
	if e.Sale == nil || e.Sale.Seq != 41 || !e.Sale.Paused || e.PausedAt == nil || len(e.Lots) != 3 || e.Lots[2].LotNumber != lots[2].LotNumber {
		t.Fatalf("snapshot content: sale %+v, %d lots", e.Sale, len(e.Lots))
	}
	if empty := domain.SaleSnapshot(s, nil); empty.Lots == nil {
		t.Error("a sale without lots has lots: null, want []")
	}
}
