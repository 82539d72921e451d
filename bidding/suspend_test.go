package bidding

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestSuspendingASellerEndsTheirListings: every auction of a suspended
// seller that has not ended is cancelled in the suspension's transaction,
// bidders see a reason that names no one, and the audit log keeps the
// admin's reason per auction. Ended auctions and other sellers' stay as
// they were, and a listing made with a stale copy of the seller fails.
func TestSuspendingASellerEndsTheirListings(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(t0)
		s := mustService(t, db, c)
		ctx := context.Background()
		seller, other, bidder, admin := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, true)

		open := mustAuction(t, s, seller, nil)
		mustBid(t, s, bidder, open.ID, 1000, 0)
		later := t0.Add(24 * time.Hour)
		scheduled := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.StartsAt = &later; in.EndsAt = later.Add(time.Hour) })
		withdrawn := mustAuction(t, s, seller, nil)
		if _, err := s.CancelAuction(ctx, seller, withdrawn.ID, "changed my mind"); err != nil {
			t.Fatal(err)
		}
		others := mustAuction(t, s, other, nil)
		// The seller also bids: that bid is voided as before.
		mustBid(t, s, seller, others.ID, 1000, 0)

		if err := s.SuspendUser(ctx, admin, seller.ID, "stolen goods"); err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name       string
			id         int64
			want       domain.Status
			lastReason string // the reason on the auction's last event, if it is a cancellation
		}{
			{"open with a bid", open.ID, domain.StatusCancelled, domain.ReasonSellerSuspended},
			{"scheduled", scheduled.ID, domain.StatusCancelled, domain.ReasonSellerSuspended},
			{"already cancelled by the seller", withdrawn.ID, domain.StatusCancelled, "changed my mind"},
			{"another seller's", others.ID, domain.StatusOpen, ""},
		}
		for _, tc := range cases {
			got := mustGet(t, s, tc.id)
			if got.Status != tc.want {
				t.Errorf("%s: status %s, want %s", tc.name, got.Status, tc.want)
			}
			evs := eventsOf(t, s, domain.AuctionChannel(tc.id))
			last := evs[len(evs)-1]
			if tc.lastReason == "" {
				if last.Type == domain.EventCancelled {
					t.Errorf("%s: cancelled: %+v", tc.name, last)
				}
				continue
			}
			if last.Type != domain.EventCancelled || last.Reason != tc.lastReason || last.Seq != got.Seq {
				t.Errorf("%s: last event %s %q seq %d (auction seq %d), want cancelled %q", tc.name, last.Type, last.Reason, last.Seq, got.Seq, tc.lastReason)
			}
			if n := countType(evs, domain.EventCancelled); n != 1 {
				t.Errorf("%s: %d cancelled events, want 1", tc.name, n)
			}
		}
		if got := mustGet(t, s, others.ID); got.BidCount != 0 {
			t.Errorf("the suspended seller's own bid still counts: %+v", got)
		}

		entries, err := s.Audit(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		cancelled := map[int64]string{}
		for _, e := range entries {
			if e.Action == "cancel_auction" {
				cancelled[e.TargetID] = e.Reason
			}
		}
		want := map[int64]string{open.ID: "Seller suspended: stolen goods", scheduled.ID: "Seller suspended: stolen goods"}
		if len(cancelled) != len(want) || cancelled[open.ID] != want[open.ID] || cancelled[scheduled.ID] != want[scheduled.ID] {
			t.Errorf("audit cancellations = %v, want %v", cancelled, want)
		}

		// seller is the copy from before the suspension, as a cache may hold.
		if _, err := s.CreateAuction(ctx, seller, domain.AuctionInput{Title: "More", Currency: "EUR", StartPrice: 100, EndsAt: c.now().Add(time.Hour)}); domain.ErrorCode(err) != domain.CodeForbidden {
			t.Errorf("listing with a stale copy of the suspended seller: %v, want forbidden", err)
		}
	})
}

func countType(evs []domain.Event, typ domain.EventType) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// TestSuspendRacesBidsAndListings suspends a seller while others bid on
// their auctions, they are outbid elsewhere, and they keep listing. Nothing
// may fail; afterwards no accepted bid comes after a cancellation, and
// every listing that got in is cancelled. (A lock-order cycle would not
// fail here: PostgreSQL breaks it and inTx retries. The lock order has its
// own exact test, TestSuspensionLocksInBidOrder.)
func TestSuspendRacesBidsAndListings(t *testing.T) {
	db := testpg.DB(t)
	// One shard: every batch mixes auctions, so one batch can hold a
	// listing's lock and then want the seller's user row for an outbid.
	s := New(db, Options{PasswordCost: bcrypt.MinCost, Shards: 1})
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	ctx := context.Background()
	seller, other, admin := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, true)
	var listings []domain.Auction
	for range 4 {
		listings = append(listings, mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.EndsAt = time.Now().Add(time.Hour) }))
	}
	elsewhere := mustAuction(t, s, other, func(in *domain.AuctionInput) { in.EndsAt = time.Now().Add(time.Hour) })
	mustBid(t, s, seller, elsewhere.ID, 1000, 0)

	bidders := make([]domain.User, 8)
	for i := range bidders {
		bidders[i] = mustUser(t, s, false)
	}
	stop := make(chan struct{})
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for i, b := range bidders {
		wg.Go(func() {
			targets := append([]domain.Auction{elsewhere}, listings...)
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				a := targets[(i+k)%len(targets)]
				err := bidMinimum(ctx, s, b, a.ID)
				switch domain.ErrorCode(err) {
				case "":
					accepted.Add(1)
				case domain.CodeConflict, domain.CodeGone:
				default:
					t.Errorf("bid on %d: %v", a.ID, err)
					return
				}
			}
		})
	}
	// The seller keeps retaking the lead elsewhere, so the others keep
	// outbidding them, until the suspension stops them.
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := bidMinimum(ctx, s, seller, elsewhere.ID)
			switch domain.ErrorCode(err) {
			case "", domain.CodeConflict:
			case domain.CodeForbidden:
				return
			default:
				t.Errorf("the seller's bid: %v", err)
				return
			}
		}
	})
	var listed []int64
	var listMu sync.Mutex
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			a, err := s.CreateAuction(ctx, seller, domain.AuctionInput{Title: "Again", Currency: "EUR", StartPrice: 100, EndsAt: time.Now().Add(time.Hour)})
			switch domain.ErrorCode(err) {
			case "":
				listMu.Lock()
				listed = append(listed, a.ID)
				listMu.Unlock()
			case domain.CodeForbidden:
			default:
				t.Errorf("listing: %v", err)
				return
			}
		}
	})
	time.Sleep(300 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- s.SuspendUser(ctx, admin, seller.ID, "race") }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("suspend: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the suspension did not finish in 30 s")
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if accepted.Load() == 0 {
		t.Fatal("no bid was accepted: the race did not happen")
	}

	listMu.Lock()
	ids := append([]int64{}, listed...)
	listMu.Unlock()
	for _, l := range listings {
		ids = append(ids, l.ID)
	}
	for _, id := range ids {
		a := mustGet(t, s, id)
		if a.Status != domain.StatusCancelled {
			t.Errorf("listing %d is %s after its seller's suspension", id, a.Status)
			continue
		}
		// The cancellation is the auction's last event: no bid after it.
		evs := eventsOf(t, s, domain.AuctionChannel(id))
		if last := evs[len(evs)-1]; last.Type != domain.EventCancelled {
			t.Errorf("listing %d: last event %s after the cancellation", id, last.Type)
		}
	}
	if len(listed) == 0 {
		t.Log("no listing was created during the race")
	}
}

// bidMinimum bids the auction's current minimum. A failed read of the
// auction comes back as an internal error, which the callers report.
func bidMinimum(ctx context.Context, s *Service, u domain.User, id int64) error {
	cur, err := s.Auction(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.PlaceBid(ctx, u, id, domain.BidInput{Amount: domain.MinNextBid(cur)})
	return err
}

// TestSuspensionLocksInBidOrder: a bid batch locks auctions, then the user
// rows its personal events need. A suspension must take its locks in the
// same order, or the two deadlock. Here a transaction plays the batch: it
// holds a listing's lock until the suspension is waiting, then asks for the
// seller's user row, which must be free.
func TestSuspensionLocksInBidOrder(t *testing.T) {
	db := testpg.DB(t)
	s := New(db, Options{PasswordCost: bcrypt.MinCost})
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	ctx := context.Background()
	seller, admin := mustUser(t, s, false), mustUser(t, s, true)
	listing := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.EndsAt = time.Now().Add(time.Hour) })

	batch := db.Begin()
	defer batch.Rollback()
	if err := batch.Exec("SELECT id FROM auctions WHERE id = ? FOR NO KEY UPDATE", listing.ID).Error; err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.SuspendUser(ctx, admin, seller.ID, "lock order") }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := db.Raw("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()").Scan(&waiting).Error; err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the suspension never waited for the listing's lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// NOWAIT: in the wrong order PostgreSQL would find the cycle only after
	// deadlock_timeout and inTx would retry the suspension, so the test
	// would pass a second late; the row must simply be free.
	if err := batch.Exec("SELECT id FROM users WHERE id = ? FOR NO KEY UPDATE NOWAIT", seller.ID).Error; err != nil {
		t.Fatalf("the seller's row was locked while the suspension waited for a listing: %v", err)
	}
	if err := batch.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("suspend: %v", err)
	}
	if got := mustGet(t, s, listing.ID); got.Status != domain.StatusCancelled {
		t.Fatalf("listing is %s after the suspension", got.Status)
	}
}

// TestSuspensionRacingBatchedUserRead: a user read already in flight when
// this node suspends the user must not put the unsuspended user back in
// the cache, or every request would see them active for its TTL.
func TestSuspensionRacingBatchedUserRead(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := New(db, Options{Now: newClock(t0).now, PasswordCost: bcrypt.MinCost, UserCacheTTL: time.Hour})
		ctx := context.Background()
		u, admin := mustUser(t, s, false), mustUser(t, s, true)
		reached, release := make(chan struct{}), make(chan struct{})
		s.userReadDone = func() { close(reached); <-release }
		first := make(chan domain.User, 1)
		go func() {
			got, err := s.UserByID(ctx, u.ID)
			if err != nil {
				t.Error(err)
			}
			first <- got
		}()
		<-reached // the read found the active user and has not cached it
		s.userReadDone = nil
		if err := s.SuspendUser(ctx, admin, u.ID, "fraud"); err != nil {
			t.Fatal(err)
		}
		close(release)
		if got := <-first; got.Suspended {
			t.Fatalf("the racing read saw the suspension it began before")
		}
		got, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Suspended {
			t.Fatal("after the suspension, UserByID serves the user as active: the racing read was cached")
		}
	})
}
