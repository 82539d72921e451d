package bidding

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// BenchmarkSaleBidsRelay is BenchmarkSaleBids' cascade with an outbox
// relay publishing to an embedded JetStream while the bids commit, as on a
// node: the relay marks each cascade's 500 events published while the
// next bid commits, on the same cores. It reports the commit's p50 and p99:
//
//	go run ./internal/testpg/pgrun -durable -- go test -run '^$' -bench BenchmarkSaleBidsRelay -benchtime 200x ./bidding/
func BenchmarkSaleBidsRelay(b *testing.B) {
	db := testpg.DB(b)
	ns, err := natsserver.Start(natsserver.Options{StoreDir: b.TempDir(), Port: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Shutdown()
	js := connectJetStream(b, ns.ClientURL(), "bench")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newClock(t0)
	s := mustService(b, db, c)
	seller := mustUser(b, s, false)
	bidders := []domain.User{mustUser(b, s, false), mustUser(b, s, false)}
	_, lots := mustOpenSale(b, s, c, seller, domain.SoftCloseCascade, 500, 1, 3600)
	relayDone := make(chan struct{})
	go func() { _ = NewRelay(s, js, RelayOptions{}).Run(ctx); close(relayDone) }()
	defer func() { cancel(); <-relayDone }()
	took := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		c.add(time.Second)
		a := mustGet(b, s, lots[0].ID)
		began := time.Now()
		r, err := s.PlaceBid(ctx, bidders[i%2], a.ID, domain.BidInput{Amount: domain.MinNextBid(a)})
		took = append(took, time.Since(began))
		if err != nil {
			b.Fatal(err)
		}
		if !r.EndsAt.After(a.EndsAt) {
			b.Fatalf("bid %d did not cascade", i)
		}
	}
	b.StopTimer()
	deadline := time.Now().Add(time.Minute)
	for {
		var n int64
		if err := s.db.Raw("SELECT count(*) FROM events WHERE published_at IS NULL").Scan(&n).Error; err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d events still unpublished a minute after the last bid", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	slices.Sort(took)
	q := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
