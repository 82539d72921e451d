package notify

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/smtptest"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestSaleLotNotices: a lot's events travel on its sale's subjects
// (gavel.sale.<sale>.auction.<lot>); the notifier still hears a lot close,
// including through a consumer an older version created without them.
func TestSaleLotNotices(t *testing.T) {
	w := mustWorld(t, testpg.DB(t))
	ctx := context.Background()
	// The consumer as an older notifier left it: auctions' subjects only.
	stream, err := w.js.Stream(ctx, domain.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC()
	if _, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: ConsumerName, AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubjects: []string{"gavel.user.*", "gavel.control.suspended.*", domain.AuctionSubjectsAll},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy, OptStartTime: &start}); err != nil {
		t.Fatal(err)
	}
	srv, err := smtptest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	w.startNotifier(smtpTransport(srv), testConfig(w))
	c, err := stream.Consumer(ctx, ConsumerName)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CachedInfo().Config.FilterSubjects; !slices.Equal(got, FilterSubjects) {
		t.Fatalf("the existing consumer filters %v, want %v", got, FilterSubjects)
	}

	seller, buyer := w.user("Seller"), w.user("Buyer")
	sale, err := w.svc.CreateSale(ctx, seller, domain.SaleInput{Title: "Spring sale", Currency: "EUR",
		FirstCloseAt: w.clock.now().Add(time.Hour), SoftCloseMode: domain.SoftCloseCascade})
	if err != nil {
		t.Fatal(err)
	}
	lots, err := w.svc.AddLots(ctx, seller, sale.ID, []domain.LotInput{{LotNumber: 1, Title: "Brass clock", StartPrice: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.PublishSale(ctx, seller, sale.ID); err != nil {
		t.Fatal(err)
	}
	w.bid(buyer, lots[0].ID, 1200)
	w.clock.add(time.Hour + 5*time.Second)
	if _, err := w.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	// won (personal) and sold (from the lot's closed event on the sale's subject).
	if !srv.WaitFor(2, 30*time.Second) {
		t.Fatalf("got %d messages, want 2: %v", srv.Count(), statusCounts(t, w.db))
	}
	kinds := byKind(srv.Messages())
	if len(kinds["won"]) != 1 || len(kinds["sold"]) != 1 || kinds["sold"][0].To[0] != seller.Email {
		t.Fatalf("emails by kind %v, want one won and one sold to the seller", kinds)
	}
}
