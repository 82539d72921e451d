package bidding

import (
	"context"
	"golang.org/x/crypto/bcrypt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestConcurrentBidsEqualSequentialReplay fires 64 goroutines × 100 bids,
// proxy bids mixed in, at one auction. The committed state must equal a
// sequential replay of the accepted bids in seq order, with one price event
// per accepted bid and none for rejected ones.
func TestConcurrentBidsEqualSequentialReplay(t *testing.T) {
	db := testpg.DB(t)
	s := New(db, Options{PasswordCost: bcrypt.MinCost}) // the real clock: receipt times come from the server
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	seller := mustUser(t, s, false)
	a := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.EndsAt = time.Now().Add(time.Hour) })

	const workers, perWorker = 64, 100
	bidders := make([]domain.User, workers)
	for i := range bidders {
		bidders[i] = mustUser(t, s, false)
	}
	var accepted, rejected atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range perWorker {
				cur, err := s.Auction(context.Background(), a.ID)
				if err != nil {
					t.Error(err)
					return
				}
				in := domain.BidInput{Amount: domain.MinNextBid(cur) + int64(rng.IntN(3))*50}
				if rng.IntN(3) == 0 {
					in.MaxAmount = in.Amount + int64(rng.IntN(20))*100
				}
				_, err = s.PlaceBid(context.Background(), bidders[w], a.ID, in)
				switch domain.ErrorCode(err) {
				case "":
					accepted.Add(1)
				case domain.CodeConflict:
					rejected.Add(1)
				default:
					t.Errorf("unexpected bid error: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if accepted.Load() == 0 || accepted.Load()+rejected.Load() != workers*perWorker {
		t.Fatalf("accepted %d rejected %d of %d", accepted.Load(), rejected.Load(), workers*perWorker)
	}

	final := mustGet(t, s, a.ID)
	bids, err := s.countingBids(db, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(bids)) != accepted.Load() || final.BidCount != len(bids) {
		t.Fatalf("%d bid rows, bid_count %d, %d acknowledged: every acknowledged bid must be stored exactly once", len(bids), final.BidCount, accepted.Load())
	}
	// Replay the accepted bids one by one in seq order through the pure rule.
	replay := a
	seen := map[int64]bool{}
	for _, b := range bids {
		if seen[b.Seq] {
			t.Fatalf("two accepted bids share seq %d", b.Seq)
		}
		seen[b.Seq] = true
		out, err := domain.PlaceBid(replay, domain.BidRequest{BidderID: b.BidderID, Alias: b.Alias, Amount: b.Amount, MaxAmount: b.MaxAmount}, b.ReceivedAt)
		if err != nil {
			t.Fatalf("replaying bid seq %d: %v", b.Seq, err)
		}
		if out.Bid.Seq != b.Seq {
			t.Fatalf("replayed bid got seq %d, stored %d", out.Bid.Seq, b.Seq)
		}
		replay = out.Auction
	}
	if replay.CurrentPrice != final.CurrentPrice || replay.LeaderID != final.LeaderID || replay.LeaderMax != final.LeaderMax ||
		replay.BidCount != final.BidCount || replay.Seq != final.Seq || replay.EndsAt.Sub(final.EndsAt).Abs() > time.Microsecond {
		t.Fatalf("committed state %+v differs from the sequential replay %+v", final, replay)
	}
	// One price event per accepted bid, prices never decrease, seq gap-free.
	evs := eventsOf(t, s, domain.AuctionChannel(a.ID))
	prices, last := 0, int64(0)
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d; the log must be gap-free", i, e.Seq)
		}
		if e.Type == domain.EventPrice {
			prices++
			if e.CurrentPrice < last {
				t.Fatalf("price went down from %d to %d at seq %d", last, e.CurrentPrice, e.Seq)
			}
			last = e.CurrentPrice
		}
	}
	if int64(prices) != accepted.Load() {
		t.Fatalf("%d price events for %d accepted bids", prices, accepted.Load())
	}
}

// TestThreeSchedulersCloseOnce races three schedulers (as on three API
// nodes) over the same due auctions: each must close exactly once.
func TestThreeSchedulersCloseOnce(t *testing.T) {
	db := testpg.DB(t)
	c := newClock(t0)
	nodes := []*Service{mustService(t, db, c), mustService(t, db, c), mustService(t, db, c)}
	seller, bidder := mustUser(t, nodes[0], false), mustUser(t, nodes[0], false)
	var ids []int64
	for i := range 10 {
		a := mustAuction(t, nodes[0], seller, func(in *domain.AuctionInput) { in.EndsAt = t0.Add(time.Minute) })
		if i%2 == 0 {
			mustBid(t, nodes[0], bidder, a.ID, 1000, 0)
		}
		ids = append(ids, a.ID)
	}
	// The bids at t0 fell in the 120s soft-close window of a one-minute
	// auction, so those ends moved to t0+2m.
	c.set(t0.Add(2*time.Minute + 3*time.Second))
	var wg sync.WaitGroup
	var total atomic.Int64
	for _, n := range nodes {
		wg.Go(func() {
			for range 3 {
				k, err := n.Tick(context.Background())
				if err != nil {
					t.Error(err)
				}
				total.Add(int64(k))
			}
		})
	}
	wg.Wait()
	if total.Load() != int64(len(ids)) {
		t.Fatalf("%d transitions for %d due auctions", total.Load(), len(ids))
	}
	for i, id := range ids {
		closed := 0
		for _, e := range eventsOf(t, nodes[0], domain.AuctionChannel(id)) {
			if e.Type == domain.EventClosed {
				closed++
				if wantWinner := i%2 == 0; (e.Winner != "") != wantWinner {
					t.Errorf("auction %d closed with winner %q", id, e.Winner)
				}
			}
		}
		if closed != 1 {
			t.Fatalf("auction %d has %d closed events, want exactly 1", id, closed)
		}
	}
	won := eventsOf(t, nodes[0], domain.UserChannel(bidder.ID))
	if len(won) != 5 {
		t.Fatalf("the winner of 5 auctions has %d personal events, want 5 won", len(won))
	}
}
