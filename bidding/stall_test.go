package bidding

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestPausedNodeCommitsNothing plays two API nodes on one database. Node A
// stalls (a long GC pause, a SIGSTOP) in the middle of a batch, holding
// the auction's row lock. PostgreSQL ends A's idle transaction, so node B's
// bid on the same auction goes through; when A wakes, its batch fails,
// its bidder gets a 503 (not a receipt), and nothing of it is in the
// database.
func TestPausedNodeCommitsNothing(t *testing.T) {
	ctx := context.Background()
	to := database.Timeouts{Statement: 20 * time.Second, Lock: 20 * time.Second, IdleInTransaction: 300 * time.Millisecond}
	db, _, err := database.Open(ctx, testpg.URL(t), "", database.WithTimeouts(to))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	if err := database.Migrate(ctx, db, database.Postgres); err != nil {
		t.Fatal(err)
	}
	nodeA := New(db, Options{PasswordCost: bcrypt.MinCost})
	nodeB := New(db, Options{PasswordCost: bcrypt.MinCost})
	seller, x, y := mustUser(t, nodeB, false), mustUser(t, nodeB, false), mustUser(t, nodeB, false)
	a := mustAuction(t, nodeB, seller, func(in *domain.AuctionInput) { in.EndsAt = time.Now().Add(time.Hour) })

	stalled, wake := make(chan struct{}), make(chan struct{})
	var once sync.Once
	nodeA.stallBatch = func() { once.Do(func() { close(stalled); <-wake }) }
	type result struct {
		rc  domain.Receipt
		err error
	}
	resA := make(chan result, 1)
	go func() {
		rc, err := nodeA.PlaceBid(ctx, x, a.ID, domain.BidInput{Amount: a.StartPrice, MaxAmount: 10 * a.StartPrice})
		resA <- result{rc, err}
	}()
	<-stalled

	start := time.Now()
	rcB, err := nodeB.PlaceBid(ctx, y, a.ID, domain.BidInput{Amount: a.StartPrice})
	if err != nil {
		t.Fatalf("node B's bid while A is stalled: %v", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("node B waited %v behind the stalled node's lock", waited)
	}
	close(wake)
	r := <-resA
	if r.err == nil {
		t.Fatalf("the stalled node's bid got a receipt: %+v", r.rc)
	}
	if domain.ErrorCode(r.err) != domain.CodeUnavailable {
		t.Fatalf("the stalled node's bid failed with %v, want unavailable", r.err)
	}
	if msg := domain.ErrorMessage(r.err); !strings.Contains(msg, "not placed") && !strings.Contains(msg, "could not be confirmed") {
		t.Fatalf("message = %q", msg)
	}
	var bids []bidRow
	if err := db.Where("auction_id = ?", a.ID).Find(&bids).Error; err != nil {
		t.Fatal(err)
	}
	if len(bids) != 1 || bids[0].BidderID != y.ID || bids[0].Seq != rcB.Seq {
		t.Fatalf("bids in the database = %+v, want only node B's", bids)
	}
	final := mustGet(t, nodeB, a.ID)
	if final.LeaderID != y.ID || final.BidCount != 1 {
		t.Fatalf("auction after the stall = leader %d, %d bids", final.LeaderID, final.BidCount)
	}
}

// TestQueuedBidThatTimesOutIsNotPlaced: a bid whose caller stops waiting
// before any batch took it is never judged, and says so.
func TestQueuedBidThatTimesOutIsNotPlaced(t *testing.T) {
	db := testpg.DB(t)
	s := New(db, Options{PasswordCost: bcrypt.MinCost})
	seller, x, y := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false)
	a := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.EndsAt = time.Now().Add(time.Hour) })

	stalled, wake := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.stallBatch = func() { once.Do(func() { close(stalled); <-wake }) }
	first := make(chan error, 1)
	go func() {
		_, err := s.PlaceBid(context.Background(), x, a.ID, domain.BidInput{Amount: a.StartPrice})
		first <- err
	}()
	<-stalled
	// Queued behind the stalled batch on the same shard; its caller gives
	// up first.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := s.PlaceBid(ctx, y, a.ID, domain.BidInput{Amount: 10 * a.StartPrice})
	if domain.ErrorCode(err) != domain.CodeUnavailable || !strings.Contains(domain.ErrorMessage(err), "not placed") {
		t.Fatalf("queued bid after its deadline: %v", err)
	}
	close(wake)
	if err := <-first; err != nil {
		t.Fatalf("first bid: %v", err)
	}
	// Let the shard drain: the abandoned bid must not be judged.
	mustBid(t, s, x, a.ID, domain.MinNextBid(mustGet(t, s, a.ID)), 0)
	final := mustGet(t, s, a.ID)
	if final.BidCount != 2 || final.LeaderID != x.ID {
		t.Fatalf("auction = %d bids, leader %d; the abandoned bid was judged", final.BidCount, final.LeaderID)
	}
}
