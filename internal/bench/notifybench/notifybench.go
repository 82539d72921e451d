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
	"strings"
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
	// Rounds is how many working phases alternate with idle ones (idle,
	// working, idle, … idle); default 1.
	Rounds int
	// Parts is what of the notifier works in the working phases: "both"
	// (the default: consumer and senders), "consumer", "senders" or
	// "none" (to tell their costs apart).
	Parts string
	// HeadStart is how long the notifier works before each working
	// phase's storm begins; default 0 (it starts with the storm).
	HeadStart time.Duration
	// ProfileDir, when set, receives each bid phase's CPU, block, mutex
	// and goroutine profiles, and the report gains PostgreSQL's view of
	// the phase (wait events, commits, WAL flushes, top statements) read
	// from DBURL.
	ProfileDir, DBURL string
	Log               *slog.Logger
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
	if o.Rounds <= 0 {
		o.Rounds = 1
	}
	switch o.Parts {
	case "":
		o.Parts = "both"
	case "both", "consumer", "senders", "none":
	default:
		return fmt.Errorf("bench notify: parts %q: want both, consumer, senders or none", o.Parts)
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
	n, err := notify.New(ctx, db, svc, svc, nil, transport, notify.Config{From: from, Workers: o.Workers, Batch: 100, Logger: o.Log, IdleFor: svc.IdleFor})
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
	fmt.Fprintf(out, "## Email notifier\n\nmachine: %s, %d CPUs, %s; load average at start: %s; %d notices per phase, %d sending workers, %d bidders, %s per bid phase, %d working phases (%s); the SMTP server runs in the same process\n\n",
		host, runtime.NumCPU(), runtime.Version(), benchkit.LoadAvg(), o.Notices, o.Workers, o.Bidders, o.Duration, o.Rounds, o.Parts)

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

	// 2. Bids with the notifier idle (the baseline), alternating with 3.
	// the same storm on fresh lots while the notifier works through a
	// backlog and records the storm's own outbid notices, ending idle: the
	// idle phases' spread is the run's own noise. The backlog is recorded
	// before the first bid phase, so that every phase runs on the same
	// tables and none follows a burst of inserts the others do not.
	setD, err := lots(side)
	if err != nil {
		return err
	}
	if err := backlog(ctx, n, users[:side], setD, o.Notices, "d"); err != nil {
		return err
	}
	var evidence strings.Builder
	defer func() {
		if evidence.Len() > 0 {
			fmt.Fprintf(out, "\nWhere the phases went:\n\n%s", evidence.String())
		}
	}()
	phase := func(name string, set []domain.Auction) stormResult {
		prof, err := benchkit.StartPhaseProfile(ctx, o.ProfileDir, name, o.DBURL, o.Duration)
		if err != nil {
			fmt.Fprintf(&evidence, "- %s: no profiles: %v\n", name, err)
		}
		defer prof.Finish(&evidence)
		r := storm(ctx, svc, users[:o.Bidders], set, o.Duration)
		if o.ProfileDir != "" {
			fmt.Fprintf(&evidence, "- %s: bid p99 second by second: %v\n", name, roundAll(r.perSecond))
		}
		return r
	}
	// A short storm first, measured by no one: the first bid phase of a
	// run was the slowest in every run (connections, caches and plans
	// warming up), which flattered the ratio of the phases after it.
	warm, err := lots(side)
	if err != nil {
		return err
	}
	storm(ctx, svc, users[:o.Bidders], warm, min(3*time.Second, o.Duration))
	var idles, works []stormResult
	idle := func(k int) error {
		set, err := lots(side)
		if err != nil {
			return err
		}
		r := phase(fmt.Sprintf("idle %d", k), set)
		idles = append(idles, r)
		fmt.Fprintf(out, "| bids, notifier idle (baseline %d) | %s |\n", k, r)
		return nil
	}
	for k := range o.Rounds {
		if err := idle(k + 1); err != nil {
			return err
		}
		// The lots first: the notifier must meet the storm, not the
		// quiet while lots are created.
		set, err := lots(side)
		if err != nil {
			return err
		}
		before, paused := srv.Count(), n.Paused()
		busyCtx, stopBusy := context.WithCancel(jobs)
		var busyWG sync.WaitGroup
		if o.Parts != "consumer" && o.Parts != "none" {
			busyWG.Go(func() { n.RunSenders(busyCtx) })
		}
		if o.Parts != "senders" && o.Parts != "none" {
			busyWG.Go(func() { n.Consume(busyCtx, consumer, notify.ConsumerOptions{}) })
		}
		sleepCtx(ctx, o.HeadStart)
		r := phase(fmt.Sprintf("working %d", k+1), set)
		sent := srv.Count() - before
		stopBusy()
		busyWG.Wait()
		works = append(works, r)
		fmt.Fprintf(out, "| bids, notifier working (%s) through a backlog of %d notices | %s; %d notices sent during the phase, %d pauses for bids |\n",
			o.Parts, o.Notices, r, sent, n.Paused()-paused)
	}
	if err := idle(o.Rounds + 1); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s\n", verdict(idles, works))
	return nil
}

// verdict compares each working phase's bid p99 with the mean of the idle
// phases', next to the idle phases' own spread (max / min): the issue's
// "unchanged within noise" holds when every ratio is within that spread,
// or within 1.10×.
func verdict(idles, works []stormResult) string {
	var sum float64
	lo, hi := idles[0].p99, idles[0].p99
	for _, r := range idles {
		sum += r.p99.Seconds()
		lo, hi = min(lo, r.p99), max(hi, r.p99)
	}
	mean := sum / float64(len(idles))
	spread := hi.Seconds() / lo.Seconds()
	ratios := make([]string, len(works))
	within := true
	for i, r := range works {
		x := r.p99.Seconds() / mean
		ratios[i] = fmt.Sprintf("%.2f×", x)
		within = within && x <= max(spread, 1.10)
	}
	word := "not within noise"
	if within {
		word = "within noise"
	}
	return fmt.Sprintf("bid p99 with the notifier working / mean idle = **%s**; the idle phases differ by %.2f× (noise): %s",
		strings.Join(ratios, ", "), spread, word)
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
	perSecond                  []time.Duration // p99 of the bids started in each second of the phase
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
	at := make([][]time.Duration, len(bidders)) // when each bid started, from the phase's start
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
				at[w] = append(at[w], t.Sub(began))
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
	secs := make([][]time.Duration, int(d/time.Second)+1)
	for w, l := range lat {
		all = append(all, l...)
		for j, x := range l {
			k := min(int(at[w][j]/time.Second), len(secs)-1)
			secs[k] = append(secs[k], x)
		}
	}
	for _, b := range secs {
		if len(b) > 0 {
			slices.Sort(b)
			r.perSecond = append(r.perSecond, b[len(b)*99/100])
		}
	}
	slices.Sort(all)
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Microsecond)
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
