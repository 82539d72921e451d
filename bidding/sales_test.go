package bidding

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// Sale times of these tests: it opens a minute after t0, its first lot
// closes an hour after t0.
var (
	saleOpens      = t0.Add(time.Minute)
	saleFirstClose = t0.Add(time.Hour)
)

func intp(v int) *int { return &v }

// mustDraft creates a draft sale with n lots numbered 1..n.
func mustDraft(tb testing.TB, s *Service, seller domain.User, mode domain.SoftCloseMode, n, gap, soft int) (domain.Sale, []domain.Auction) {
	tb.Helper()
	opens := saleOpens
	sale, err := s.CreateSale(context.Background(), seller, domain.SaleInput{
		Title: "Spring sale", Currency: "EUR", OpensAt: &opens, FirstCloseAt: saleFirstClose,
		GapSeconds: intp(gap), SoftCloseSeconds: intp(soft), SoftCloseMode: mode,
	})
	if err != nil {
		tb.Fatal(err)
	}
	in := make([]domain.LotInput, n)
	for i := range in {
		in[i] = domain.LotInput{LotNumber: i + 1, Title: "Lot", StartPrice: 1000, LowEstimate: 1500, HighEstimate: 2000}
	}
	lots, err := s.AddLots(context.Background(), seller, sale.ID, in)
	if err != nil {
		tb.Fatal(err)
	}
	return sale, lots
}

// mustOpenSale creates a sale with n lots, publishes it and opens it at
// saleOpens (the clock is left there).
func mustOpenSale(tb testing.TB, s *Service, c *clock, seller domain.User, mode domain.SoftCloseMode, n, gap, soft int) (domain.Sale, []domain.Auction) {
	tb.Helper()
	sale, _ := mustDraft(tb, s, seller, mode, n, gap, soft)
	if _, err := s.PublishSale(context.Background(), seller, sale.ID); err != nil {
		tb.Fatal(err)
	}
	c.set(saleOpens)
	if _, err := s.Tick(context.Background()); err != nil {
		tb.Fatal(err)
	}
	sale = mustSaleGet(tb, s, sale.ID)
	if sale.Status != domain.SaleOpen {
		tb.Fatalf("sale is %s after its opening", sale.Status)
	}
	lots, err := s.Lots(context.Background(), sale.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return sale, lots
}

func mustSaleGet(tb testing.TB, s *Service, id int64) domain.Sale {
	tb.Helper()
	sale, err := s.Sale(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return sale
}

func mustLots(tb testing.TB, s *Service, saleID int64) []domain.Auction {
	tb.Helper()
	lots, err := s.Lots(context.Background(), saleID)
	if err != nil {
		tb.Fatal(err)
	}
	return lots
}

// saleLog returns a sale's log and checks that its positions run 1..n.
func saleLog(tb testing.TB, s *Service, saleID int64) []domain.Event {
	tb.Helper()
	evs := eventsOf(tb, s, domain.SaleChannel(saleID))
	for i, e := range evs {
		if e.SaleSeq != int64(i+1) || e.SaleID != saleID {
			tb.Fatalf("sale log entry %d is %s at sale %d seq %d: the log must be gap-free", i, e.Type, e.SaleID, e.SaleSeq)
		}
	}
	if head, err := s.Head(context.Background(), domain.SaleChannel(saleID)); err != nil || head != int64(len(evs)) {
		tb.Fatalf("sale head %d (%v), log has %d events", head, err, len(evs))
	}
	return evs
}

func typesOf(evs []domain.Event) []domain.EventType {
	out := make([]domain.EventType, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func TestSaleLifecycle(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		c := newClock(t0)
		s := mustService(t, db, c)
		seller, bidder, other := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false)
		opens := saleOpens
		sale, err := s.CreateSale(ctx, seller, domain.SaleInput{Title: "Clocks", Currency: "EUR", OpensAt: &opens,
			FirstCloseAt: saleFirstClose, GapSeconds: intp(30)})
		if err != nil {
			t.Fatal(err)
		}
		if sale.Status != domain.SaleDraft || sale.SoftCloseMode != domain.SoftCloseLot || sale.SoftCloseSeconds != domain.DefaultSoftCloseSeconds {
			t.Fatalf("new sale %+v", sale)
		}
		// Lots arrive out of order, one by one and in a batch.
		for _, in := range [][]domain.LotInput{
			{{LotNumber: 3, Title: "Third", StartPrice: 1000}},
			{{LotNumber: 1, Title: "First", StartPrice: 1000}, {LotNumber: 2, Title: "Second", StartPrice: 1000, Reserve: 5000}},
			{{LotNumber: 4, Title: "Fourth", StartPrice: 1000}},
		} {
			if _, err := s.AddLots(ctx, seller, sale.ID, in); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.AddLots(ctx, seller, sale.ID, []domain.LotInput{{LotNumber: 2, Title: "Dup", StartPrice: 1}}); domain.ErrorCode(err) != domain.CodeConflict {
			t.Fatalf("duplicate lot number: %v", err)
		}
		if _, err := s.AddLots(ctx, other, sale.ID, []domain.LotInput{{LotNumber: 9, Title: "x", StartPrice: 1}}); !errors.Is(err, domain.ErrNotSeller) {
			t.Fatalf("another user's lot: %v", err)
		}
		lots := mustLots(t, s, sale.ID)
		for i, a := range lots {
			want := saleFirstClose.Add(time.Duration(i) * 30 * time.Second)
			if a.LotNumber != i+1 || !a.EndsAt.Equal(want) || a.Status != domain.StatusDraft || !a.StartsAt.Equal(saleOpens) {
				t.Fatalf("lot %d: number %d ends %v status %s starts %v, want end %v", i, a.LotNumber, a.EndsAt, a.Status, a.StartsAt, want)
			}
		}
		if _, err := s.PlaceBid(ctx, bidder, lots[0].ID, domain.BidInput{Amount: 1000}); domain.ErrorCode(err) != domain.CodeConflict {
			t.Fatalf("bid on a draft: %v", err)
		}
		// Single listings stay apart from lots.
		single := mustAuction(t, s, seller, nil)
		if got, _ := s.Auctions(ctx, domain.AuctionFilter{NoLots: true, SellerID: seller.ID}); len(got) != 1 || got[0].ID != single.ID {
			t.Fatalf("NoLots listing: %d auctions", len(got))
		}
		if got, _ := s.Auctions(ctx, domain.AuctionFilter{SaleID: sale.ID}); len(got) != 0 {
			t.Fatalf("a draft's lots are listed: %d auctions", len(got))
		}
		if got, _ := s.Auctions(ctx, domain.AuctionFilter{SaleID: sale.ID, Status: []domain.Status{domain.StatusDraft}}); len(got) != 4 {
			t.Fatalf("a sale's lots: %d auctions", len(got))
		}
		if _, err := s.UpdateAuction(ctx, seller, lots[0].ID, domain.AuctionInput{Title: "x", Currency: "EUR", StartPrice: 1, EndsAt: t0.Add(time.Hour)}); domain.ErrorCode(err) != domain.CodeConflict {
			t.Fatalf("editing a lot as an auction: %v", err)
		}

		if _, err := s.PublishSale(ctx, other, sale.ID); !errors.Is(err, domain.ErrNotSeller) {
			t.Fatalf("publish by another user: %v", err)
		}
		if _, err := s.PublishSale(ctx, seller, sale.ID); err != nil {
			t.Fatal(err)
		}
		// Renumbering lot 4 as 10 keeps its place; lot 2 moves to the end.
		if _, err := s.UpdateLot(ctx, seller, sale.ID, lots[1].ID, domain.LotInput{LotNumber: 20, Title: "Second", StartPrice: 1000, Reserve: 5000}); err != nil {
			t.Fatal(err)
		}
		lots = mustLots(t, s, sale.ID)
		if got := []int{lots[0].LotNumber, lots[1].LotNumber, lots[2].LotNumber, lots[3].LotNumber}; !slices.Equal(got, []int{1, 3, 4, 20}) {
			t.Fatalf("lot order after renumbering: %v", got)
		}
		if !lots[3].EndsAt.Equal(saleFirstClose.Add(90*time.Second)) || lots[3].Status != domain.StatusScheduled {
			t.Fatalf("renumbered lot ends %v status %s", lots[3].EndsAt, lots[3].Status)
		}

		c.set(saleOpens)
		if _, err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := mustSaleGet(t, s, sale.ID); got.Status != domain.SaleOpen {
			t.Fatalf("sale %s at its opening", got.Status)
		}
		// Until its first bid a lot may change, but not its place.
		if _, err := s.UpdateLot(ctx, seller, sale.ID, lots[0].ID, domain.LotInput{LotNumber: 2, Title: "First", StartPrice: 1000}); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Fatalf("renumbering after opening: %v", err)
		}
		edited, err := s.UpdateLot(ctx, seller, sale.ID, lots[0].ID, domain.LotInput{LotNumber: 1, Title: "First, brass", StartPrice: 1000})
		if err != nil || edited.Title != "First, brass" || !edited.EndsAt.Equal(lots[0].EndsAt) {
			t.Fatalf("edit after opening: %+v %v", edited, err)
		}
		if evs := eventsOf(t, s, domain.AuctionChannel(lots[0].ID)); evs[len(evs)-1].Type != domain.EventPrice || evs[len(evs)-1].Seq != edited.Seq {
			t.Fatalf("the edit did not reach the lot's watchers: %v", typesOf(evs))
		}
		mustBid(t, s, bidder, lots[0].ID, 1500, 0)
		if _, err := s.UpdateLot(ctx, seller, sale.ID, lots[0].ID, domain.LotInput{LotNumber: 1, Title: "x", StartPrice: 1}); domain.ErrorCode(err) != domain.CodeConflict {
			t.Fatalf("edit after the first bid: %v", err)
		}
		mustBid(t, s, bidder, lots[3].ID, 1000, 0) // under its reserve

		c.set(lots[0].EndsAt.Add(3 * time.Second))
		if _, err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := mustSaleGet(t, s, sale.ID); got.Status != domain.SaleClosing {
			t.Fatalf("sale %s after its first lot closed", got.Status)
		}
		c.set(lots[3].EndsAt.Add(3 * time.Second))
		if _, err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := mustSaleGet(t, s, sale.ID); got.Status != domain.SaleClosed {
			t.Fatalf("sale %s after its last lot closed", got.Status)
		}

		log := saleLog(t, s, sale.ID)
		var closedLots []int
		var saleTypes []domain.EventType
		for _, e := range log {
			if e.Type == domain.EventClosed {
				closedLots = append(closedLots, e.LotNumber)
			}
			if e.Type.SaleLevel() {
				saleTypes = append(saleTypes, e.Type)
			}
			if e.Type == domain.EventOpened {
				t.Errorf("a lot's opened event is in the sale's log: sale_opened stands for it")
			}
		}
		if !slices.Equal(closedLots, []int{1, 3, 4, 20}) {
			t.Errorf("lots closed in order %v", closedLots)
		}
		wantSale := []domain.EventType{domain.EventSaleScheduled, domain.EventSaleUpdated, domain.EventSaleOpened, domain.EventSaleClosing, domain.EventSaleClosed}
		if !slices.Equal(saleTypes, wantSale) {
			t.Errorf("sale events %v, want %v", saleTypes, wantSale)
		}
		// Lot 3 moved up when lot 2 became lot 20, then opened and closed.
		want := []domain.EventType{domain.EventPrice, domain.EventOpened, domain.EventClosed}
		if evs := eventsOf(t, s, domain.AuctionChannel(lots[1].ID)); !slices.Equal(typesOf(evs), want) {
			t.Errorf("lot 3's own log is %v, want %v", typesOf(evs), want)
		}

		stats, err := s.SaleStats(ctx, []int64{sale.ID})
		if err != nil {
			t.Fatal(err)
		}
		st := stats[sale.ID]
		if st.Lots != 4 || st.Sold != 1 || st.Unsold != 3 || st.Open != 0 || st.HammerTotal != 1500 || st.Bids != 2 ||
			st.NextCloseAt != nil || st.LastCloseAt == nil || !st.LastCloseAt.Equal(lots[3].EndsAt) {
			t.Errorf("stats %+v", st)
		}
		res, err := s.SaleResults(ctx, sale.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 4 || !res[0].Sold || res[0].Hammer != 1500 || res[0].BuyerEmail != bidder.Email || res[3].Sold || res[3].BuyerName != "" {
			t.Errorf("results %+v", res)
		}
		if list, err := s.Sales(ctx, domain.SaleFilter{}); err != nil || len(list) != 0 {
			t.Errorf("a closed sale is listed as running: %d (%v)", len(list), err)
		}
		if list, err := s.Sales(ctx, domain.SaleFilter{Status: []domain.SaleStatus{domain.SaleClosed}, SellerID: seller.ID}); err != nil || len(list) != 1 {
			t.Errorf("closed sales of the seller: %d (%v)", len(list), err)
		}
	})
}

func TestCascadeMovesLaterLotsInTheBidsTransaction(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(t0)
		s := mustService(t, db, c)
		seller, bidder := mustUser(t, s, false), mustUser(t, s, false)
		// A few lots, then a cascade over 68 (500 in BenchmarkSaleBids).
		for _, n := range []int{5, 70} {
			checkCascadeMoves(t, s, c, seller, bidder, n)
		}
		c.set(t0)
		lotMode, plain := mustOpenSale(t, s, c, seller, domain.SoftCloseLot, 3, 10, 60)

		// In lot mode only the lot itself moves.
		c.set(plain[0].EndsAt.Add(-5 * time.Second))
		mustBid(t, s, bidder, plain[0].ID, 1000, 0)
		for i, a := range mustLots(t, s, lotMode.ID)[1:] {
			if !a.EndsAt.Equal(plain[i+1].EndsAt) {
				t.Errorf("lot mode moved lot %d to %v", a.LotNumber, a.EndsAt)
			}
		}
	})
}

// checkCascadeMoves opens a cascade sale of n lots and bids on lot 2 in
// lot 1's soft close: lots 3..n move by the same shift in the bid's
// transaction, each with an extended event, and the sale's log gets the
// price, lot 2's extension and one sale_extended.
func checkCascadeMoves(t *testing.T, s *Service, c *clock, seller, bidder domain.User, n int) {
	t.Helper()
	c.set(t0) // before the sale's schedule, whatever an earlier call left
	sale, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, n, 10, 60)
	headBefore := len(saleLog(t, s, sale.ID))

	c.set(lots[0].EndsAt.Add(-5 * time.Second))
	r := mustBid(t, s, bidder, lots[1].ID, 1000, 0) // lot 2: lots 3..n move by 65 s
	if !r.EndsAt.Equal(c.now().Add(60 * time.Second)) {
		t.Fatalf("receipt ends %v", r.EndsAt)
	}
	shift := c.now().Add(60 * time.Second).Sub(lots[1].EndsAt)
	after := mustLots(t, s, sale.ID)
	if len(after) != n {
		t.Fatalf("%d lots, want %d", len(after), n)
	}
	for i, a := range after {
		want := lots[i].EndsAt
		switch {
		case i == 1:
			want = c.now().Add(60 * time.Second)
		case i > 1:
			want = lots[i].EndsAt.Add(shift)
		}
		if !a.EndsAt.Equal(want) {
			t.Errorf("%d lots: lot %d ends %v, want %v", n, a.LotNumber, a.EndsAt, want)
		}
		if i > 1 {
			evs := eventsOf(t, s, domain.AuctionChannel(a.ID))
			last := evs[len(evs)-1]
			if last.Type != domain.EventExtended || last.PreviousEndsAt == nil || !last.PreviousEndsAt.Equal(lots[i].EndsAt) ||
				last.Seq != a.Seq || last.SaleSeq != 0 || !last.EndsAt.Equal(want) {
				t.Errorf("%d lots: lot %d's last event %+v", n, a.LotNumber, last)
			}
		}
	}
	log := saleLog(t, s, sale.ID)[headBefore:]
	want := []domain.EventType{domain.EventPrice, domain.EventExtended, domain.EventSaleExtended}
	if !slices.Equal(typesOf(log), want) {
		t.Fatalf("%d lots: sale log after the bid: %v, want %v", n, typesOf(log), want)
	}
	if se := log[2]; se.AfterLot != 2 || se.ShiftMS != shift.Milliseconds() || len(se.Capped) != 0 {
		t.Errorf("%d lots: sale_extended %+v", n, se)
	}
}

func TestPauseAndResume(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		c := newClock(t0)
		s := mustService(t, db, c)
		seller, bidder, admin := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, true)
		sale, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 3, 30, 60)

		if _, err := s.PauseSale(ctx, seller, sale.ID, ""); !errors.Is(err, domain.ErrNotAdmin) {
			t.Fatalf("the seller paused: %v", err)
		}
		pausedAt := lots[0].EndsAt.Add(-10 * time.Second)
		c.set(pausedAt)
		if _, err := s.PauseSale(ctx, admin, sale.ID, "Lost the stream"); err != nil {
			t.Fatal(err)
		}
		_, err := s.PlaceBid(ctx, bidder, lots[0].ID, domain.BidInput{Amount: 1000})
		if !errors.Is(err, domain.ErrSalePaused) || domain.ErrorCode(err) != domain.CodeConflict {
			t.Fatalf("bid while paused: %v", err)
		}
		if a := mustGet(t, s, lots[0].ID); !a.PausedAt.Equal(pausedAt) {
			t.Errorf("a lot of a paused sale reads paused at %v", a.PausedAt)
		}
		// Nothing closes while paused, however late it gets.
		c.set(lots[2].EndsAt.Add(time.Minute))
		if _, err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		for _, a := range mustLots(t, s, sale.ID) {
			if a.Status != domain.StatusOpen {
				t.Fatalf("lot %d is %s during the pause", a.LotNumber, a.Status)
			}
		}
		resumedAt := pausedAt.Add(5 * time.Minute)
		c.set(resumedAt)
		if _, err := s.ResumeSale(ctx, admin, sale.ID, ""); err != nil {
			t.Fatal(err)
		}
		for i, a := range mustLots(t, s, sale.ID) {
			if want := lots[i].EndsAt.Add(5 * time.Minute); !a.EndsAt.Equal(want) || !a.PausedAt.IsZero() {
				t.Errorf("lot %d ends %v (paused %v), want %v", a.LotNumber, a.EndsAt, a.PausedAt, want)
			}
			evs := eventsOf(t, s, domain.AuctionChannel(a.ID))
			if got := typesOf(evs[len(evs)-2:]); !slices.Equal(got, []domain.EventType{domain.EventPaused, domain.EventResumed}) {
				t.Errorf("lot %d's log ends %v", a.LotNumber, got)
			}
		}
		r := mustBid(t, s, bidder, lots[0].ID, 1000, 0) // 10 s left, as at the pause
		if !r.EndsAt.Equal(resumedAt.Add(60 * time.Second)) {
			t.Errorf("bid after resume: ends %v", r.EndsAt)
		}
		log := saleLog(t, s, sale.ID)
		var saleTypes []domain.EventType
		for _, e := range log {
			if e.Type.SaleLevel() {
				saleTypes = append(saleTypes, e.Type)
			}
		}
		if !slices.Contains(saleTypes, domain.EventSalePaused) || !slices.Contains(saleTypes, domain.EventSaleResumed) {
			t.Errorf("sale log %v", saleTypes)
		}
		audit, err := s.Audit(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) < 2 || audit[0].Action != "resume_sale" || audit[1].Action != "pause_sale" || audit[1].Reason != "Lost the stream" {
			t.Errorf("audit %+v", audit)
		}
	})
}

func TestWithdrawLotAndCancelSale(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		c := newClock(t0)
		s := mustService(t, db, c)
		seller, admin := mustUser(t, s, false), mustUser(t, s, true)
		sale, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseLot, 3, 30, 60)
		if _, err := s.CancelAuction(ctx, admin, lots[1].ID, "Not as described"); err != nil {
			t.Fatal(err)
		}
		log := saleLog(t, s, sale.ID)
		if last := log[len(log)-1]; last.Type != domain.EventCancelled || last.AuctionID != lots[1].ID || last.Reason != "Not as described" {
			t.Errorf("withdrawal in the sale log: %+v", last)
		}
		if _, err := s.CancelSale(ctx, seller, sale.ID, ""); domain.ErrorCode(err) != domain.CodeConflict {
			t.Fatalf("the seller cancelled an open sale: %v", err)
		}
		if _, err := s.CancelSale(ctx, admin, sale.ID, "Fraud"); err != nil {
			t.Fatal(err)
		}
		for _, a := range mustLots(t, s, sale.ID) {
			if a.Status != domain.StatusCancelled {
				t.Errorf("lot %d is %s", a.LotNumber, a.Status)
			}
		}
		audit, _ := s.Audit(ctx, 10)
		if audit[0].Action != "cancel_sale" || audit[1].Action != "cancel_auction" {
			t.Errorf("audit %+v", audit)
		}

		// A seller may cancel their sale until it opens; suspending them
		// ends the rest.
		draft, _ := mustDraft(t, s, seller, domain.SoftCloseLot, 2, 30, 60)
		if _, err := s.CancelSale(ctx, seller, draft.ID, ""); err != nil {
			t.Fatal(err)
		}
		open, _ := mustOpenSale(t, s, c, seller, domain.SoftCloseLot, 2, 30, 60)
		if err := s.SuspendUser(ctx, admin, seller.ID, "Fraud"); err != nil {
			t.Fatal(err)
		}
		if got := mustSaleGet(t, s, open.ID); got.Status != domain.SaleCancelled {
			t.Errorf("a suspended seller's sale is %s", got.Status)
		}
		log = saleLog(t, s, open.ID)
		if last := log[len(log)-1]; last.Type != domain.EventSaleCancelled || last.Reason != domain.ReasonSellerSuspended {
			t.Errorf("suspension in the sale log: %+v", last)
		}
	})
}
