// Package salebench measures a catalogue sale end to end (gavel bench
// sale): a sale of 500 lots closing 1 s apart in cascade mode, watched by
// 2,000 streams of its catalogue held by separate processes at nice 19,
// with bidders sniping the lots about to close. It reports how late each
// lot closes, what a bid costs when it moves every later lot, how fast the
// catalogue stream delivers and snapshots, and checks that no bid is lost
// and that every lot closes once, in lot order.
package salebench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
)

// Options size a run.
type Options struct {
	Lots       int           // default 500
	Gap        int           // seconds between lots; default 1
	SoftClose  int           // seconds; default 1
	Lead       time.Duration // from publishing to the first close; default 60s
	Watchers   int           // catalogue streams (0: none)
	Procs      int           // watcher processes; default 4
	Nice       int           // of the watcher processes; default 19
	Probes     int           // cascading bids on lot 1 before it closes; default 200
	SnipeEvery int           // every n-th lot gets a bid inside its soft close; default 5
	// ProbeProfile, if set, is a file for the Go CPU profile of the whole
	// process (the node and the bench) during the probe's cascades.
	ProbeProfile string
	// ProbeAllocs, if set, is a file for the process's allocation profile
	// at the probe's end, with the one at its start beside it (.base):
	// go tool pprof -sample_index=alloc_space -diff_base F.base F shows
	// what the node allocated while the cascades committed.
	ProbeAllocs string
	// ProbeTrace, if set, is a file for a Go execution trace of the first
	// TraceFor of the probe: where the bids' goroutines waited (go tool
	// trace -pprof=sched shows time runnable but not running).
	ProbeTrace string
	TraceFor   time.Duration // default 8s
	// PGWaits, if set, is a file for what PostgreSQL's backends were
	// doing during the probe's cascades, sampled from pg_stat_activity:
	// on CPU in which statement, or waiting on what (PostgreSQL only).
	PGWaits string
	// RecycleWAL writes and checkpoints ~300 MB of WAL before the run, so
	// that PostgreSQL reuses WAL segments as a server in service does,
	// instead of creating each one inside a commit (PostgreSQL only).
	RecycleWAL bool
	Log        *slog.Logger
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Lots, 500)
	def(&o.Gap, 1)
	def(&o.SoftClose, 1)
	def(&o.Procs, 4)
	def(&o.Probes, 200)
	def(&o.SnipeEvery, 5)
	if o.Nice == 0 {
		o.Nice = 19
	}
	if o.Lead <= 0 {
		o.Lead = 60 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Env is the node under test, started by cmd/gavel: its service (bids are
// placed in-process, so commit times are the service's), its database,
// its HTTP address, and the binary to run watcher processes with
// (exe bench sale watch …).
type Env struct {
	Svc     *bidding.Service
	DB      *gorm.DB
	BaseURL string
	Exe     string
	TmpDir  string
	Notes   string // machine and database settings, for the report
	// Streams counts the node's open streams, so that the bids wait for
	// the watchers to connect (nil: they do not wait).
	Streams func() int64
}

// run is one benchmark's state.
type run struct {
	o       Options
	env     Env
	out     io.Writer
	sale    domain.Sale
	lots    []domain.Auction
	users   []domain.User
	single  domain.Auction // a single listing, for the baseline without a sale
	watch   []*watchProc
	solo    string // a session cookie for single catalogue opens
	start   time.Time
	results results
	// sniping is set once the probe is over and the snipers bid.
	sniping atomic.Bool
	// traceStop ends the probe's execution trace (nil: none started).
	traceStop func() error
	// waits samples PostgreSQL's backends during the probe (nil: not
	// asked for, or not started yet).
	waits *benchkit.PGWaits
}

// results are the measurements.
type results struct {
	mu                   sync.Mutex
	cascade, cascadeFull Histogram // cascading bids; "full" moved at least 90% of the lots
	// fullAcked times cascadeFull's bids from placing to receipt, so with
	// any wait for an earlier batch on the lot (the rest time the batch).
	fullAcked Histogram
	// fullProbe and fullSnipe split cascadeFull: the probe's bids, one at
	// a time, and the snipers', placed while the scheduler closes lots.
	fullProbe, fullSnipe Histogram
	soloOpens            Histogram // one catalogue opened alone while the watchers watch
	saleBid, singleBid   Histogram // non-cascading bids in the sale, and on a single listing
	movedMax             int
	acked                int
	refused              map[string]int
	snipes               []snipeBid
}

func (r *results) add(h *Histogram, d time.Duration) {
	r.mu.Lock()
	h.Add(d)
	r.mu.Unlock()
}

// Run runs the benchmark and writes a markdown report to out.
func Run(ctx context.Context, env Env, o Options, out io.Writer) error {
	o.defaults()
	r := &run{o: o, env: env, out: out, start: time.Now()}
	r.results.refused = map[string]int{}
	// The wait sampler starts only at the probe, a minute in: refuse it
	// on a database it cannot sample before that minute is spent.
	if o.PGWaits != "" {
		if err := needPostgres(env.DB, "--pg-waits samples PostgreSQL's pg_stat_activity"); err != nil {
			return err
		}
	}
	if o.RecycleWAL {
		took, err := recycleWAL(ctx, env.DB)
		if err != nil {
			return err
		}
		r.logf("WAL segments recycled in %s", took.Round(100*time.Millisecond))
	}
	cookies, err := r.accounts(ctx)
	if err != nil {
		return err
	}
	if err := r.setup(ctx); err != nil {
		return err
	}
	defer r.stopWatchers()
	if err := r.startWatchers(ctx, cookies); err != nil {
		return err
	}
	r.awaitWatchers(ctx)
	r.openAlone(ctx)
	stop, err := startProfile(o.ProbeProfile)
	if err != nil {
		return err
	}
	if err := writeAllocs(o.ProbeAllocs, ".base"); err != nil {
		return errors.Join(err, stop())
	}
	err = r.probe(ctx)
	if err := errors.Join(err, stop(), r.stopTrace(), r.stopWaits(), writeAllocs(o.ProbeAllocs, "")); err != nil {
		return err
	}
	if err := r.snipe(ctx); err != nil {
		return err
	}
	return r.report(ctx)
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench sale %5.1fs: %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// accounts creates the bidders and the watchers' accounts (16 streams
// each, the per-user cap) and logs the watchers in. Passwords are hashed
// at bcrypt's lowest cost: a hundred default-cost logins would take a
// minute of the two cores the benchmark measures.
func (r *run) accounts(ctx context.Context) ([]string, error) {
	users := bidding.New(r.env.DB, bidding.Options{PasswordCost: bcrypt.MinCost})
	defer users.Close(context.Background())
	for i := range 8 {
		u, err := users.CreateUser(ctx, fmt.Sprintf("sniper%d@sale.bench", i), "bench-password", fmt.Sprintf("Sniper %d", i), false)
		if err != nil {
			return nil, err
		}
		r.users = append(r.users, u)
	}
	n := (r.o.Watchers + 15) / 16
	r.logf("creating and logging in %d watcher accounts", n)
	cookies := make([]string, n)
	client := &http.Client{Timeout: 30 * time.Second}
	if _, err := users.CreateUser(ctx, "solo@sale.bench", "bench-password", "Solo", false); err != nil {
		return nil, err
	}
	var err error
	if r.solo, err = login(ctx, client, r.env.BaseURL, "solo@sale.bench"); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			email := fmt.Sprintf("watcher%d@sale.bench", i)
			if _, err := users.CreateUser(ctx, email, "bench-password", fmt.Sprintf("Watcher %d", i), false); err != nil {
				errs[i] = err
				return
			}
			cookies[i], errs[i] = login(ctx, client, r.env.BaseURL, email)
		})
	}
	wg.Wait()
	return cookies, errors.Join(errs...)
}

// setup creates the sale and its lots, and publishes it: the first lot
// closes Lead from now.
func (r *run) setup(ctx context.Context) error {
	svc := r.env.Svc
	seller, err := svc.CreateUser(ctx, "house@sale.bench", "bench-password", "House", false)
	if err != nil {
		return err
	}
	r.single, err = svc.CreateAuction(ctx, seller, domain.AuctionInput{Title: "Baseline lot", Currency: "EUR", StartPrice: 100,
		EndsAt: time.Now().Add(24 * time.Hour)})
	if err != nil {
		return err
	}
	gap, soft := r.o.Gap, r.o.SoftClose
	r.sale, err = svc.CreateSale(ctx, seller, domain.SaleInput{Title: "Benchmark sale", Currency: "EUR",
		FirstCloseAt: time.Now().Add(r.o.Lead), GapSeconds: &gap, SoftCloseSeconds: &soft, SoftCloseMode: domain.SoftCloseCascade})
	if err != nil {
		return err
	}
	in := make([]domain.LotInput, r.o.Lots)
	for i := range in {
		in[i] = domain.LotInput{LotNumber: i + 1, Title: fmt.Sprintf("Lot %d", i+1), StartPrice: 100,
			Description: "A benchmark lot with a short description.", LowEstimate: 200, HighEstimate: 400}
	}
	if _, err := svc.AddLots(ctx, seller, r.sale.ID, in); err != nil {
		return err
	}
	if r.sale, err = svc.PublishSale(ctx, seller, r.sale.ID); err != nil {
		return err
	}
	if r.lots, err = svc.Lots(ctx, r.sale.ID); err != nil {
		return err
	}
	r.logf("sale %d: %d lots, first close at %s, %d s apart, soft close %d s (cascade)", r.sale.ID, len(r.lots),
		r.sale.FirstCloseAt.Format(time.TimeOnly), r.o.Gap, r.o.SoftClose)
	return nil
}

// watchProc is one watcher process.
type watchProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   strings.Builder
	done  chan error
}

// startWatchers starts the watcher processes with the watchers' cookies.
func (r *run) startWatchers(ctx context.Context, cookies []string) error {
	if r.o.Watchers == 0 {
		return nil
	}
	file := filepath.Join(r.env.TmpDir, "cookies.txt")
	if err := os.WriteFile(file, []byte(strings.Join(cookies, "\n")), 0o600); err != nil {
		return err
	}
	url := fmt.Sprintf("%s/stream/sales/%d", r.env.BaseURL, r.sale.ID)
	for i := range r.o.Procs {
		n := r.o.Watchers / r.o.Procs
		if i < r.o.Watchers%r.o.Procs {
			n++
		}
		cmd := benchkit.Command(ctx, r.o.Nice, r.env.Exe, "bench", "sale", "watch",
			"--url", url, "--cookies", file, "--conns", strconv.Itoa(n))
		cmd.Stderr = os.Stderr
		p := &watchProc{cmd: cmd, done: make(chan error, 1)}
		var err error
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			return err
		}
		cmd.Stdout = &p.out
		if err := cmd.Start(); err != nil {
			return err
		}
		go func() { p.done <- cmd.Wait() }()
		r.watch = append(r.watch, p)
	}
	r.logf("%d watcher processes (nice %d) opening %d streams of %s", r.o.Procs, r.o.Nice, r.o.Watchers, url)
	return nil
}

// awaitWatchers waits until the watchers' streams are open, or until a
// few seconds before the first close, so that the bids are measured with
// the catalogue watched rather than during its connect storm.
func (r *run) awaitWatchers(ctx context.Context) {
	if r.o.Watchers == 0 || r.env.Streams == nil {
		return
	}
	began := time.Now()
	deadline := r.lots[0].EndsAt.Add(-15 * time.Second)
	for r.env.Streams() < int64(r.o.Watchers) && time.Now().Before(deadline) {
		if sleep(ctx, 100*time.Millisecond) != nil {
			return
		}
	}
	r.logf("%d of %d streams open after %s", r.env.Streams(), r.o.Watchers, time.Since(began).Round(100*time.Millisecond))
}

// soloOpens is how many times openAlone opens the catalogue.
const soloOpens = 10

// openAlone opens the catalogue's stream soloOpens times, one at a time,
// while the watchers hold theirs: the snapshot time one bidder sees, as
// against the watchers' own, which all connect at once. It stops 5 s
// before the first close, which the probe must not miss.
func (r *run) openAlone(ctx context.Context) {
	url := fmt.Sprintf("%s/stream/sales/%d", r.env.BaseURL, r.sale.ID)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	stop := r.lots[0].EndsAt.Add(-5 * time.Second)
	for i := range soloOpens {
		if time.Now().After(stop) {
			r.logf("opened the catalogue alone %d times before the first close", i)
			return
		}
		d, err := openOnce(ctx, client, url, r.solo)
		if err != nil {
			r.logf("opening the catalogue alone: %v", err)
			return
		}
		r.results.add(&r.results.soloOpens, d)
	}
}

// stopWatchers ends the watcher processes still running.
func (r *run) stopWatchers() {
	for _, p := range r.watch {
		_ = p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		}
	}
}

// login returns a session cookie for email.
func login(ctx context.Context, client *http.Client, base, email string) (string, error) {
	body := fmt.Sprintf(`{"email":%q,"password":"bench-password"}`, email)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/session", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login %s: status %d", email, resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		return c.Name + "=" + c.Value, nil
	}
	return "", fmt.Errorf("login %s: no cookie", email)
}

// startProfile starts a CPU profile into file, if one is named, and
// returns what stops it and closes the file.
func startProfile(file string) (stop func() error, err error) {
	if file == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// writeAllocs writes the allocation profile as it is now to file+suffix,
// if a file is named. The profile counts from the process's start, so the
// probe's share is the difference of two.
func writeAllocs(file, suffix string) error {
	if file == "" {
		return nil
	}
	f, err := os.Create(file + suffix)
	if err != nil {
		return err
	}
	return errors.Join(pprof.Lookup("allocs").WriteTo(f, 0), f.Close())
}

// startTrace starts an execution trace into the ProbeTrace file, if one is
// named, at the probe's first cascade (not during its wait for lot 1's
// soft close), and stops it after TraceFor: a trace of the whole probe
// would run to gigabytes. stopTrace ends it early and closes the file.
func (r *run) startTrace() error {
	if r.o.ProbeTrace == "" || r.traceStop != nil {
		return nil
	}
	d := r.o.TraceFor
	if d <= 0 {
		d = 8 * time.Second
	}
	f, err := os.Create(r.o.ProbeTrace)
	if err != nil {
		return err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return err
	}
	end := sync.OnceFunc(trace.Stop)
	t := time.AfterFunc(d, end)
	r.traceStop = func() error {
		t.Stop()
		end()
		return f.Close()
	}
	return nil
}

// startWaits starts sampling PostgreSQL's backends for the PGWaits file,
// if one is named, at the probe's first cascade, like startTrace.
func (r *run) startWaits(ctx context.Context) error {
	if r.o.PGWaits == "" || r.waits != nil {
		return nil
	}
	w, err := startWaits(ctx, r.env.DB)
	if err != nil {
		return err
	}
	r.waits = w
	return nil
}

func (r *run) stopWaits() error {
	if r.waits == nil {
		return nil
	}
	return stopWaitsTo(r.waits, r.o.PGWaits)
}

func (r *run) stopTrace() error {
	if r.traceStop == nil {
		return nil
	}
	return r.traceStop()
}
