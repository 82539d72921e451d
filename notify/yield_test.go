package notify

import (
	"sync/atomic"
	"testing"
	"time"

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
