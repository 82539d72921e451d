package bidding

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// tickingClock advances by a millisecond on every read, so that every bid
// has its own receipt time and soft closes extend again and again.
type tickingClock struct{ t atomic.Int64 }

func (c *tickingClock) now() time.Time {
	return time.Unix(0, c.t.Add(int64(time.Millisecond))).UTC()
}

// waitOrFail waits for wg, failing the test if it takes longer than d: a
// deadlock would otherwise hang until the test binary's timeout.
func waitOrFail(t *testing.T, wg *sync.WaitGroup, d time.Duration, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not finish within %v: deadlock?", what, d)
	}
}

// TestCascadeRacesBidsOnLaterLots has 32 bidders snipe the lots of a
// cascade-mode sale at once, so that cascades from early lots race bids on
// the later lots they move, through every shard. Nothing may deadlock,
// and no extension may be lost: the committed lots must equal a replay,
// through the pure rules, of the accepted bids in the order of the sale's
// log.
func TestCascadeRacesBidsOnLaterLots(t *testing.T) {
	db := testpg.DB(t)
	c := newClock(t0)
	s := mustService(t, db, c)
	seller := mustUser(t, s, false)
	sale, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseCascade, 30, 1, 20)

	tc := &tickingClock{}
	tc.t.Store(lots[0].EndsAt.Add(-15 * time.Second).UnixNano())
	racer := New(db, Options{Now: tc.now, PasswordCost: 4})
	t.Cleanup(func() { _ = racer.Close(context.Background()) })

	const bidders, perBidder = 32, 30
	users := make([]domain.User, bidders)
	for i := range users {
		users[i] = mustUser(t, s, false)
	}
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range bidders {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 14))
			for range perBidder {
				lot := lots[rng.IntN(len(lots))]
				cur, err := racer.Auction(context.Background(), lot.ID)
				if err != nil {
					t.Error(err)
					return
				}
				_, err = racer.PlaceBid(context.Background(), users[w], lot.ID, domain.BidInput{Amount: domain.MinNextBid(cur)})
				switch domain.ErrorCode(err) {
				case "":
					accepted.Add(1)
				case domain.CodeConflict, domain.CodeGone:
					refused.Add(1)
				default:
					t.Errorf("bid: %v", err)
					return
				}
			}
		})
	}
	waitOrFail(t, &wg, 3*time.Minute, "the bidders")
	if accepted.Load() == 0 {
		t.Fatal("no bid was accepted")
	}

	// Order every accepted bid by the sale position of its price event:
	// the sale's row lock makes that the commit order.
	type placed struct {
		bid     domain.Bid
		saleSeq int64
	}
	var all []placed
	for _, lot := range lots {
		bids, err := s.countingBids(db, lot.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bids {
			var saleSeq int64
			if err := db.Raw("SELECT sale_seq FROM events WHERE channel_kind = 'auction' AND channel_id = ? AND seq = ?",
				lot.ID, b.Seq).Scan(&saleSeq).Error; err != nil || saleSeq == 0 {
				t.Fatalf("bid %d's price event has no sale position (%v)", b.ID, err)
			}
			all = append(all, placed{b, saleSeq})
		}
	}
	if int64(len(all)) != accepted.Load() {
		t.Fatalf("%d bids stored, %d acknowledged", len(all), accepted.Load())
	}
	slices.SortFunc(all, func(a, b placed) int { return cmp.Compare(a.saleSeq, b.saleSeq) })

	replay := slices.Clone(lots)
	index := map[int64]int{}
	for i, a := range replay {
		index[a.ID] = i
	}
	for _, p := range all {
		i := index[p.bid.AuctionID]
		prev := replay[i]
		out, err := domain.PlaceBid(prev, domain.BidRequest{BidderID: p.bid.BidderID, Alias: p.bid.Alias, Amount: p.bid.Amount,
			MaxAmount: p.bid.MaxAmount}, p.bid.ReceivedAt)
		if err != nil {
			t.Fatalf("replaying bid %d on lot %d: %v", p.bid.ID, prev.LotNumber, err)
		}
		replay[i] = out.Auction
		if out.Auction.EndsAt.After(prev.EndsAt) {
			moved, _ := domain.Cascade(sale, out.Auction, prev.EndsAt, slices.Clone(replay[i+1:]), p.bid.ReceivedAt)
			for _, m := range moved {
				replay[index[m.ID]] = m
			}
		}
	}
	final := mustLots(t, s, sale.ID)
	moves := 0
	for i, got := range final {
		want := replay[i]
		if !got.EndsAt.Equal(want.EndsAt) || got.CurrentPrice != want.CurrentPrice || got.LeaderID != want.LeaderID || got.Seq != want.Seq {
			t.Errorf("lot %d: committed end %v price %d leader %d seq %d; replay %v %d %d %d", got.LotNumber,
				got.EndsAt, got.CurrentPrice, got.LeaderID, got.Seq, want.EndsAt, want.CurrentPrice, want.LeaderID, want.Seq)
		}
		if got.EndsAt.After(lots[i].EndsAt) {
			moves++
		}
		if i > 0 && got.EndsAt.Sub(final[i-1].EndsAt) < sale.Gap() {
			t.Errorf("lots %d and %d end %v apart", final[i-1].LotNumber, got.LotNumber, got.EndsAt.Sub(final[i-1].EndsAt))
		}
		evs := eventsOf(t, s, domain.AuctionChannel(got.ID))
		for k, e := range evs {
			if e.Seq != int64(k+1) {
				t.Fatalf("lot %d's log has seq %d at %d: not gap-free", got.LotNumber, e.Seq, k)
			}
		}
	}
	if moves < len(lots)/2 {
		t.Errorf("only %d of %d lots moved: the test did not race cascades", moves, len(lots))
	}
	saleLog(t, s, sale.ID)
	t.Logf("%d bids accepted, %d refused, %d lots moved", accepted.Load(), refused.Load(), moves)
}

// TestPauseRacesBids pauses a sale while 16 bidders bid on its lots: no
// bid may commit after the pause (its price event would follow
// sale_paused in the sale's log), and every refusal says why.
func TestPauseRacesBids(t *testing.T) {
	db := testpg.DB(t)
	c := newClock(t0)
	s := mustService(t, db, c)
	seller, admin := mustUser(t, s, false), mustUser(t, s, true)
	sale, lots := mustOpenSale(t, s, c, seller, domain.SoftCloseLot, 10, 30, 60)

	const bidders = 16
	var accepted, paused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range bidders {
		u := mustUser(t, s, false)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 15))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				lot := lots[rng.IntN(len(lots))]
				cur, err := s.Auction(context.Background(), lot.ID)
				if err != nil {
					t.Error(err)
					return
				}
				_, err = s.PlaceBid(context.Background(), u, lot.ID, domain.BidInput{Amount: domain.MinNextBid(cur)})
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, domain.ErrSalePaused):
					paused.Add(1)
				case domain.ErrorCode(err) == domain.CodeConflict:
				default:
					t.Errorf("bid: %v", err)
					return
				}
			}
		})
	}
	deadline := time.Now().Add(time.Minute)
	for accepted.Load() < 50 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := s.PauseSale(context.Background(), admin, sale.ID, ""); err != nil {
		t.Fatal(err)
	}
	for paused.Load() < bidders && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	waitOrFail(t, &wg, 2*time.Minute, "the bidders")
	if paused.Load() == 0 {
		t.Fatal("no bid met the pause")
	}
	log := saleLog(t, s, sale.ID)
	pausedAt := slices.IndexFunc(log, func(e domain.Event) bool { return e.Type == domain.EventSalePaused })
	if pausedAt < 0 {
		t.Fatal("no sale_paused in the sale's log")
	}
	prices := 0
	for _, e := range log {
		if e.Type == domain.EventPrice {
			prices++
			if e.SaleSeq > log[pausedAt].SaleSeq {
				t.Errorf("a bid committed after the pause, at sale seq %d (paused at %d)", e.SaleSeq, log[pausedAt].SaleSeq)
			}
		}
	}
	if int64(prices) != accepted.Load() {
		t.Errorf("%d price events for %d accepted bids", prices, accepted.Load())
	}
	t.Logf("%d accepted before the pause, %d refused by it", accepted.Load(), paused.Load())
}
