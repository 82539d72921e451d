package notify

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/smtptest"
)

// TestSendingYieldsToBids checks that while bids are being judged the
// senders hold back, and that they catch up once bids stop: mail waits,
// bids do not.
func TestSendingYieldsToBids(t *testing.T) {
	w := mustWorld(t, mustSQLite(t))
	srv, err := smtptest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	var busy atomic.Bool
	busy.Store(true)
	cfg := testConfig(w)
	cfg.Workers = 1
	cfg.Busy = busy.Load
	cfg.BusyPause = time.Hour // longer than the test: while busy, nothing goes
	cfg.Lease = time.Hour     // so only giving the notice back lets it go
	n := w.startNotifier(smtpTransport(srv), cfg)

	seller, x, y := w.user("Seller"), w.user("Xavier"), w.user("Yoko")
	a := w.auction(seller, "Brass clock")
	w.bid(x, a.ID, 1000)
	w.bid(y, a.ID, 1100) // x is outbid: one notice
	waitUntil(t, "the notice to be claimed and held back", 30*time.Second, func() bool { return n.Paused() > 0 })
	time.Sleep(300 * time.Millisecond)
	if c := srv.Count(); c != 0 {
		t.Fatalf("%d emails sent while bids were being judged, want 0", c)
	}

	// The node stops while holding the notice: it gives it back rather
	// than keep it leased for an hour, and a notifier with no bids to
	// yield to sends it at once.
	n.stop()
	busy.Store(false)
	_ = w.startNotifier(smtpTransport(srv), testConfig(w))
	if !srv.WaitFor(1, 30*time.Second) {
		t.Fatalf("the outbid email never went out once bids stopped: %v", statusCounts(t, w.db))
	}
}

// TestNoSendPastTheLease checks that a worker whose batch outlived its
// lease sends nothing more from it and gives back what is still its own:
// another node may have claimed those notices, and sending them here too
// would deliver them twice.
func TestNoSendPastTheLease(t *testing.T) {
	w := mustWorld(t, mustSQLite(t))
	srv, err := smtptest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var calls atomic.Int64
	cfg := testConfig(w)
	cfg.Workers = 1
	cfg.Lease = time.Minute
	// The clock jumps past the lease between the first notice and the
	// second, as if the first had taken that long to send.
	cfg.Busy = func() bool {
		if calls.Add(1) == 2 {
			w.clock.add(time.Minute)
		}
		return false
	}
	s, err := New(ctx, w.db, w.svc, w.svc, nil, smtpTransport(srv), cfg)
	if err != nil {
		t.Fatal(err)
	}
	seller := w.user("Seller")
	lot := w.auction(seller, "Clock")
	var events []domain.Event
	for i := range 3 {
		u := w.user("Bidder")
		events = append(events, domain.Event{ID: fmt.Sprintf("lease-%d", i), Type: domain.EventOutbid, UserID: u.ID,
			AuctionID: lot.ID, Currency: "EUR", CommittedAt: w.clock.now()})
	}
	if _, err := s.HandleEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	rows, err := s.st.claim(ctx, 10, cfg.Lease, s.now())
	if err != nil || len(rows) != 3 {
		t.Fatalf("claimed %d notices (%v), want 3", len(rows), err)
	}
	// One of them is taken over by another worker after the lease ran
	// out: it must stay that worker's.
	if err := w.db.Exec("UPDATE notifications SET attempts = attempts + 1 WHERE id = ?", rows[2].ID).Error; err != nil {
		t.Fatal(err)
	}
	conn := s.deliver(ctx, nil, rows, &outage{min: time.Millisecond, max: time.Millisecond})
	if conn != nil {
		_ = conn.Close()
	}
	if !srv.WaitFor(1, 30*time.Second) {
		t.Fatal("the first notice, sent within its lease, never arrived")
	}
	time.Sleep(300 * time.Millisecond)
	if c := srv.Count(); c != 1 {
		t.Fatalf("%d emails sent, want 1: nothing may go out past the lease", c)
	}
	var back []noticeRow
	if err := w.db.Order("id").Find(&back, []int64{rows[1].ID, rows[2].ID}).Error; err != nil {
		t.Fatal(err)
	}
	if back[0].LeaseUntil != nil || back[0].Status != "pending" || back[0].Attempts != 0 {
		t.Errorf("the unsent notice still ours: lease %v status %s attempts %d, want given back with no attempt counted", back[0].LeaseUntil, back[0].Status, back[0].Attempts)
	}
	if back[1].LeaseUntil == nil {
		t.Error("the notice another worker had claimed was given back from under it")
	}
}

// TestSendingWaitsForAQuietSpell checks that mail waits for bids to have
// stopped for Quiet, not for the first idle instant: between a storm's
// batches the node is idle only for a moment.
func TestSendingWaitsForAQuietSpell(t *testing.T) {
	w := mustWorld(t, mustSQLite(t))
	srv, err := smtptest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	var idle atomic.Int64
	idle.Store(int64(100 * time.Millisecond)) // the last batch ended 100 ms ago
	cfg := testConfig(w)
	cfg.Workers = 1
	cfg.IdleFor = func() time.Duration { return time.Duration(idle.Load()) }
	cfg.Quiet = 250 * time.Millisecond
	cfg.BusyPause = time.Hour
	n := w.startNotifier(smtpTransport(srv), cfg)

	seller, x, y := w.user("Seller"), w.user("Xavier"), w.user("Yoko")
	a := w.auction(seller, "Brass clock")
	w.bid(x, a.ID, 1000)
	w.bid(y, a.ID, 1100) // x is outbid: one notice
	waitUntil(t, "the notice to be held back", 30*time.Second, func() bool { return n.Paused() > 0 })
	time.Sleep(300 * time.Millisecond)
	if c := srv.Count(); c != 0 {
		t.Fatalf("%d emails sent 100 ms after the last bid, want 0 until a quiet spell of 250 ms", c)
	}
	idle.Store(int64(time.Second))
	if !srv.WaitFor(1, 30*time.Second) {
		t.Fatalf("the outbid email never went out after a quiet spell: %v", statusCounts(t, w.db))
	}
}
