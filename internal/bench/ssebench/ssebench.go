// Package ssebench is `gavel bench sse`: the realtime fan-out benchmark. It
// coordinates realtime node processes and client processes (this same
// binary, as `gavel serve --role realtime` and `gavel bench sse client`),
// next to the raw write floor (`gavel bench sse floor`) on the same
// sockets, and prints the markdown that docs/BENCHMARKS.md records.
package ssebench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"gorm.io/gorm"
)

const sseUsage = `Usage: gavel bench sse [--conns N] [--nodes K] [--clients C] [--bids M]
                       [--heartbeat D] [--short-heartbeat D] [--idle D] [--skip-floor]
                       [--client-nice N] [--kill-node [--victim N] [--storm-bids D] [--profile DIR]]
                       [--burst [--one-binary] [--after D]]

Realtime fan-out: one api node and an embedded NATS server in this process,
K realtime node processes (gavel serve --role realtime) and C client
processes holding N real SSE connections to one auction, with real
sessions. Measures connections held, server RSS per idle connection, idle
CPU, and the delivery of M price changes (commit to arrival), next to the
raw write floor measured in the same run on the same sockets. With
--kill-node it measures a reconnect storm instead: the first realtime node
is killed and its watchers' return to the others is timed; --victim puts N
of the streams on the node that is killed (default: its even share). With
--burst one client process opens every connection at once, and the node's
RSS is followed through the burst and read --after the last connect;
--one-binary makes that node a default ` + "`gavel serve`" + ` (SQLite, in-process
NATS, role all). Needs PostgreSQL in DATABASE_URL or TEST_DATABASE_URL
(except --one-binary); prints markdown.
`

// sseOpts are the flags of gavel bench sse.
type sseOpts struct {
	conns, nodes, clients, bids, perUser, dial int
	victim                                     int // --kill-node: streams on the node killed; 0 = an even share
	clientNice                                 int
	heartbeat, shortHB, idle, settle, spacing  time.Duration
	maxRun                                     time.Duration
	skipFloor, keep, killNode                  bool
	burst, oneBinary                           bool          // burst.go
	after                                      time.Duration // --burst: when the settled RSS is read
	profile                                    string        // --kill-node: write the survivors' CPU profiles here
	stormBids                                  time.Duration // --kill-node: pause between price changes while the watchers move
	args                                       []string
}

// perNode is how many streams the defaults put on one realtime node or
// client process: under the hub's 19,000 cap and the 20,000 open files a
// process may have here, with room for pools and pipes.
const perNode = 18000

func parseSSE(args []string, stdout io.Writer) (sseOpts, error) {
	o := sseOpts{args: args}
	fs := flag.NewFlagSet("bench sse", flag.ContinueOnError)
	fs.IntVar(&o.conns, "conns", 10000, "SSE connections")
	fs.IntVar(&o.nodes, "nodes", 0, "realtime node processes (default ceil(conns/18000))")
	fs.IntVar(&o.clients, "clients", 0, "client processes (default ceil(conns/18000))")
	fs.IntVar(&o.bids, "bids", 20, "price changes to deliver (and floor frames to write)")
	fs.DurationVar(&o.heartbeat, "heartbeat", 15*time.Second, "realtime nodes' heartbeat during the main measurement")
	fs.DurationVar(&o.shortHB, "short-heartbeat", 2*time.Second, "heartbeat of a second idle-CPU measurement (0 skips it)")
	fs.DurationVar(&o.idle, "idle", 30*time.Second, "length of each idle-CPU window, rounded up to whole heartbeats")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "wait after connecting before measuring")
	fs.DurationVar(&o.spacing, "spacing", time.Second, "least time between price changes; the next waits for full delivery too")
	fs.IntVar(&o.perUser, "per-user", 16, "connections per user (the hub's per-user cap)")
	fs.IntVar(&o.dial, "dial", 64, "connections each client process sets up at once")
	fs.IntVar(&o.clientNice, "client-nice", 19, "nice value of the client processes, so they never preempt the servers they measure (0: none)")
	fs.DurationVar(&o.maxRun, "max-run", 40*time.Minute, "stop everything after this long")
	fs.BoolVar(&o.skipFloor, "skip-floor", false, "skip the raw write floor")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (node logs)")
	fs.IntVar(&o.victim, "victim", 0, "with --kill-node: streams on the node that is killed (default: an even share), e.g. --conns 18000 --victim 16000 --nodes 2")
	fs.DurationVar(&o.stormBids, "storm-bids", 200*time.Millisecond, "with --kill-node: pause between price changes while the watchers move (each is delivered to every live stream)")
	fs.StringVar(&o.profile, "profile", "", "with --kill-node: write each survivor's CPU profile from the kill on (up to 20 s) to this directory (nodes run with GAVEL_PPROF=on)")
	fs.BoolVar(&o.killNode, "kill-node", false, "instead of the fan-out measurement: kill one of the realtime nodes (at least 2) with SIGKILL and time its watchers' return to the others with Last-Event-ID")
	burstFlags(fs, &o)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, sseUsage)
			return o, benchkit.ErrHelpShown
		}
		return o, &benchkit.UsageError{Msg: "bench sse: " + err.Error(), Usage: sseUsage}
	}
	ceil := func(a, b int) int { return (a + b - 1) / b }
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := o.burstDefaults(set); err != nil {
		return o, err
	}
	if o.nodes <= 0 {
		o.nodes = ceil(o.conns, perNode)
	}
	if o.clients <= 0 {
		o.clients = ceil(o.conns, perNode)
	}
	switch {
	case o.conns <= 0 || o.bids <= 0 || o.perUser <= 0 || o.dial <= 0:
		return o, &benchkit.UsageError{Msg: "bench sse: --conns, --bids, --per-user and --dial must be positive", Usage: sseUsage}
	case ceil(o.conns, o.nodes) > 19500 || ceil(o.conns, o.clients) > 19500:
		return o, &benchkit.UsageError{Msg: "bench sse: a process may open 20,000 files here: use more --nodes or --clients", Usage: sseUsage}
	case o.clientNice < 0 || o.clientNice > 19:
		return o, &benchkit.UsageError{Msg: "bench sse: --client-nice must be between 0 and 19", Usage: sseUsage}
	case o.killNode && o.nodes < 2:
		return o, &benchkit.UsageError{Msg: "bench sse: --kill-node needs --nodes 2 or more", Usage: sseUsage}
	case o.stormBids <= 0:
		return o, &benchkit.UsageError{Msg: "bench sse: --storm-bids must be positive", Usage: sseUsage}
	case o.profile != "" && !o.killNode:
		return o, &benchkit.UsageError{Msg: "bench sse: --profile needs --kill-node", Usage: sseUsage}
	case o.victim < 0 || o.victim > o.conns || (o.victim > 0 && !o.killNode):
		return o, &benchkit.UsageError{Msg: "bench sse: --victim needs --kill-node and at most --conns streams", Usage: sseUsage}
	case o.killNode && ceil(o.conns, o.nodes-1) > 19500:
		// After the kill the survivors hold every stream.
		return o, &benchkit.UsageError{Msg: "bench sse: after the kill the survivors hold all --conns streams, and a process may open 20,000 files here: use more --nodes, or fewer --conns with --victim", Usage: sseUsage}
	case o.heartbeat <= 0 || o.idle <= 0:
		return o, &benchkit.UsageError{Msg: "bench sse: --heartbeat and --idle must be positive", Usage: sseUsage}
	}
	return o, nil
}

// Main is `gavel bench sse`; its hidden first arguments client and floor
// are the worker processes it starts. start runs the api node in this
// process.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, start benchkit.StartNode) error {
	if len(args) > 0 {
		switch args[0] {
		case "client":
			return sseClientMain(ctx, args[1:], stdout)
		case "floor":
			return sseFloorMain(ctx, args[1:], stdout)
		}
	}
	o, err := parseSSE(args, stdout)
	if errors.Is(err, benchkit.ErrHelpShown) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.maxRun)
	defer cancel()
	b := &sseBench{o: o, stderr: stderr, started: time.Now(), startNode: start}
	defer b.cleanup()
	return b.run(ctx, getenv, stdout)
}

// sseBench is one run of the coordinator.
type sseBench struct {
	o          sseOpts
	startNode  benchkit.StartNode
	stderr     io.Writer
	started    time.Time
	exe        string
	tmp        string
	dbURL      string
	db         *gorm.DB // the bench's own connection to it, for pg_stat_statements
	natsURL    string
	path       string // the stream every connection watches
	auction    int64  // the auction it streams
	apiURL     string
	cookies    []string  // one per watcher user
	bidders    [2]string // cookies of the two bidders
	rehome     bool      // clients reopen dropped streams with Last-Event-ID
	minNext    int64
	fsync      string
	syncCommit string

	workers      []*sseProc // clients of the realtime nodes
	floorWorkers []*sseProc // clients of the floor servers
	nodes        []*sseProc
	floors       []*sseProc
	undo         []func() // cleanups, run last first
}

func (b *sseBench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench sse %6.1fs: %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
}

func (b *sseBench) cleanup() {
	for _, p := range append(b.workers, b.floorWorkers...) {
		p.stop(syscall.SIGKILL, 5*time.Second)
	}
	for _, p := range append(b.nodes, b.floors...) {
		p.stop(syscall.SIGTERM, 10*time.Second)
	}
	for i := len(b.undo) - 1; i >= 0; i-- {
		b.undo[i]()
	}
}

// setup creates the database, users, NATS, the api node, the auction, the
// sessions and the client processes.
func (b *sseBench) setup(ctx context.Context, getenv func(string) string) error {
	if err := b.prepare(); err != nil {
		return err
	}
	if b.o.profile != "" {
		if err := os.MkdirAll(b.o.profile, 0o755); err != nil {
			return err
		}
	}
	fresh, err := benchkit.OpenFresh(ctx, getenv, "bench sse", "make bench-sse")
	if err != nil {
		return err
	}
	b.undo = append(b.undo, fresh.Close)
	db, dbURL := fresh.DB, fresh.URL
	b.dbURL, b.db = dbURL, db
	db.Raw("SHOW fsync").Scan(&b.fsync)
	db.Raw("SHOW synchronous_commit").Scan(&b.syncCommit)
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.SetMaxOpenConns(8) // six realtime nodes and the api node share max_connections
	}
	log := slog.New(slog.NewTextHandler(b.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc := bidding.New(db, bidding.Options{PasswordCost: bcrypt.MinCost, Logger: log})
	b.undo = append(b.undo, func() { _ = svc.Close(context.Background()) })

	emails, users, err := b.seed(ctx, svc)
	if err != nil {
		return err
	}

	ns, err := natsserver.Start(natsserver.Options{StoreDir: filepath.Join(b.tmp, "nats"), Port: -1})
	if err != nil {
		return err
	}
	b.undo = append(b.undo, func() { ns.Shutdown(); ns.WaitForShutdown() })
	b.natsURL = ns.ClientURL()
	cfg := config.Default()
	cfg.Addr, cfg.Role, cfg.DatabaseURL, cfg.NATSURL = "127.0.0.1:0", config.RoleAPI, dbURL, b.natsURL
	cfg.DataDir, cfg.Demo, cfg.NodeName = filepath.Join(b.tmp, "api"), config.DemoOff, "bench-api"
	api, err := b.startNode(ctx, cfg, log)
	if err != nil {
		return err
	}
	b.undo = append(b.undo, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = api.Shutdown(sctx)
	})
	b.apiURL = api.URL()

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	if err := b.loginAll(ctx, emails, users, func(int) *http.Client { return client }); err != nil {
		return err
	}
	return b.startClients(ctx)
}

func (b *sseBench) login(ctx context.Context, client *http.Client, email string) (string, error) {
	body := fmt.Sprintf(`{"email":%q,"password":"bench-password"}`, email)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.apiURL+"/api/v1/session", strings.NewReader(body))
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
		return "", fmt.Errorf("login %s: %s", email, resp.Status)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "gavel_session" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("login %s: no session cookie", email)
}

// api makes one JSON request to the api node and decodes the answer.
func (b *sseBench) api(ctx context.Context, method, path, cookie string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = strings.NewReader(string(j))
	}
	req, err := http.NewRequestWithContext(ctx, method, b.apiURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	if resp.StatusCode != want {
		return &apiStatusError{status: resp.StatusCode, body: string(raw)}
	}
	return nil
}

type apiStatusError struct {
	status int
	body   string
}

func (e *apiStatusError) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.body) }

// placeBid raises the price by one increment, alternating two bidders so
// that every bid is a price change, and returns the auction's new seq.
func (b *sseBench) placeBid(ctx context.Context, n int) (int64, error) {
	for range 5 {
		var rc struct {
			Seq        int64 `json:"seq"`
			MinNextBid int64 `json:"min_next_bid"`
		}
		err := b.api(ctx, http.MethodPost, strings.Replace(b.path, "/stream/", "/api/v1/", 1)+"/bids", b.bidders[n%2],
			map[string]int64{"amount": b.minNext}, http.StatusCreated, &rc)
		if rc.MinNextBid > 0 {
			b.minNext = rc.MinNextBid
		}
		if se, ok := errors.AsType[*apiStatusError](err); ok && se.status == http.StatusConflict {
			continue
		}
		return rc.Seq, err
	}
	return 0, errors.New("bid: conflict five times in a row")
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, f func(int) error) error {
	var mu sync.Mutex
	var first error
	next := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil || i >= n || ctx.Err() != nil
				mu.Unlock()
				if stop {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					first = cmpOr(first, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return cmpOr(first, ctx.Err())
}

func cmpOr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// sseNodeStat is one realtime node's numbers.
type sseNodeStat struct {
	name                      string
	held                      float64
	snapReqs, snapReads       float64 // snapshot requests and Log reads while connecting
	rssBase, rssConn, rssIdle int64
	files                     int     // open files with every stream connected
	cpu, cpuShort, cpuEmpty   float64 // % of one core while idle; cpuEmpty before any stream
	delivered, slow, rejected float64
	logLines                  []string
}

// sseConnected is the outcome of one connect phase.
type sseConnected struct {
	held, failed, retries int64
	errs                  map[string]int64
	took                  time.Duration
}

// sseDelivery is the outcome of one delivery track (Gavel or floor).
type sseDelivery struct {
	expected        int64 // streams × events
	received        int64
	lat, fan        []int32         // every delivery: arrival − commit, arrival − server_time (µs)
	rates           []float64       // per event: deliveries ÷ (last arrival − commit)
	spans           []time.Duration // per event: commit → last arrival
	gaps, dups      int64
	dropped         int64
	loops           []time.Duration // floor: longest write loop of each frame
	shortWrites     int64
	perEventLatency [][3]int32 // per event p50, p99, max (µs)
	perEventEncode  []int32    // per event: the latest commit → node encode (µs)
}

// sseResult is everything the report shows.
type sseResult struct {
	srcs          int
	conn          sseConnected
	floorConn     sseConnected
	connShort     sseConnected
	nodes         []sseNodeStat
	hbRate        float64 // heartbeats/s the clients received in the idle window
	hbShortRate   float64
	busy          float64 // machine CPU busy during the main idle window, % of all cores
	busyDeliver   float64 // the same during delivery
	gavel, floor  *sseDelivery
	fsync, syncCm string
	load0, load1  string
}

// sseTrack is one set of streams and how to make their next event.
type sseTrack struct {
	name    string
	workers []*sseProc
	fire    func() (int64, error)
	seqs    []int64
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
