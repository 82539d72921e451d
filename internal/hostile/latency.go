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
// per node, so pages must stay within 2× of idle. On a shared machine the
// figure is noisy, so only the full run judges it.
func (r *runner) loginLatency(ctx context.Context) (int, string, []string) {
	c := newClient(r.w.node.URL, r.w.pool.take(), 1)
	defer c.close()
	samples := r.scale(60, 20)
	pageLatency(ctx, c, 5) // warm up
	idle, idle90, _ := pageLatency(ctx, c, samples)

	fctx, stop := context.WithCancel(ctx)
	var logins, busy, refused atomic.Int64
	var seq atomic.Int64
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() {
			for fctx.Err() == nil {
				fc := newClient(r.w.node.URL, r.w.pool.take(), 1)
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
	flood, flood90, failed := pageLatency(ctx, c, samples)
	took := time.Since(start)
	checked := logins.Load()
	stop()
	wg.Wait()
	ratio := float64(flood) / float64(max(idle, time.Microsecond))
	summary := fmt.Sprintf("GET / median %s idle (p90 %s), %s during the flood (p90 %s): %.2f×; %.0f password checks/s, %d×503 busy, %d other",
		idle.Round(10*time.Microsecond), idle90.Round(10*time.Microsecond), flood.Round(10*time.Microsecond), flood90.Round(10*time.Microsecond),
		ratio, float64(checked)/took.Seconds(), busy.Load(), refused.Load())
	var failures []string
	if failed > 0 {
		failures = append(failures, fmt.Sprintf("%d page requests failed during the login flood", failed))
	}
	if !r.o.Short && ratio > maxLatencyRatio {
		failures = append(failures, fmt.Sprintf("page latency during the login flood is %.2f× idle, over %.0f×", ratio, maxLatencyRatio))
	}
	return 2*samples + int(checked+busy.Load()+refused.Load()), summary, failures
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
