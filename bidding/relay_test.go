package bidding

import (
	"context"
	"golang.org/x/crypto/bcrypt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestRelaySurvivesNATSOutage stops NATS in the middle of bidding and
// starts it again: every event must reach JetStream exactly once per seq
// after de-duplication, in order.
func TestRelaySurvivesNATSOutage(t *testing.T) {
	db := testpg.DB(t)
	dir := t.TempDir()
	ns, err := natsserver.Start(natsserver.Options{StoreDir: dir, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ns.ClientURL())
	port, _ := strconv.Atoi(u.Port())
	js := connectJetStream(t, ns.ClientURL(), "relay-test")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	s := New(db, Options{PasswordCost: bcrypt.MinCost})
	relay := NewRelay(s, js, RelayOptions{Poll: 50 * time.Millisecond})
	done := make(chan struct{})
	go func() { _ = relay.Run(ctx); close(done) }()
	seller, x, y := mustUser(t, s, false), mustUser(t, s, false), mustUser(t, s, false)
	a := mustAuction(t, s, seller, func(in *domain.AuctionInput) { in.EndsAt = time.Now().Add(time.Hour) })
	bid := func(n int) {
		for i := range n {
			cur := mustGet(t, s, a.ID)
			mustBid(t, s, []domain.User{x, y}[i%2], a.ID, domain.MinNextBid(cur), 0)
		}
	}
	bid(20)
	waitPublished(t, s)
	ns.Shutdown()
	ns.WaitForShutdown()
	bid(30) // committed while NATS is down: the outbox keeps them
	var pending int64
	db.Raw("SELECT count(*) FROM events WHERE published_at IS NULL").Scan(&pending)
	if pending == 0 {
		t.Fatal("events were marked published while NATS was down")
	}
	ns2, err := natsserver.Start(natsserver.Options{StoreDir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer ns2.Shutdown()
	bid(10)
	waitPublished(t, s)

	final := mustGet(t, s, a.ID)
	cons, err := js.OrderedConsumer(ctx, domain.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{domain.AuctionChannel(a.ID).Subject()},
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	var order []int64
	for len(seen) < int(final.Seq) {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("after %d distinct seqs of %d: %v", len(seen), final.Seq, err)
		}
		var e domain.Event
		if err := jsonUnmarshal(msg.Data(), &e); err != nil {
			t.Fatal(err)
		}
		if seen[e.Seq] == 0 {
			order = append(order, e.Seq)
		}
		seen[e.Seq]++
	}
	for i, seq := range order {
		if seq != int64(i+1) {
			t.Fatalf("seq %d arrived at position %d: per-auction order broken", seq, i)
		}
	}
	cancel()
	<-done
}

func waitPublished(t *testing.T, s *Service) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var n int64
		s.db.Raw("SELECT count(*) FROM events WHERE published_at IS NULL").Scan(&n)
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("outbox not drained within 20s")
}

// connectJetStream connects to the NATS server at url as name, makes sure
// the events stream exists (one replica), and closes the connection when
// tb ends.
func connectJetStream(tb testing.TB, url, name string) jetstream.JetStream {
	tb.Helper()
	nc, err := natsserver.Connect(url, nil, name, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := natsserver.EnsureStream(context.Background(), js, 1); err != nil {
		tb.Fatal(err)
	}
	return js
}
