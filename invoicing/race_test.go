package invoicing_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/invoicing"
)

// TestRacingSettles: four invoicing nodes settle the same closed lots at
// once, while offers are accepted and credit notes issued for the same
// seller. Every sold lot is on exactly one standing invoice, and each of
// the seller's series is numbered 1..n without gaps or repeats.
func TestRacingSettles(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		seller := e.user(false)
		bidders := []domain.User{e.user(false), e.user(false), e.user(false)}
		const lots = 30
		var ids []int64
		for i := range lots {
			a := e.listing(seller, standard(), nil)
			e.placeBid(bidders[i%3], a.ID, 10000+int64(i), 0)
			ids = append(ids, a.ID)
		}
		e.closeAll()
		nodes := []*invoicing.Service{e.service(), e.service(), e.service(), e.service()}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for _, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					if _, err := n.Settle(ctx); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// Cancel a third of them concurrently: credit notes race for the
		// credit-note series.
		all := e.invoices(seller, domain.AsSeller)
		if len(all) != lots {
			t.Fatalf("%d invoices for %d sold lots", len(all), lots)
		}
		var cwg sync.WaitGroup
		for i, inv := range all {
			if i%3 != 0 {
				continue
			}
			cwg.Add(1)
			go func() {
				defer cwg.Done()
				if _, err := nodes[i%4].CreditNote(ctx, seller, inv.ID, "Not paid"); err != nil {
					t.Error(err)
				}
			}()
		}
		cwg.Wait()
		checkSeries(t, db, seller.ID, domain.KindInvoice, lots)
		checkSeries(t, db, seller.ID, domain.KindCreditNote, lots/3)
		var dup int64
		db.Raw(`SELECT count(*) FROM (SELECT l.auction_id FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
			WHERE l.kind = 'hammer' AND i.kind = 'invoice' GROUP BY l.auction_id HAVING count(*) > 1) d`).Scan(&dup)
		if dup != 0 {
			t.Errorf("%d lots are on more than one invoice", dup)
		}
	})
}

// checkSeries asserts a seller's numbers of one kind are exactly 1..n.
func checkSeries(t *testing.T, db *gorm.DB, seller int64, kind domain.InvoiceKind, n int) {
	t.Helper()
	var nums []int64
	db.Raw("SELECT number FROM invoices WHERE seller_id = ? AND kind = ? ORDER BY number", seller, string(kind)).Scan(&nums)
	if len(nums) != n {
		t.Fatalf("%s series has %d numbers, want %d", kind, len(nums), n)
	}
	for i, v := range nums {
		if v != int64(i+1) {
			t.Fatalf("%s series %v has a gap or repeat at %d", kind, nums, i+1)
		}
	}
}

// TestOffers: a reserve-not-met lot is offered to its top bidder at their
// maximum; a second offer while it is open is refused; acceptance issues
// an invoice at the offer price, once. A sold lot whose invoice is
// credited is offered to the next bidder at their own highest bid; a
// declined or expired offer cannot be accepted.
func TestOffers(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		seller, alice, bob, carol := e.user(false), e.user(false), e.user(false), e.user(false)
		r := e.listing(seller, standard(), func(in *domain.AuctionInput) { in.ReservePrice = 50000 })
		e.placeBid(bob, r.ID, 1000, 20000)
		e.placeBid(alice, r.ID, 2000, 30000) // leads at 210.00, maximum 300.00: reserve not met
		s := e.listing(seller, nil, nil)
		e.placeBid(carol, s.ID, 1000, 4000)
		e.placeBid(alice, s.ID, 5000, 0) // alice wins s at 50.00; carol's maximum was 40.00
		e.closeAll()

		_, err := e.inv.MakeOffer(ctx, seller, r.ID, 0)
		wantCode(t, err, domain.CodeConflict) // not settled yet
		e.settle()
		_, err = e.inv.MakeOffer(ctx, alice, r.ID, 0)
		wantCode(t, err, domain.CodeForbidden)
		_, err = e.inv.MakeOffer(ctx, seller, r.ID, 1000)
		wantCode(t, err, domain.CodeInvalid)
		o, err := e.inv.MakeOffer(ctx, seller, r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if o.BuyerID != alice.ID || o.Amount != 30000 || o.Kind != domain.OfferReserve || !o.ExpiresAt.Equal(e.clock.now().Add(48*time.Hour)) {
			t.Fatalf("offer %+v", o)
		}
		_, err = e.inv.MakeOffer(ctx, seller, r.ID, 0)
		wantCode(t, err, domain.CodeConflict)
		_, err = e.inv.AcceptOffer(ctx, bob, o.ID)
		wantCode(t, err, domain.CodeNotFound)
		acc, err := e.inv.AcceptOffer(ctx, alice, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if acc.Status != domain.OfferAccepted || acc.InvoiceID == 0 {
			t.Fatalf("accepted offer %+v", acc)
		}
		_, err = e.inv.AcceptOffer(ctx, alice, o.ID)
		wantCode(t, err, domain.CodeConflict)
		inv, err := e.inv.Invoice(ctx, alice, acc.InvoiceID)
		if err != nil || inv.Lines[0].Amount != 30000 || inv.Total != standard().Estimate(30000).Total || inv.OfferID != o.ID {
			t.Fatalf("offer invoice %+v %v", inv, err)
		}
		_, err = e.inv.MakeOffer(ctx, seller, r.ID, 0)
		wantCode(t, err, domain.CodeConflict) // sold again, invoice stands

		// Second chance: alice does not pay for s.
		var sInv domain.Invoice
		for _, x := range e.invoices(alice, domain.AsBuyer) {
			if x.Lines[0].AuctionID == s.ID {
				sInv = x
			}
		}
		_, err = e.inv.MakeOffer(ctx, seller, s.ID, 0)
		wantCode(t, err, domain.CodeConflict) // the invoice stands
		if _, err := e.inv.CreditNote(ctx, seller, sInv.ID, "Unpaid after 14 days"); err != nil {
			t.Fatal(err)
		}
		o2, err := e.inv.MakeOffer(ctx, seller, s.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if o2.BuyerID != carol.ID || o2.Amount != 4000 || o2.Kind != domain.OfferSecondChance {
			t.Fatalf("second-chance offer %+v", o2)
		}
		if _, err := e.inv.DeclineOffer(ctx, carol, o2.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.inv.AcceptOffer(ctx, carol, o2.ID)
		wantCode(t, err, domain.CodeConflict)
		_, err = e.inv.MakeOffer(ctx, seller, s.ID, 0)
		wantCode(t, err, domain.CodeConflict) // nobody left

		// Expiry: bob is next on r? No: r is sold. Use a fresh lot.
		x := e.listing(seller, nil, func(in *domain.AuctionInput) { in.ReservePrice = 9000 })
		e.placeBid(bob, x.ID, 1000, 5000)
		e.closeAll()
		e.settle()
		o3, err := e.inv.MakeOffer(ctx, seller, x.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.add(time.Hour)
		_, err = e.inv.AcceptOffer(ctx, bob, o3.ID)
		wantCode(t, err, domain.CodeGone) // at the expiry instant it is over
		if n, err := e.inv.ExpireOffers(ctx); err != nil || n != 1 {
			t.Fatalf("expired %d (%v)", n, err)
		}
		list, err := e.inv.Offers(ctx, bob, false, 0)
		if err != nil || len(list) != 1 || list[0].Status != domain.OfferExpired {
			t.Fatalf("bob's offers %+v %v", list, err)
		}
		want := []string{"offer:open", "offer:expired"}
		if got := e.personal(bob); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("bob's events %v", got)
		}
	})
}

// TestOffersExpiringWhileAccepted races acceptances (two per offer)
// against the expiry sweep on four nodes whose shared clock crosses the
// offers' expiry while they run. Every offer ends exactly one way: either
// accepted once, before its expiry, with one invoice, or expired with
// none; no acceptance is reported that did not stick.
func TestOffersExpiringWhileAccepted(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		seller := e.user(false)
		const n = 12
		type pair struct {
			buyer domain.User
			offer domain.Offer
		}
		var offers []pair
		var lots []int64
		for range n {
			b := e.user(false)
			a := e.listing(seller, nil, func(in *domain.AuctionInput) { in.ReservePrice = 90000 })
			e.placeBid(b, a.ID, 1000, 5000)
			lots = append(lots, a.ID)
			offers = append(offers, pair{buyer: b})
		}
		e.closeAll()
		e.settle()
		for i, id := range lots {
			o, err := e.inv.MakeOffer(ctx, seller, id, 1)
			if err != nil {
				t.Fatal(err)
			}
			offers[i].offer = o
		}
		// Every read of the clock now moves it on by 5 ms, and it starts
		// 60 ms before the expiry: the crossing happens mid-race.
		e.clock.add(time.Hour - 60*time.Millisecond)
		e.clock.step.Store(int64(5 * time.Millisecond))
		nodes := []*invoicing.Service{e.service(), e.service(), e.service(), e.service()}
		type result struct {
			i   int
			err error
		}
		results := make(chan result, 2*n)
		var wg sync.WaitGroup
		for i, p := range offers {
			for k := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := nodes[(i+k)%4].AcceptOffer(ctx, p.buyer, p.offer.ID)
					results <- result{i, err}
				}()
			}
		}
		for k := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					if _, err := nodes[k].ExpireOffers(ctx); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		close(results)
		e.clock.step.Store(0)
		if _, err := e.inv.ExpireOffers(ctx); err != nil {
			t.Fatal(err)
		}
		won := map[int]int{}
		for r := range results {
			switch {
			case r.err == nil:
				won[r.i]++
			case errors.Is(r.err, domain.ErrOfferExpired), errors.Is(r.err, domain.ErrOfferDecided):
			default:
				t.Errorf("offer %d: unexpected error %v", r.i, r.err)
			}
		}
		accepted, expired := 0, 0
		for i, p := range offers {
			var row struct {
				Status    string
				DecidedAt time.Time
				ExpiresAt time.Time
				InvoiceID *int64
			}
			db.Raw("SELECT status, decided_at, expires_at, invoice_id FROM offers WHERE id = ?", p.offer.ID).Scan(&row)
			var invoices int64
			db.Raw(`SELECT count(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
				WHERE l.auction_id = ? AND l.kind = 'hammer'`, lots[i]).Scan(&invoices)
			switch row.Status {
			case string(domain.OfferAccepted):
				accepted++
				if won[i] != 1 || invoices != 1 || row.InvoiceID == nil || !row.DecidedAt.Before(row.ExpiresAt) {
					t.Errorf("offer %d accepted: %d successes, %d invoices, decided %v, expires %v", i, won[i], invoices, row.DecidedAt, row.ExpiresAt)
				}
			case string(domain.OfferExpired):
				expired++
				if won[i] != 0 || invoices != 0 {
					t.Errorf("offer %d expired, yet %d acceptances succeeded and %d invoices exist", i, won[i], invoices)
				}
			default:
				t.Errorf("offer %d ended %q", i, row.Status)
			}
		}
		t.Logf("%d accepted, %d expired", accepted, expired)
		checkSeries(t, db, seller.ID, domain.KindInvoice, accepted)
	})
}
