package hostile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The world's node runs with these caps, so that a flood reaches them
// without the suite running out of file descriptors itself.
const (
	floodMaxConns      = 600
	floodMaxConnsPerIP = 128
	// loginIPLimit is the node's default login attempts per address per
	// minute (web.DefaultLoginIPLimit).
	loginIPLimit = 30
)

// dialFrom opens a TCP connection from ip.
func dialFrom(addr string, ip net.IP) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	return d.Dial("tcp", addr)
}

// openConns opens n connections, per from ips in turn, each sending the
// first line of a request head and no more. It returns the connections
// and, for those refused at once, their statuses.
func openConns(addr string, ips []net.IP, n int) (conns []net.Conn, refused map[int]int, errs int) {
	refused = map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 128)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := dialFrom(addr, ips[i%len(ips)])
			if err != nil {
				mu.Lock()
				errs++
				mu.Unlock()
				return
			}
			// The head's first line: a node that serves streams accepts a
			// connection once it has sent data (TCP_DEFER_ACCEPT). A
			// refused connection then gets its canned answer at once; an
			// admitted one waits for the rest of its head.
			if _, err := c.Write([]byte("GET / HTTP/1.1\r\n")); err != nil {
				mu.Lock()
				errs++
				mu.Unlock()
				c.Close()
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
			buf := make([]byte, 512)
			k, err := io.ReadAtLeast(c, buf, 12)
			mu.Lock()
			defer mu.Unlock()
			if code := statusOf(string(buf[:k])); code != 0 {
				refused[code]++
				c.Close()
				return
			}
			var ne net.Error
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				// Closed without an answer: the node refuses that way
				// when too many refusals are being written at once.
				refused[-1]++
				c.Close()
				return
			}
			_ = c.SetReadDeadline(time.Time{})
			conns = append(conns, c)
		})
	}
	wg.Wait()
	return conns, refused, errs
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// connFlood opens more connections than one address may hold, then more
// than the node may hold: the surplus gets a canned 429 or 503 with
// Retry-After, and the node serves again once the flood ends.
func (r *runner) connFlood(ctx context.Context) (int, string, []string) {
	addr := strings.TrimPrefix(r.w.node.URL, "http://")
	var failures []string
	// One address over its cap; meanwhile others are served.
	one := []net.IP{r.w.pool.take()}
	conns, refused, errs := openConns(addr, one, floodMaxConnsPerIP+100)
	// Past the cap each connection gets the canned 429, or is closed at
	// once while the node is already writing many refusals.
	if refused[429] == 0 || refused[429]+refused[-1] < 90 {
		failures = append(failures, fmt.Sprintf("one address opened %d connections (cap %d): %d refused with 429 (%v), %d errors", floodMaxConnsPerIP+100, floodMaxConnsPerIP, refused[429], refused, errs))
	}
	c := newClient(r.w.node.URL, r.w.pool.take(), 1)
	if resp := c.do(ctx, request{Method: "GET", Path: "/"}); resp.Status != 200 {
		failures = append(failures, fmt.Sprintf("while one address was at its cap, another got %d %v", resp.Status, resp.Err))
	}
	c.close()
	perIP := len(conns)
	// Many addresses, past the node's cap. An idle connection is closed
	// by the node once its read timeout (15 s) passes, so on a loaded
	// machine not all of them are open at once: the node's own count of
	// refusals is the measure, and the clients must have seen the canned
	// 503 at least once.
	var ips []net.IP
	for range 12 {
		ips = append(ips, r.w.pool.take())
	}
	m0, _ := r.w.node.Metrics()
	total := r.scale(floodMaxConns+300, floodMaxConns+200)
	more, refusedNode, errs2 := openConns(addr, ips, total)
	conns = append(conns, more...)
	m, _ := r.w.node.Metrics()
	closeAll(conns)
	if byNode := m["gavel_conns_refused_node_total"] - m0["gavel_conns_refused_node_total"]; byNode < 50 || refusedNode[503] == 0 {
		failures = append(failures, fmt.Sprintf("%d more connections from 12 addresses (node cap %d, %d open): the node refused %.0f, clients saw %d×503 (%v), %d errors",
			total, floodMaxConns, perIP, byNode, refusedNode[503], refusedNode, errs2))
	}
	summary := fmt.Sprintf("%d+%d connections: %d×429 at the per-IP cap, %d×503 at the node cap (gavel_conns_refused_*: %.0f IP, %.0f node)",
		floodMaxConnsPerIP+100, total, refused[429], refusedNode[503], m["gavel_conns_refused_ip_total"], m["gavel_conns_refused_node_total"])
	return floodMaxConnsPerIP + 100 + total, summary, failures
}

// slowHeaders opens connections that send their request head a byte at a
// time (slowloris): the node keeps serving others, and closes each slow
// connection once its read timeout passes.
func (r *runner) slowHeaders(ctx context.Context) (int, string, []string) {
	addr := strings.TrimPrefix(r.w.node.URL, "http://")
	n := r.scale(floodMaxConnsPerIP, 64)
	ip := r.w.pool.take()
	var conns []net.Conn
	for range n {
		c, err := dialFrom(addr, ip)
		if err != nil {
			break
		}
		_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "))
		conns = append(conns, c)
	}
	var failures []string
	if len(conns) < n {
		failures = append(failures, fmt.Sprintf("opened only %d of %d slow connections", len(conns), n))
	}
	start := time.Now()
	var closed atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
			buf := make([]byte, 1)
			for {
				// One byte a second keeps the head unfinished.
				if _, err := c.Write([]byte("a")); err != nil {
					closed.Add(1)
					return
				}
				_ = c.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := c.Read(buf); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						if time.Since(start) > 60*time.Second {
							return
						}
						continue
					}
					closed.Add(1)
					return
				}
			}
		})
	}
	c := newClient(r.w.node.URL, r.w.pool.take(), 1)
	var slowest time.Duration
	for range 10 {
		resp := c.do(ctx, request{Method: "GET", Path: "/"})
		slowest = max(slowest, resp.Took)
		if resp.Status != 200 {
			failures = append(failures, fmt.Sprintf("during the slow headers GET / got %d %v", resp.Status, resp.Err))
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.close()
	wg.Wait()
	took := time.Since(start)
	if int(closed.Load()) < len(conns) {
		failures = append(failures, fmt.Sprintf("%d of %d slow connections were still open after %s", len(conns)-int(closed.Load()), len(conns), took.Round(time.Second)))
	}
	return len(conns) + 10, fmt.Sprintf("%d slow heads from one address, all closed by the node within %s; GET / meanwhile ≤ %s",
		len(conns), took.Round(time.Second), slowest.Round(time.Millisecond)), failures
}

// loginBody is a login request body.
func loginBody(email, pw string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	return string(b)
}

// limiterFlood fills the login limiters with fresh keys (emails that are
// not text, so no password is hashed, from thousands of addresses, each
// within its own limit) as the reported attack did with 105,000: an
// honest login from an address the limiter has never seen still passes.
func (r *runner) limiterFlood(ctx context.Context) (int, string, []string) {
	keys := r.scale(105_000, 3_000)
	const perIP = 30
	var (
		next     atomic.Int64
		status   sync.Map
		wg       sync.WaitGroup
		failures []string
		mu       sync.Mutex
	)
	start := time.Now()
	for range 32 {
		wg.Go(func() {
			for {
				first := next.Add(perIP) - perIP
				if first >= int64(keys) || ctx.Err() != nil {
					return
				}
				c := newClient(r.w.node.URL, r.w.pool.take(), 1)
				for k := first; k < min(first+perIP, int64(keys)); k++ {
					resp := c.do(ctx, request{Method: "POST", Path: "/api/v1/session", Body: loginBody(fmt.Sprintf("flood\u0001%d-%s@hostile.example", k, r.w.tag), "x")})
					v, _ := status.LoadOrStore(resp.Status, new(atomic.Int64))
					v.(*atomic.Int64).Add(1)
					if resp.Err != nil || resp.Status >= 500 {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("flood login: %d %v", resp.Status, resp.Err))
						mu.Unlock()
					}
				}
				c.close()
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	counts := map[int]int64{}
	status.Range(func(k, v any) bool { counts[k.(int)] = v.(*atomic.Int64).Load(); return true })
	honest := &actor{name: "honest", acct: r.w.actors["rival"].acct, c: newClient(r.w.node.URL, r.w.pool.take(), 1)}
	defer honest.c.close()
	if _, err := r.w.session(ctx, honest); err != nil {
		failures = append(failures, "after the flood an honest login was refused: "+err.Error())
	}
	return keys + 1, fmt.Sprintf("%d fresh keys in %s (%v); then an honest login passed", keys, took.Round(time.Second), counts), uniq(failures)
}

// loginFlood guesses passwords from one address, and against one account
// from many: the address is limited, the account is limited, and neither
// stops anyone else logging in.
func (r *runner) loginFlood(ctx context.Context) (int, string, []string) {
	var failures []string
	n := r.scale(300, 60)
	c := newClient(r.w.node.URL, r.w.pool.take(), 4)
	counts := map[int]int{}
	start := time.Now()
	for i := range n {
		// As reported: many accounts, empty passwords. The short run's
		// emails are not text, so that no password is checked and the
		// run stays short; the address's limit counts them all the same.
		email := fmt.Sprintf("guess%d-%s@hostile.example", i, r.w.tag)
		if r.o.Short {
			email = "guess\u0001" + email
		}
		resp := c.do(ctx, request{Method: "POST", Path: "/api/v1/session", Body: loginBody(email, "")})
		counts[resp.Status]++
		if resp.Status == 429 && resp.Header.Get("Retry-After") == "" {
			failures = append(failures, "a 429 without Retry-After")
		}
	}
	c.close()
	// The address may spend 30 at once, and earns one more every 2 s
	// (30 a minute): on a loaded machine the flood takes long enough for
	// that to count.
	allowed := loginIPLimit + int(time.Since(start)/(time.Minute/loginIPLimit)) + 1
	if n-counts[429] > allowed {
		failures = append(failures, fmt.Sprintf("%d logins from one address in %s: %v; want at most %d admitted (30 at once, then 30 a minute), the rest refused with 429",
			n, time.Since(start).Round(time.Second), counts, allowed))
	}
	// Guesses at one account: from one address they are cut after 10,
	// and the owner, elsewhere, still logs in; from many addresses they
	// meet the account's ceiling (100).
	_, acct, err := r.w.freshUser(ctx)
	if err != nil {
		return n, "", append(failures, err.Error())
	}
	victim := &actor{name: "victim", acct: acct, c: newClient(r.w.node.URL, r.w.pool.take(), 1)}
	defer victim.c.close()
	guesser := newClient(r.w.node.URL, r.w.pool.take(), 1)
	guesses := map[int]int{}
	for range 15 {
		resp := guesser.do(ctx, request{Method: "POST", Path: "/api/v1/session", Body: loginBody(victim.acct.Email, "wrong guess")})
		guesses[resp.Status]++
	}
	guesser.close()
	if guesses[401] != 10 || guesses[429] != 5 {
		failures = append(failures, fmt.Sprintf("15 wrong passwords for one account from one address: %v; want 10×401 then 429", guesses))
	}
	if _, err := r.w.session(ctx, victim); err != nil {
		failures = append(failures, "a guesser locked the owner out: "+err.Error())
	}
	n += 16
	spread := map[int]int{}
	if !r.o.Short {
		for range 110 {
			g := newClient(r.w.node.URL, r.w.pool.take(), 1)
			resp := g.do(ctx, request{Method: "POST", Path: "/api/v1/session", Body: loginBody(victim.acct.Email, "wrong guess")})
			spread[resp.Status]++
			g.close()
		}
		n += 110
		if spread[429] < 10 || spread[401] > 100 {
			failures = append(failures, fmt.Sprintf("110 wrong passwords for one account from 110 addresses: %v; want the account's ceiling (100) to refuse the rest", spread))
		}
	}
	honest := &actor{name: "honest", acct: r.w.actors["bidder"].acct, c: newClient(r.w.node.URL, r.w.pool.take(), 1)}
	defer honest.c.close()
	if _, err := r.w.session(ctx, honest); err != nil {
		failures = append(failures, "during the flood another user could not log in: "+err.Error())
	}
	return n, fmt.Sprintf("one address, many accounts: %v; one account from one address: %v (its owner still logs in); from 110 addresses: %v", counts, guesses, spread), failures
}
