package bidding

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestBidTraceTellsQueueFromBatch: a bid that arrives while another bid's
// batch on the same auction commits is traced as having waited in the
// queue for that batch, apart from its own batch's transaction; the bid
// whose batch stalled is traced as a long batch with no wait; a bid
// refused before it is queued leaves its trace zero.
func TestBidTraceTellsQueueFromBatch(t *testing.T) {
	db := testpg.DB(t)
	s := New(db, Options{PasswordCost: bcrypt.MinCost})
	seller, x, y := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false)
	a := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.EndsAt = time.Now().Add(time.Hour) })

	const stall = 40 * time.Millisecond
	stalled, wake := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.stallBatch = func() { once.Do(func() { close(stalled); <-wake }) }
	var first, second BidTrace
	errs := make(chan error, 2)
	go func() {
		_, err := s.PlaceBid(WithBidTrace(context.Background(), &first), x, a.ID, domain.BidInput{Amount: a.StartPrice})
		errs <- err
	}()
	<-stalled
	go func() {
		_, err := s.PlaceBid(WithBidTrace(context.Background(), &second), y, a.ID, domain.BidInput{Amount: 10 * a.StartPrice})
		errs <- err
	}()
	q := &s.shards[uint64(a.ID)%uint64(len(s.shards))]
	for queued := false; !queued; {
		s.seqMu.Lock()
		queued = len(q.queue) == 1
		s.seqMu.Unlock()
		time.Sleep(time.Millisecond)
	}
	time.Sleep(stall)
	close(wake)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("bid: %v", err)
		}
	}
	if first.Batch < stall || first.Queued >= first.Batch {
		t.Errorf("stalled bid's trace = %+v, want a batch of at least %s, longer than its wait", first, stall)
	}
	if second.Queued < stall || second.Batch <= 0 {
		t.Errorf("queued bid's trace = %+v, want a batch after a wait of at least %s", second, stall)
	}

	var refused BidTrace
	ctx := WithBidTrace(context.Background(), &refused)
	if _, err := s.PlaceBid(ctx, domain.User{}, a.ID, domain.BidInput{Amount: 20 * a.StartPrice}); err == nil {
		t.Fatal("a bid without a bidder was placed")
	}
	if refused != (BidTrace{}) {
		t.Errorf("trace of a bid refused before its queue = %+v, want zero", refused)
	}
}
