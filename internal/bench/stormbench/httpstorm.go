package stormbench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
	"github.com/gavel-auctions/gavel/internal/config"
)

// httpClientOpts says where the HTTP phases' bidders run.
type httpClientOpts struct {
	nice      int  // nice value of the client process
	inProcess bool // bidders in this process, beside the server (before #18's split)
}

// clientCommand is the binary and arguments of the client process; tests
// replace it with their own binary.
var clientCommand = clientExe

// httpStorm repeats the storm through a real node: JSON POSTs with session
// cookies from real logins, over keep-alive connections, from a client
// process of their own unless hc.inProcess. After the table it reports the
// CPU the server's process and the client's spent per judged bid.
func httpStorm(ctx context.Context, stdout io.Writer, hc httpClientOpts, profiled func(string, time.Duration, func() stormResult) stormResult,
	start benchkit.StartNode, dbURL string, users []domain.User, bidders int,
	d time.Duration, newAuctions func(int) ([]int64, error), db *gorm.DB, spreadN int) error {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DatabaseURL = dbURL
	cfg.DataDir, _ = os.MkdirTemp("", "gavel-bench-")
	defer os.RemoveAll(cfg.DataDir)
	cfg.Demo = config.DemoOff
	// The in-process phases ran with no relay, so their events (one or
	// more per accepted bid, tens of thousands) are still unpublished. The
	// node's relay would publish them all, and its notifier read them,
	// during the HTTP phases, which would then measure that backlog too.
	// In chunks: one UPDATE of ~80,000 rows ran past the database's
	// statement timeout on a loaded machine and ended the bench.
	for {
		res := db.Exec(`UPDATE events SET published_at = now() WHERE id IN
			(SELECT id FROM events WHERE published_at IS NULL ORDER BY id LIMIT 5000)`)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			break
		}
	}
	n, err := start(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer n.Shutdown(context.Background())
	u, err := url.Parse(n.URL())
	if err != nil {
		return err
	}
	cookies := make([]string, bidders)
	for i := range cookies {
		if cookies[i], err = login(n.URL(), users[i].Email); err != nil {
			return err
		}
	}
	phase, closeClient, where, err := httpBidders(ctx, hc, u.Host, cookies)
	if err != nil {
		return err
	}
	defer closeClient()
	var cpu strings.Builder
	for _, ph := range []struct {
		name string
		n    int
	}{{"HTTP with sessions, hot auction", 1}, {fmt.Sprintf("HTTP with sessions, %d auctions", spreadN), spreadN}} {
		ids, err := newAuctions(ph.n)
		if err != nil {
			return err
		}
		var acked *ackSet
		var clientCPU time.Duration
		server0, machine0 := selfCPU(), benchkit.ReadMachineCPU()
		r := profiled(ph.name, d, func() stormResult {
			var r stormResult
			r, acked, clientCPU, err = phase(ph.name, d, ids)
			return r
		})
		serverCPU, machine := selfCPU()-server0, benchkit.ReadMachineCPU().Since(machine0)
		if err != nil {
			return err
		}
		r.lost = countLost(db, r, acked)
		fmt.Fprintln(stdout, r.row())
		judged := r.accepted + r.rejected
		fmt.Fprintf(&cpu, "- %s: %s; %s; %s\n", ph.name,
			cpuLine("server process", serverCPU, r.elapsed, judged), cpuLine(where, clientCPU, r.elapsed, judged), machine)
	}
	fmt.Fprintf(stdout, "\nCPU of the HTTP phases (%% of one core; %d cores):\n\n%s", runtime.NumCPU(), cpu.String())
	return nil
}

// cpuLine is one process's CPU in a phase: its share of one core and its
// time per judged bid.
func cpuLine(who string, cpu, elapsed time.Duration, judged int64) string {
	if cpu < 0 {
		return who + " not measured apart"
	}
	per := time.Duration(0)
	if judged > 0 {
		per = cpu / time.Duration(judged)
	}
	return fmt.Sprintf("%s %.0f%% of a core, %s CPU per judged bid", who, 100*cpu.Seconds()/elapsed.Seconds(), per.Round(100*time.Nanosecond))
}

// httpPhase runs one HTTP phase on the given auctions for d, and returns
// its result, the acknowledged bids and the client's CPU (negative when
// the client shares the server's process and is counted there).
type httpPhase func(name string, d time.Duration, auctions []int64) (stormResult, *ackSet, time.Duration, error)

// httpBidders prepares the HTTP phases' bidders, one connection per cookie
// to addr: in a client process of their own, or in this one. where names
// them for the report.
func httpBidders(ctx context.Context, hc httpClientOpts, addr string, cookies []string) (run httpPhase, closeFn func(), where string, err error) {
	if hc.inProcess {
		conns := make([]*bidConn, len(cookies))
		for i, c := range cookies {
			conns[i] = &bidConn{addr: addr, cookie: c}
		}
		run = func(name string, d time.Duration, auctions []int64) (stormResult, *ackSet, time.Duration, error) {
			acked := &ackSet{}
			r := runStorm(ctx, name, len(conns), d, auctions, acked.wrap(func(ctx context.Context, w int, auction, amount int64) (int64, bool, error) {
				return postBid(ctx, conns[w], auction, amount)
			}))
			return r, acked, -1, nil
		}
		closeFn = func() {
			for _, c := range conns {
				c.close()
			}
		}
		return run, closeFn, "bidders (in the server's process)", nil
	}
	exe, args, err := clientCommand()
	if err != nil {
		return nil, nil, "", err
	}
	p, err := startClient(ctx, exe, args, hc.nice, os.Stderr)
	if err != nil {
		return nil, nil, "", err
	}
	if _, err := p.call(clientCmd{Op: "setup", Addr: addr, Cookies: cookies}); err != nil {
		p.stop()
		return nil, nil, "", err
	}
	run = func(name string, d time.Duration, auctions []int64) (stormResult, *ackSet, time.Duration, error) {
		rep, err := p.call(clientCmd{Op: "phase", Name: name, Auctions: auctions, Duration: d})
		if err != nil {
			return stormResult{name: name}, nil, 0, err
		}
		r := stormResult{name: name, accepted: rep.Accepted, rejected: rep.Rejected, errors: rep.Errors, elapsed: rep.Elapsed,
			latencies: make([]time.Duration, len(rep.LatencyUS))}
		for i, us := range rep.LatencyUS {
			r.latencies[i] = time.Duration(us) * time.Microsecond
		}
		if rep.FirstErr != "" {
			r.name += " (first error: " + rep.FirstErr + ")"
		}
		return r, &ackSet{ids: rep.Acked}, rep.CPU, nil
	}
	return run, p.stop, fmt.Sprintf("client process (nice %d)", hc.nice), nil
}
