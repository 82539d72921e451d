// Package stormbench is `gavel bench storm`: a sniping storm of many
// bidders at one hot auction and at many auctions, in-process through the
// bidding service and over HTTP through a real node, next to a
// single-statement baseline measured in the same run.
package stormbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
)

// stormResult is one row of the storm benchmark's report.
type stormResult struct {
	name      string
	accepted  int64
	rejected  int64
	errors    int64
	lost      int64
	elapsed   time.Duration
	latencies []time.Duration
}

func (r stormResult) row() string {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
	}
	return fmt.Sprintf("| %s | %.0f | %.0f | %d | %d | %d | %s | %s | %d |", r.name,
		float64(r.accepted)/r.elapsed.Seconds(), float64(r.accepted+r.rejected)/r.elapsed.Seconds(), r.accepted, r.rejected, r.errors,
		pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), r.lost)
}

// Main measures a sniping storm: many bidders firing at once at one hot
// auction, and at 1,000 auctions; in-process through the service, over
// HTTP with real sessions (on a node from start), and a single-statement
// baseline on the same schema and pool, all in one run against the
// PostgreSQL in DATABASE_URL (or TEST_DATABASE_URL), which should have
// fsync and synchronous_commit on. The HTTP phases' bidders run in a
// process of their own: this binary again, as `gavel bench storm client`
// (the hidden first argument), answering commands on its stdin.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger, start benchkit.StartNode) error {
	if len(args) > 0 && args[0] == "client" {
		return clientMain(ctx, os.Stdin, stdout)
	}
	fs := flag.NewFlagSet("bench storm", flag.ContinueOnError)
	bidders := fs.Int("bidders", 128, "concurrent bidders")
	dur := fs.Duration("duration", 8*time.Second, "length of each phase")
	auctions := fs.Int("auctions", 1000, "auctions in the spread phase")
	skipHTTP := fs.Bool("skip-http", false, "skip the HTTP phases")
	var hc httpClientOpts
	// 10, not the SSE benchmark's 19: the storm is a closed loop, so a
	// client starved behind other niced work (builds at nice 15 on a
	// shared machine) idles the server too; docs/BENCHMARKS.md has the runs.
	fs.IntVar(&hc.nice, "client-nice", 10, "nice value of the HTTP bidders' process: below the server it measures, above background work (0: none)")
	fs.BoolVar(&hc.inProcess, "client-in-process", false, "run the HTTP bidders in this process, beside the server, instead of a process of their own")
	shards := fs.Int("shards", 0, "bid queues in the service (0: its default)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the whole run to this file")
	profDir := fs.String("profile", "", "write each phase's CPU, block, mutex and goroutine profiles to this directory, and sample PostgreSQL's wait events")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if hc.nice < 0 || hc.nice > 19 {
		return &benchkit.UsageError{Msg: "bench storm: --client-nice must be between 0 and 19", Usage: "Usage: gavel bench storm [--bidders N] [--duration D] [--auctions N] [--skip-http] [--client-nice N] [--client-in-process]\n"}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			if f, err := os.Create(*memProfile); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	fresh, err := benchkit.OpenFresh(ctx, getenv, "bench storm", "make bench")
	if err != nil {
		return err
	}
	defer fresh.Close()
	db, dbURL := fresh.DB, fresh.URL
	// Baseline and service share one pool of benchPool connections: the
	// baseline's best case per pgbench here (one hot row peaks near 8
	// clients), and more than the service's shards ever use at once.
	const benchPool = 8
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.SetMaxOpenConns(benchPool)
		sqlDB.SetMaxIdleConns(benchPool)
	}
	var fsync, syncCommit string
	db.Raw("SHOW fsync").Scan(&fsync)
	db.Raw("SHOW synchronous_commit").Scan(&syncCommit)
	host, _ := os.Hostname()
	fmt.Fprintf(stdout, "## Sniping storm\n\nmachine: %s, %d CPUs, %s; PostgreSQL fsync=%s synchronous_commit=%s; %d bidders, %s per phase; in-process phases share a pool of %d connections\n\n",
		host, runtime.NumCPU(), runtime.Version(), fsync, syncCommit, *bidders, *dur, benchPool)
	// judged/s counts every bid answered with a verdict: accepted, or
	// rejected as too low because another bid got there first.
	fmt.Fprintln(stdout, "| phase | accepted bids/s | judged bids/s | accepted | rejected | errors | p50 | p99 | lost |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|---|")
	var evidence strings.Builder
	defer func() {
		if evidence.Len() > 0 {
			fmt.Fprintf(stdout, "\nWhere the phases waited:\n\n%s", evidence.String())
		}
	}()
	profiled := func(name string, d time.Duration, phase func() stormResult) stormResult {
		prof, err := benchkit.StartPhaseProfile(ctx, *profDir, name, dbURL, d)
		if err != nil {
			fmt.Fprintf(&evidence, "- %s: no profiles: %v\n", name, err)
		}
		defer prof.Finish(&evidence)
		return phase()
	}
	runStorm := func(ctx context.Context, name string, bidders int, d time.Duration, auctions []int64,
		bid func(ctx context.Context, w int, auction, amount int64) (int64, bool, error)) stormResult {
		return profiled(name, d, func() stormResult { return runStorm(ctx, name, bidders, d, auctions, bid) })
	}

	svc := bidding.New(db, bidding.Options{PasswordCost: bcrypt.MinCost, Logger: log, Shards: *shards})
	seller, err := svc.CreateUser(ctx, "seller@bench.local", "bench-password", "Seller", false)
	if err != nil {
		return err
	}
	users := make([]domain.User, *bidders)
	for i := range users {
		if users[i], err = svc.CreateUser(ctx, fmt.Sprintf("b%d@bench.local", i), "bench-password", fmt.Sprintf("Bidder %d", i), false); err != nil {
			return err
		}
	}
	newAuctions := func(n int) ([]int64, error) {
		ids := make([]int64, n)
		for i := range ids {
			a, err := svc.CreateAuction(ctx, seller, domain.AuctionInput{Title: fmt.Sprintf("Lot %d", i), Currency: "EUR",
				StartPrice: 100, EndsAt: time.Now().Add(24 * time.Hour)})
			if err != nil {
				return nil, err
			}
			ids[i] = a.ID
		}
		return ids, nil
	}

	hot, err := newAuctions(1)
	if err != nil {
		return err
	}
	base := runStorm(ctx, "baseline: one bid per transaction, single SQL statement (hot auction)", *bidders, *dur, hot,
		func(ctx context.Context, w int, auction, amount int64) (int64, bool, error) {
			return baselineBid(ctx, db, auction, users[w].ID, amount)
		})
	base.lost = countLost(db, base, nil)
	fmt.Fprintln(stdout, base.row())

	place := func(ctx context.Context, w int, auction, amount int64) (int64, bool, error) {
		r, err := svc.PlaceBid(ctx, users[w], auction, domain.BidInput{Amount: amount})
		if domain.ErrorCode(err) == domain.CodeConflict {
			return 0, false, nil
		}
		return r.BidID, err == nil, err
	}
	if hot, err = newAuctions(1); err != nil {
		return err
	}
	acked := &ackSet{}
	r := runStorm(ctx, "service in-process, hot auction", *bidders, *dur, hot, acked.wrap(place))
	r.lost = countLost(db, r, acked)
	fmt.Fprintln(stdout, r.row())
	fmt.Fprintf(stdout, "\nin-process hot auction / baseline = **%.2f×**\n\n", (float64(r.accepted)/r.elapsed.Seconds())/(float64(base.accepted)/base.elapsed.Seconds()))

	spread, err := newAuctions(*auctions)
	if err != nil {
		return err
	}
	acked = &ackSet{}
	r = runStorm(ctx, fmt.Sprintf("service in-process, %d auctions", *auctions), *bidders, *dur, spread, acked.wrap(place))
	r.lost = countLost(db, r, acked)
	fmt.Fprintln(stdout, r.row())

	if !*skipHTTP {
		if err := httpStorm(ctx, stdout, hc, profiled, start, dbURL, users, *bidders, *dur, newAuctions, db, *auctions); err != nil {
			return err
		}
	}
	return svc.Close(ctx)
}

// runStorm starts every bidder at the same instant and keeps them bidding
// for d. Each bid is a little above the last ticket of its auction, so most
// are valid when judged; out-of-order ones are rejected as too low, as a
// real sniper's would be.
func runStorm(ctx context.Context, name string, bidders int, d time.Duration, auctions []int64,
	bid func(ctx context.Context, w int, auction, amount int64) (int64, bool, error)) stormResult {
	tickets := make([]atomic.Int64, len(auctions))
	var accepted, rejected, errs atomic.Int64
	lat := make([][]time.Duration, bidders)
	var wg sync.WaitGroup
	start := make(chan struct{})
	var stopAt time.Time
	for w := range bidders {
		wg.Go(func() {
			<-start
			i := w % len(auctions)
			for time.Now().Before(stopAt) && ctx.Err() == nil {
				i = (i + 7) % len(auctions)
				amount := 1000 + tickets[i].Add(1)*20000
				t := time.Now()
				_, ok, err := bid(ctx, w, auctions[i], amount)
				lat[w] = append(lat[w], time.Since(t))
				switch {
				case err != nil:
					errs.Add(1)
				case ok:
					accepted.Add(1)
				default:
					rejected.Add(1)
				}
			}
		})
	}
	began := time.Now()
	stopAt = began.Add(d)
	close(start)
	wg.Wait()
	r := stormResult{name: name, accepted: accepted.Load(), rejected: rejected.Load(), errors: errs.Load(), elapsed: time.Since(began)}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	return r
}

// baselineBid is the per-transaction ceiling: one statement that raises
// the price by one increment, updates the auction and inserts the bid row,
// committed alone. It always applies, so every transaction pays for a
// durable commit, as an accepted bid does.
func baselineBid(ctx context.Context, db *gorm.DB, auction, bidder, _ int64) (int64, bool, error) {
	var id int64
	res := db.WithContext(ctx).Raw(`WITH a AS (
			UPDATE auctions SET current_price = current_price + 100, bid_count = bid_count + 1, seq = seq + 1,
				leader_id = ?, updated_at = now()
			WHERE id = ? AND status = 'open' RETURNING id, seq, current_price)
		INSERT INTO bids (auction_id, bidder_id, amount, max_amount, seq, received_at)
		SELECT id, ?, current_price, current_price, seq, now() FROM a RETURNING id`, bidder, auction, bidder).Scan(&id)
	if res.Error != nil {
		return 0, false, res.Error
	}
	return id, id != 0, nil
}

// login signs a bidder in through the API and returns its session cookie
// as a Cookie header value.
func login(base, email string) (string, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	body := fmt.Sprintf(`{"email":%q,"password":"bench-password"}`, email)
	resp, err := client.Post(base+"/api/v1/session", "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login for the HTTP storm: %s", resp.Status)
	}
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == "gavel_session" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", errors.New("login for the HTTP storm: no session cookie")
}

// ackSet remembers acknowledged bid ids so lost bids can be counted.
type ackSet struct {
	mu  sync.Mutex
	ids []int64
}

func (a *ackSet) wrap(bid func(context.Context, int, int64, int64) (int64, bool, error)) func(context.Context, int, int64, int64) (int64, bool, error) {
	return func(ctx context.Context, w int, auction, amount int64) (int64, bool, error) {
		id, ok, err := bid(ctx, w, auction, amount)
		if ok {
			a.mu.Lock()
			a.ids = append(a.ids, id)
			a.mu.Unlock()
		}
		return id, ok, err
	}
}

// countLost counts acknowledged bids that are not in the database.
func countLost(db *gorm.DB, r stormResult, acked *ackSet) int64 {
	if acked == nil {
		return 0
	}
	var found int64
	for chunk := range slices.Chunk(acked.ids, 5000) {
		var n int64
		db.Raw("SELECT count(*) FROM bids WHERE id IN ?", chunk).Scan(&n)
		found += n
	}
	return int64(len(acked.ids)) - found
}
