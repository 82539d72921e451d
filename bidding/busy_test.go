package bidding

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// TestBusyWhileBidsAreJudged checks the signal background work paces
// itself by: idle before, seen busy during a stream of bids, idle after.
func TestBusyWhileBidsAreJudged(t *testing.T) {
	c := newClock(time.Now())
	s := mustService(t, mustSQLite(t), c)
	seller := mustUser(t, s, false)
	a := mustAuction(t, s, seller, nil)
	if s.Busy() {
		t.Fatal("busy before any bid")
	}
	if d := s.IdleFor(); d < time.Hour {
		t.Fatalf("idle for %s before any bid, want a very long time", d)
	}
	bidders := make([]domain.User, 8)
	for i := range bidders {
		bidders[i] = mustUser(t, s, false)
	}
	var seen, seenIdle0 atomic.Bool
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if s.Busy() {
				seen.Store(true)
			}
			if s.IdleFor() == 0 {
				seenIdle0.Store(true)
			}
		}
	}()
	var wg sync.WaitGroup
	var amount atomic.Int64
	amount.Store(a.StartPrice)
	deadline := time.Now().Add(60 * time.Second)
	for _, u := range bidders {
		wg.Go(func() {
			for !seen.Load() && time.Now().Before(deadline) {
				_, _ = s.PlaceBid(context.Background(), u, a.ID, domain.BidInput{Amount: amount.Add(100)})
			}
		})
	}
	wg.Wait()
	close(stop)
	<-watched
	if !seen.Load() {
		t.Fatal("Busy never reported the bids being judged")
	}
	if !seenIdle0.Load() {
		t.Fatal("IdleFor never reported 0 while bids were being judged")
	}
	// The shard's goroutine answers its callers just before it ends.
	for end := time.Now().Add(30 * time.Second); s.Busy(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("still busy long after every bid was answered")
		}
	}
	// Quiet spells are counted from the end of the last batch.
	first := s.IdleFor()
	time.Sleep(50 * time.Millisecond)
	if later := s.IdleFor(); first >= time.Hour || later < first+50*time.Millisecond {
		t.Fatalf("idle for %s, then %s 50 ms later: want the time since the last batch ended", first, later)
	}
}
