package hostile

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pageLatency fetches GET / n times in a row and returns the median and
// the 90th percentile.
func pageLatency(ctx context.Context, c *client, n int) (median, p90 time.Duration, failed int) {
	var d []time.Duration
	for range n {
		resp := c.do(ctx, request{Method: "GET", Path: "/"})
		if resp.Status != 200 {
			failed++
			continue
		}
		d = append(d, resp.Took)
	}
	if len(d) == 0 {
		return 0, 0, failed
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*9/10], failed
}

// maxLatencyRatio is the bound on page latency during a login flood,
// against idle.
const maxLatencyRatio = 2.0

// loginLatency measures GET / idle, then during a login flood that makes
// the node check a password for every request (distinct unknown emails
// from many addresses, so no limit stops it): password hashing is bounded
// per node, so pages must stay within 2× of idle. The baseline, in the
// same run, is a node of its own whose hashing is not bounded
// (GAVEL_HASH_CONCURRENCY=1024), as every node was before. On a shared
// machine the figure is noisy, so only the full run judges it.
func (r *runner) loginLatency(ctx context.Context) (int, string, []string) {
	samples := r.scale(60, 20)
	bounded := r.floodLatency(ctx, r.w.node.URL, samples)
	var failures []string
	if bounded.failed > 0 {
		failures = append(failures, fmt.Sprintf("%d page requests failed during the login flood", bounded.failed))
	}
	if !r.o.Short && bounded.ratio() > maxLatencyRatio {
		failures = append(failures, fmt.Sprintf("page latency during the login flood is %.2f× idle, over %.0f×", bounded.ratio(), maxLatencyRatio))
	}
	summary := "bounded hashing: " + bounded.String()
	requests := bounded.requests
	if !r.o.Short {
		node, err := StartNode(ctx, NodeOptions{Gavel: r.o.Gavel, Env: []string{"GAVEL_HASH_CONCURRENCY=1024", "GAVEL_MAX_CONNS_PER_IP=0"}})
		if err != nil {
			return requests, summary, append(failures, "baseline node: "+err.Error())
		}
		unbounded := r.floodLatency(ctx, node.URL, samples)
		node.Stop()
		summary += "; baseline, unbounded hashing (GAVEL_HASH_CONCURRENCY=1024): " + unbounded.String()
		requests += unbounded.requests
	}
	return requests, summary, failures
}

// latencyRun is GET / latency on one node, idle and under a login flood.
type latencyRun struct {
	idle, idle90, flood, flood90 time.Duration
	checksPerSec                 float64
	busy, other                  int64
	failed, requests             int
}

func (l latencyRun) ratio() float64 {
	return float64(l.flood) / float64(max(l.idle, time.Microsecond))
}

func (l latencyRun) String() string {
	return fmt.Sprintf("GET / median %s idle (p90 %s), %s during the flood (p90 %s): %.2f×; %.0f password checks/s, %d×503 busy, %d other",
		l.idle.Round(10*time.Microsecond), l.idle90.Round(10*time.Microsecond), l.flood.Round(10*time.Microsecond), l.flood90.Round(10*time.Microsecond),
		l.ratio(), l.checksPerSec, l.busy, l.other)
}

// floodLatency measures GET / on the node at base idle, then while 24
// clients log in with distinct unknown emails, each from addresses of
// its own.
func (r *runner) floodLatency(ctx context.Context, base string, samples int) latencyRun {
	c := newClient(base, r.w.pool.take(), 1)
	defer c.close()
	var l latencyRun
	pageLatency(ctx, c, 5) // warm up
	l.idle, l.idle90, _ = pageLatency(ctx, c, samples)

	fctx, stop := context.WithCancel(ctx)
	var logins, busy, refused atomic.Int64
	var seq atomic.Int64
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() {
			for fctx.Err() == nil {
				fc := newClient(base, r.w.pool.take(), 1)
				for range 25 {
					k := seq.Add(1)
					resp := fc.do(fctx, request{Method: "POST", Path: "/api/v1/session", Body: loginBody(fmt.Sprintf("latency%d-%s@hostile.example", k, r.w.tag), "wrong password")})
					switch resp.Status {
					case 401:
						logins.Add(1)
					case 503:
						busy.Add(1)
					case 0:
					default:
						refused.Add(1)
					}
				}
				fc.close()
			}
		})
	}
	time.Sleep(time.Second)
	start := time.Now()
	l.flood, l.flood90, l.failed = pageLatency(ctx, c, samples)
	took := time.Since(start)
	checked := logins.Load()
	stop()
	wg.Wait()
	l.checksPerSec = float64(checked) / took.Seconds()
	l.busy, l.other = busy.Load(), refused.Load()
	l.requests = 2*samples + int(checked+l.busy+l.other)
	return l
}

// emfile starts nodes of its own with few file descriptors and floods
// them: one whose connection cap is set above its file limit, so that
// accept fails with "too many open files" (it must keep retrying, and
// serve again once the flood ends, as fasthttp alone did not), and one
// with the automatic cap, which must refuse the surplus with 503 before
// running out.
func (r *runner) emfile(ctx context.Context) (int, string, []string) {
	const files = 384
	var failures []string
	var summary []string
	n := 0
	for _, tc := range []struct {
		name, maxConns string
		wantErrors     bool
	}{
		{"cap above the file limit", "4000", true},
		{"automatic cap", "auto", false},
	} {
		node, err := StartNode(ctx, NodeOptions{Gavel: r.o.Gavel, FileLimit: files,
			Env: []string{"GAVEL_MAX_CONNS=" + tc.maxConns, "GAVEL_MAX_CONNS_PER_IP=0"}})
		if err != nil {
			return n, "", append(failures, fmt.Sprintf("%s: %v", tc.name, err))
		}
		addr := strings.TrimPrefix(node.URL, "http://")
		var ips []net.IP
		for range 4 {
			ips = append(ips, r.w.pool.take())
		}
		conns, refused, errs := openConns(addr, ips, files+200)
		n += files + 200
		closeAll(conns)
		c := newClient(node.URL, r.w.pool.take(), 1)
		deadline := time.Now().Add(30 * time.Second)
		var resp response
		for time.Now().Before(deadline) {
			if resp = c.do(ctx, request{Method: "GET", Path: "/healthz"}); resp.Status == 200 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		c.close()
		m, _ := node.Metrics()
		acceptErrors := m["gavel_accept_errors_total"]
		if exited, err := node.Exited(); exited {
			failures = append(failures, fmt.Sprintf("%s: the node exited (%v):\n%s", tc.name, err, node.LogTail(20)))
		} else if resp.Status != 200 {
			failures = append(failures, fmt.Sprintf("%s: after the flood GET /healthz got %d %v: the node stopped serving", tc.name, resp.Status, resp.Err))
		}
		if tc.wantErrors && acceptErrors == 0 {
			failures = append(failures, fmt.Sprintf("%s: no accept error was counted; the flood did not reach the file limit", tc.name))
		}
		if !tc.wantErrors && (acceptErrors > 0 || refused[503] == 0) {
			failures = append(failures, fmt.Sprintf("%s: %.0f accept errors and %d×503; want the cap to refuse before the files run out", tc.name, acceptErrors, refused[503]))
		}
		summary = append(summary, fmt.Sprintf("%s: %d held, %d×503, %d failed dials, %.0f accept errors retried, serving after", tc.name, len(conns), refused[503], errs, acceptErrors))
		node.Stop()
	}
	return n, fmt.Sprintf("open-file limit %d; %s", files, strings.Join(summary, "; ")), failures
}
