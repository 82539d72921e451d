package watchlist

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

func TestWatchAndCounts(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, Options{MaxPerUser: 3})
		ctx := context.Background()
		seller, ann, bob := e.user(), e.user(), e.user()
		a := e.lot(seller, time.Hour)
		if n := e.watch(ann, a.ID); n != 1 {
			t.Errorf("count after the first watch: %d", n)
		}
		if n := e.watch(ann, a.ID); n != 1 {
			t.Errorf("watching twice counted twice: %d", n)
		}
		if n := e.watch(bob, a.ID); n != 2 {
			t.Errorf("count after the second watcher: %d", n)
		}
		if _, err := e.w.Watch(ctx, seller, a.ID); !errors.Is(err, ErrOwnLot) {
			t.Errorf("the seller watches: %v", err)
		}
		if _, err := e.w.Watch(ctx, ann, 999999); !errors.Is(err, domain.ErrAuctionNotFound) {
			t.Errorf("a missing lot: %v", err)
		}
		if _, err := e.w.Watch(ctx, domain.User{}, a.ID); !errors.Is(err, domain.ErrUnauthorized) {
			t.Errorf("anonymous: %v", err)
		}
		counts, err := e.w.Counts(ctx, []int64{a.ID, 999})
		if err != nil || counts[a.ID] != 2 || counts[999] != 0 {
			t.Errorf("counts: %v, %v", counts, err)
		}
		watching, err := e.w.Watching(ctx, ann.ID, []int64{a.ID, 999})
		if err != nil || !watching[a.ID] || watching[999] {
			t.Errorf("watching: %v, %v", watching, err)
		}
		if n, err := e.w.Unwatch(ctx, ann, a.ID); err != nil || n != 1 {
			t.Errorf("unwatch: %d, %v", n, err)
		}
		if n, err := e.w.Unwatch(ctx, ann, a.ID); err != nil || n != 1 {
			t.Errorf("unwatch again: %d, %v", n, err)
		}
		// The seller heard every change, in order, and nothing else.
		var got []int
		for _, ev := range e.personal(seller, domain.EventWatchers) {
			if ev.AuctionID != a.ID || ev.Watchers == nil {
				t.Fatalf("watchers event: %+v", ev)
			}
			got = append(got, *ev.Watchers)
		}
		if !slices.Equal(got, []int{1, 2, 1}) {
			t.Errorf("seller's counts: %v, want [1 2 1]", got)
		}
		// The cap, and ended lots.
		for range 3 {
			e.watch(ann, e.lot(seller, time.Hour).ID)
		}
		if _, err := e.w.Watch(ctx, ann, a.ID); domain.ErrorCode(err) != domain.CodeConflict {
			t.Errorf("over the cap: %v", err)
		}
		entries, err := e.w.IDs(ctx, ann.ID)
		if err != nil || len(entries) != 3 {
			t.Errorf("ann's watchlist: %v, %v", entries, err)
		}
		if _, err := e.bid.CancelAuction(ctx, seller, a.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.w.Watch(ctx, e.user(), a.ID); !errors.Is(err, ErrEnded) {
			t.Errorf("watching a cancelled lot: %v", err)
		}
	})
}

// TestConcurrentWatchCounts checks that the counts sent to the seller are
// exact and in order when many people watch at once.
func TestConcurrentWatchCounts(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, Options{})
		seller := e.user()
		a := e.lot(seller, time.Hour)
		users := make([]domain.User, 12)
		for i := range users {
			users[i] = e.user()
		}
		var wg sync.WaitGroup
		for _, u := range users {
			wg.Go(func() {
				if _, err := e.w.Watch(context.Background(), u, a.ID); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var got []int
		for _, ev := range e.personal(seller, domain.EventWatchers) {
			got = append(got, *ev.Watchers)
		}
		want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
		if !slices.Equal(got, want) {
			t.Errorf("counts in the seller's log: %v, want %v", got, want)
		}
	})
}

func TestReminders(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, Options{})
		ctx := context.Background()
		seller, early, late, winner := e.user(), e.user(), e.user(), e.user()
		a := e.lot(seller, 20*time.Minute) // ends at t0+20m
		e.watch(early, a.ID)
		e.watch(winner, a.ID)

		e.clk.advanceTo(4 * time.Minute)
		if n := e.tick(); n != 0 {
			t.Fatalf("%d notices 16 minutes before the end", n)
		}
		e.clk.advanceTo(5*time.Minute + time.Second)
		if n := e.tick(); n != 2 {
			t.Fatalf("15-minute reminder told %d watchers, want 2", n)
		}
		e.tick()
		// Watching after a threshold was crossed: no reminder for it.
		e.clk.advanceTo(10 * time.Minute)
		e.watch(late, a.ID)
		if n := e.tick(); n != 0 {
			t.Errorf("%d notices after a late watch", n)
		}
		e.clk.advanceTo(19*time.Minute + 30*time.Second)
		if n := e.tick(); n != 3 {
			t.Errorf("1-minute reminder told %d watchers, want 3", n)
		}
		// A bid in the soft-close window extends the lot; watchers hear
		// of it once, and the one-minute reminder is not sent again.
		if _, err := e.bid.PlaceBid(ctx, winner, a.ID, domain.BidInput{Amount: 1000}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			e.tick()
		}
		e.clk.advanceTo(20*time.Minute + 30*time.Second) // past the first end, inside the extension
		if _, err := e.bid.PlaceBid(ctx, early, a.ID, domain.BidInput{Amount: 1100}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.bid.PlaceBid(ctx, winner, a.ID, domain.BidInput{Amount: 1200, MaxAmount: 5000}); err != nil {
			t.Fatal(err)
		}
		e.tick()
		// The close: every watcher but the winner hears the result; the
		// winner hears "won" from the close itself.
		e.clk.advanceTo(30 * time.Minute)
		if _, err := e.bid.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, e, a.ID).Status; got != domain.StatusClosed {
			t.Fatalf("lot is %s", got)
		}
		for range 3 {
			e.tick()
		}
		for _, tt := range []struct {
			who  domain.User
			want []string
		}{
			{early, []string{"ending_soon/900", "ending_soon/60", "watch_extended", "watch_closed"}},
			{winner, []string{"ending_soon/900", "ending_soon/60", "watch_extended"}},
			{late, []string{"ending_soon/60", "watch_extended", "watch_closed"}},
			{seller, nil},
		} {
			if got := e.reminders(tt.who); !slices.Equal(got, tt.want) {
				t.Errorf("user %d: %v, want %v", tt.who.ID, got, tt.want)
			}
		}
		closed := e.personal(early, domain.EventWatchClosed)[0]
		if closed.Winner == "" || closed.Title != "Clock" || closed.Status != domain.StatusClosed || closed.AuctionID != a.ID {
			t.Errorf("watch_closed: %+v", closed)
		}
		ext := e.personal(late, domain.EventWatchExtended)[0]
		if ext.PreviousEndsAt == nil || !ext.PreviousEndsAt.Equal(a.EndsAt) {
			t.Errorf("watch_extended previous end: %v, want %v", ext.PreviousEndsAt, a.EndsAt)
		}
		if len(e.personal(winner, domain.EventWon)) != 1 {
			t.Errorf("the winner has no won event")
		}
	})
}

func mustGet(t *testing.T, e *env, id int64) domain.Auction {
	t.Helper()
	a, err := e.bid.Auction(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRemindersAfterAnOutage: when no scheduler ran across a threshold,
// only the most urgent reminder due is sent.
func TestRemindersAfterAnOutage(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, Options{})
		seller, ann := e.user(), e.user()
		a := e.lot(seller, 20*time.Minute)
		e.watch(ann, a.ID)
		e.clk.advanceTo(19*time.Minute + 20*time.Second)
		e.tick()
		e.tick()
		if got := e.reminders(ann); !slices.Equal(got, []string{"ending_soon/60"}) {
			t.Errorf("after an outage: %v", got)
		}
	})
}

// TestRemindersExactlyOnce races several schedulers (nodes) over a lot
// with many watchers, with small chunks and one node that fails mid-way:
// every watcher gets the reminder exactly once.
func TestRemindersExactlyOnce(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, Options{Chunk: 7})
		seller := e.user()
		a := e.lot(seller, 20*time.Minute)
		watchers := make([]domain.User, 40)
		for i := range watchers {
			watchers[i] = e.user()
			e.watch(watchers[i], a.ID)
		}
		e.clk.advanceTo(5*time.Minute + time.Second)
		// A node that dies after committing two chunks.
		dying := New(db, &failAfter{Outbox: e.bid, n: 2}, e.bid, Options{Now: e.clk.now, Chunk: 7})
		if _, err := dying.Tick(context.Background()); !errors.Is(err, errKilled) {
			t.Fatalf("dying node: %v", err)
		}
		var wg sync.WaitGroup
		for range 4 {
			node := New(db, slowOutbox{e.bid}, e.bid, Options{Now: e.clk.now, Chunk: 7})
			wg.Go(func() {
				for range 3 {
					if _, err := node.Tick(context.Background()); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		for _, u := range watchers {
			if got := e.reminders(u); !slices.Equal(got, []string{"ending_soon/900"}) {
				t.Errorf("user %d: %v", u.ID, got)
			}
		}
	})
}

var errKilled = errors.New("killed")

// failAfter is an outbox that commits n transactions, then fails every
// later one before it commits, like a node killed mid-way.
type failAfter struct {
	Outbox
	n int
}

func (f *failAfter) Transact(ctx context.Context, fn func(tx *gorm.DB) ([]domain.Event, error)) error {
	if f.n == 0 {
		return f.Outbox.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
			if _, err := fn(tx); err != nil {
				return nil, err
			}
			return nil, errKilled // rolls back what fn did
		})
	}
	f.n--
	return f.Outbox.Transact(ctx, fn)
}

// slowOutbox holds each transaction open a while after fn ran, so racing
// nodes overlap inside it even when a loaded machine spreads their starts
// (at 5 ms, a node that sent without locking the notice's row passed).
type slowOutbox struct{ Outbox }

func (o slowOutbox) Transact(ctx context.Context, fn func(tx *gorm.DB) ([]domain.Event, error)) error {
	return o.Outbox.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
		evs, err := fn(tx)
		time.Sleep(60 * time.Millisecond)
		return evs, err
	})
}

// TestClosedNoticesPastTheLimit: when more watched lots end than one tick
// considers, the later ones still get their closing notice: lots already
// told are not considered again.
func TestClosedNoticesPastTheLimit(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, Options{candidates: 2})
		seller, ann := e.user(), e.user()
		for i := range 3 {
			a := e.lot(seller, time.Duration(i+1)*time.Hour)
			e.watch(ann, a.ID)
			if _, err := e.bid.CancelAuction(context.Background(), seller, a.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			e.tick()
		}
		if got := e.reminders(ann); !slices.Equal(got, []string{"watch_closed", "watch_closed", "watch_closed"}) {
			t.Errorf("closing notices: %v, want three", got)
		}
	})
}
