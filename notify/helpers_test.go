package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/database"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"github.com/gavel-auctions/gavel/internal/smtptest"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// clock is the server clock shared by the bidding service and the
// notifier: the wall clock, which add moves forward.
type clock struct{ offset atomic.Int64 }

func newClock() *clock               { return &clock{} }
func (c *clock) now() time.Time      { return time.Now().Add(time.Duration(c.offset.Load())).UTC() }
func (c *clock) add(d time.Duration) { c.offset.Add(int64(d)) }

// world is what a notifier runs against: a real PostgreSQL database (or
// SQLite), the bidding service with its relay, and a real NATS server.
type world struct {
	t     *testing.T
	db    *gorm.DB
	clock *clock
	svc   *bidding.Service
	js    jetstream.JetStream
}

func mustWorld(t *testing.T, db *gorm.DB) *world {
	t.Helper()
	c := newClock()
	w := &world{t: t, db: db, clock: c}
	w.svc = bidding.New(db, bidding.Options{Now: c.now, PasswordCost: bcrypt.MinCost})
	ns, err := natsserver.Start(natsserver.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	w.js, err = jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := natsserver.EnsureStream(ctx, w.js, 1); err != nil {
		t.Fatal(err)
	}
	relay := bidding.NewRelay(w.svc, w.js, bidding.RelayOptions{Poll: 20 * time.Millisecond})
	done := make(chan struct{})
	go func() { defer close(done); _ = relay.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = w.svc.Close(context.Background())
		nc.Close()
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return w
}

// notifier is one running notifier (a node's), stoppable.
type notifier struct {
	*Service
	stop func()
}

// testConfig is fast: short backoff, quick polls.
func testConfig(w *world) Config {
	return Config{PublicURL: "https://gavel.example", Now: w.clock.now, RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Poll: 50 * time.Millisecond, Lease: 5 * time.Second, Logger: slog.New(slog.DiscardHandler), From: &mail.Address{Name: "Gavel", Address: "gavel@gavel.example"}}
}

func smtpTransport(srv *smtptest.Server) Transport {
	return NewSMTP(SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: "none", From: &mail.Address{Name: "Gavel", Address: "gavel@gavel.example"}, Timeout: 5 * time.Second})
}

// startNotifier starts a notifier: consumer and senders.
func (w *world) startNotifier(tr Transport, cfg Config) *notifier {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, w.db, w.svc, w.svc, nil, tr, cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	cons, err := EnsureConsumer(ctx, w.js, ConsumerOptions{AckWait: 5 * time.Second})
	if err != nil {
		w.t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.Consume(ctx, cons, ConsumerOptions{MaxWait: 100 * time.Millisecond}) }()
	go func() { defer wg.Done(); s.RunSenders(ctx) }()
	var once sync.Once
	n := &notifier{Service: s, stop: func() { once.Do(func() { cancel(); wg.Wait() }) }}
	w.t.Cleanup(n.stop)
	return n
}

var userSeq atomic.Int64

func (w *world) user(name string) domain.User {
	w.t.Helper()
	n := userSeq.Add(1)
	u, err := w.svc.CreateUser(context.Background(), fmt.Sprintf("%s%d@example.com", name, n), "correct horse", name, false)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) admin() domain.User {
	w.t.Helper()
	n := userSeq.Add(1)
	u, err := w.svc.CreateUser(context.Background(), fmt.Sprintf("admin%d@example.com", n), "correct horse", "Admin", true)
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) auction(seller domain.User, title string) domain.Auction {
	w.t.Helper()
	a, err := w.svc.CreateAuction(context.Background(), seller, domain.AuctionInput{Title: title, Currency: "EUR", StartPrice: 1000,
		EndsAt: w.clock.now().Add(time.Hour)})
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (w *world) bid(u domain.User, id, amount int64) domain.Receipt {
	w.t.Helper()
	r, err := w.svc.PlaceBid(context.Background(), u, id, domain.BidInput{Amount: amount})
	if err != nil {
		w.t.Fatalf("bid %d by %d on %d: %v", amount, u.ID, id, err)
	}
	return r
}

// waitUntil polls cond with a generous deadline: the machine is shared.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// statusCounts counts notices by status.
func statusCounts(t *testing.T, db *gorm.DB) map[string]int {
	t.Helper()
	var rows []struct {
		Status string
		N      int
	}
	if err := db.Raw("SELECT status, COUNT(*) AS n FROM notifications GROUP BY status").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out
}

func mustSQLite(t *testing.T) *gorm.DB {
	t.Helper()
	db, d, err := database.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := database.Migrate(context.Background(), db, d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	return db
}

func pgDB(t *testing.T) *gorm.DB { return testpg.DB(t) }
