// Package notifybench measures the email notifier (gavel bench notify):
// notices rendered and handed to a real SMTP server per second, and the
// latency of bids with and without the notifier working through a backlog
// of outbid notices, in one run on the same database.
package notifybench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/mail"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"github.com/gavel-auctions/gavel/internal/smtptest"
	"github.com/gavel-auctions/gavel/notify"
)

// Options size a run.
type Options struct {
	Notices  int           // outbid notices per phase; default 10,000
	Bidders  int           // concurrent bidders in the bid phases; default 64
	Duration time.Duration // length of each bid phase; default 10s
	Workers  int           // notifier sending goroutines; default 4
	Log      *slog.Logger
}

// Run measures and writes a markdown report to out. db is a migrated,
// empty PostgreSQL database.
func Run(ctx context.Context, db *gorm.DB, o Options, out io.Writer) error {
	if o.Notices <= 0 {
		o.Notices = 10000
	}
	if o.Bidders <= 0 {
		o.Bidders = 64
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	svc := bidding.New(db, bidding.Options{PasswordCost: bcrypt.MinCost, Logger: o.Log})
	defer svc.Close(context.Background())

	// The production shape: embedded NATS, the relay, the notifier's
	// durable consumer, and a real SMTP server (in this process).
	dir, err := os.MkdirTemp("", "gavel-bench-notify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ns, err := natsserver.Start(natsserver.Options{StoreDir: dir})
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return err
	}
	if _, err := natsserver.EnsureStream(ctx, js, 1); err != nil {
		return err
	}
	jobs, stopJobs := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopJobs(); wg.Wait() }()
	relay := bidding.NewRelay(svc, js, bidding.RelayOptions{})
	wg.Go(func() { _ = relay.Run(jobs) })

	srv, err := smtptest.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer srv.Stop()
	from := &mail.Address{Name: "Gavel", Address: "bench@gavel.local"}
	transport := notify.NewSMTP(notify.SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: "none", From: from})
	n, err := notify.New(ctx, db, svc, svc, nil, transport, notify.Config{From: from, Workers: o.Workers, Batch: 100, Logger: o.Log, Busy: svc.Busy})
	if err != nil {
		return err
	}
	consumer, err := notify.EnsureConsumer(ctx, js, notify.ConsumerOptions{})
	if err != nil {
		return err
	}

	side := int(math.Ceil(math.Sqrt(float64(o.Notices))))
	seller, err := svc.CreateUser(ctx, "seller@bench.local", "bench-password", "Seller", false)
	if err != nil {
		return err
	}
	users := make([]domain.User, max(side, o.Bidders))
	for i := range users {
		if users[i], err = svc.CreateUser(ctx, fmt.Sprintf("b%d@bench.local", i), "bench-password", fmt.Sprintf("Bidder %d", i), false); err != nil {
			return err
		}
	}
	lots := func(k int) ([]domain.Auction, error) {
		out := make([]domain.Auction, k)
		for i := range out {
			a, err := svc.CreateAuction(ctx, seller, domain.AuctionInput{Title: fmt.Sprintf("Lot %d", i), Currency: "EUR",
				StartPrice: 100, EndsAt: time.Now().Add(24 * time.Hour)})
			if err != nil {
				return nil, err
			}
			out[i] = a
		}
		return out, nil
	}

	host, _ := os.Hostname()
	fmt.Fprintf(out, "## Email notifier\n\nmachine: %s, %d CPUs, %s; load average at start: %s; %d notices per phase, %d sending workers, %d bidders, %s per bid phase; the SMTP server runs in the same process\n\n",
		host, runtime.NumCPU(), runtime.Version(), benchkit.LoadAvg(), o.Notices, o.Workers, o.Bidders, o.Duration)

	// 1. Throughput: a backlog of notices, rendered and handed to SMTP.
	setA, err := lots(side)
	if err != nil {
		return err
	}
	if err := backlog(ctx, n, users[:side], setA, o.Notices, "a"); err != nil {
		return err
	}
	sendCtx, stopSend := context.WithCancel(jobs)
	began := time.Now()
	var sendWG sync.WaitGroup
	sendWG.Go(func() { n.RunSenders(sendCtx) })
	ok := srv.WaitFor(o.Notices, 10*time.Minute)
	took := time.Since(began)
	stopSend()
	sendWG.Wait()
	if !ok {
		return fmt.Errorf("only %d of %d notices reached the SMTP server", srv.Count(), o.Notices)
	}
	fmt.Fprintln(out, "| phase | result |")
	fmt.Fprintln(out, "|---|---|")
	fmt.Fprintf(out, "| render and hand to SMTP | %d notices in %.2f s = **%.0f notices/s** |\n", o.Notices, took.Seconds(), float64(o.Notices)/took.Seconds())

	// 2. Bids with the notifier idle (the baseline), then 3. with it
	// working through a fresh backlog and recording the storm's own
	// outbid notices.
	setB, err := lots(side)
	if err != nil {
		return err
	}
	base := storm(ctx, svc, users[:o.Bidders], setB, o.Duration)
	fmt.Fprintf(out, "| bids, notifier idle (baseline) | %s |\n", base)

	setC, err := lots(side)
	if err != nil {
		return err
	}
	setD, err := lots(side)
	if err != nil {
		return err
	}
	if err := backlog(ctx, n, users[:side], setD, o.Notices, "d"); err != nil {
		return err
	}
	before := srv.Count()
	busyCtx, stopBusy := context.WithCancel(jobs)
	var busyWG sync.WaitGroup
	busyWG.Go(func() { n.RunSenders(busyCtx) })
	busyWG.Go(func() { n.Consume(busyCtx, consumer, notify.ConsumerOptions{}) })
	busy := storm(ctx, svc, users[:o.Bidders], setC, o.Duration)
	sent := srv.Count() - before
	stopBusy()
	busyWG.Wait()
	fmt.Fprintf(out, "| bids, notifier sending a %d-notice backlog | %s; %d notices sent during the phase, %d pauses for bids |\n", o.Notices, busy, sent, n.Paused())

	// 4. The baseline again, so the run shows its own noise: the spread
	// of two idle phases is what "unchanged within noise" is judged by.
	setE, err := lots(side)
	if err != nil {
		return err
	}
	base2 := storm(ctx, svc, users[:o.Bidders], setE, o.Duration)
	fmt.Fprintf(out, "| bids, notifier idle again | %s |\n", base2)
	idle := (base.p99.Seconds() + base2.p99.Seconds()) / 2
	fmt.Fprintf(out, "\nbid p99 with the notifier working / mean idle = **%.2f×**; the two idle phases differ by %.2f× (noise)\n",
		busy.p99.Seconds()/idle, max(base.p99, base2.p99).Seconds()/min(base.p99, base2.p99).Seconds())
	return nil
}

// backlog records k outbid notices, one per (user, lot) pair so that the
// 10-minute throttle keeps every one.
func backlog(ctx context.Context, n *notify.Service, users []domain.User, lots []domain.Auction, k int, tag string) error {
	now := time.Now().UTC()
	events := make([]domain.Event, 0, 500)
	for i := range k {
		u, a := users[i%len(users)], lots[i/len(users)%len(lots)]
		events = append(events, domain.Event{ID: fmt.Sprintf("bench-%s-%d", tag, i), Type: domain.EventOutbid, UserID: u.ID,
			AuctionID: a.ID, Currency: a.Currency, CommittedAt: now})
		if len(events) == cap(events) || i == k-1 {
			if _, err := n.HandleEvents(ctx, events); err != nil {
				return err
			}
			events = events[:0]
		}
	}
	return nil
}

// stormResult is one bid phase.
type stormResult struct {
	accepted, rejected, errors int64
	elapsed                    time.Duration
	p50, p99                   time.Duration
}

func (r stormResult) String() string {
	return fmt.Sprintf("%.0f accepted bids/s (%d accepted, %d rejected, %d errors), p50 %s, p99 %s",
		float64(r.accepted)/r.elapsed.Seconds(), r.accepted, r.rejected, r.errors, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond))
}

// storm has every bidder bid for d, each bid above the last one sent to
// its lot, in-process through the service.
func storm(ctx context.Context, svc *bidding.Service, bidders []domain.User, lots []domain.Auction, d time.Duration) stormResult {
	tickets := make([]atomic.Int64, len(lots))
	var accepted, rejected, errs atomic.Int64
	lat := make([][]time.Duration, len(bidders))
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	began := time.Now()
	for w := range bidders {
		wg.Go(func() {
			i := w % len(lots)
			for time.Now().Before(stop) && ctx.Err() == nil {
				i = (i + 7) % len(lots)
				amount := 1000 + tickets[i].Add(1)*20000
				t := time.Now()
				_, err := svc.PlaceBid(ctx, bidders[w], lots[i].ID, domain.BidInput{Amount: amount})
				lat[w] = append(lat[w], time.Since(t))
				switch {
				case err == nil:
					accepted.Add(1)
				case domain.ErrorCode(err) == domain.CodeConflict:
					rejected.Add(1)
				default:
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	r := stormResult{accepted: accepted.Load(), rejected: rejected.Load(), errors: errs.Load(), elapsed: time.Since(began)}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}
