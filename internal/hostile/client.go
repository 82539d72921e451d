package hostile

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Every client IP the suite uses is a loopback address of its own
// (127.0.0.0/8 all reaches the node), so the node's per-IP limits apply
// as they would to separate people: a setup step never spends the budget
// of the attack it prepares, and a flood from one address is one address.

// ipPool hands out distinct loopback addresses, 127.1.0.1 onwards.
type ipPool struct{ next atomic.Uint32 }

func (p *ipPool) take() net.IP {
	n := p.next.Add(1)
	return net.IPv4(127, byte(1+n>>16), byte(n>>8), byte(n))
}

// client sends requests from one source address.
type client struct {
	base string
	ip   net.IP
	hc   *http.Client
}

func newClient(base string, ip net.IP, conns int) *client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	tr := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true,
		IdleConnTimeout:     30 * time.Second,
	}
	return &client{base: base, ip: ip, hc: &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// request is one request of the suite.
type request struct {
	Method, Path string
	Body         string
	// ContentType defaults to application/json when there is a body.
	ContentType string
	Header      map[string]string
	Cookie      string // gavel_session; noCookie sends none even for a logged-in actor
}

// noCookie is a request's Cookie when it must go without a session.
const noCookie = "-"

// response is what came back, the body capped at maxBody.
type response struct {
	Status int
	Header http.Header
	Body   string
	Took   time.Duration
	Err    error
}

const maxBody = 1 << 20

func (c *client) do(ctx context.Context, r request) response {
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, c.base+r.Path, body)
	if err != nil {
		return response{Err: err}
	}
	if r.Body != "" {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	if r.Cookie != "" && r.Cookie != noCookie {
		req.Header.Set("Cookie", "gavel_session="+r.Cookie)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{Err: err, Took: time.Since(start)}
	}
	defer resp.Body.Close()
	out := response{Status: resp.StatusCode, Header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		out.Body = readFirstEvent(resp.Body)
	} else {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		out.Body, out.Err = string(b), err
	}
	out.Took = time.Since(start)
	return out
}

// readFirstEvent reads a stream up to its first event (the snapshot), at
// most 3 s: enough to see what a stream tells a viewer.
func readFirstEvent(r io.ReadCloser) string {
	var b strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		br := bufio.NewReader(io.LimitReader(r, maxBody))
		for {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil || (line == "\n" && strings.Contains(b.String(), "data:")) {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		r.Close()
		<-done
	}
	return b.String()
}

// sessionCookie returns the gavel_session value a response set.
func sessionCookie(h http.Header) string {
	for _, sc := range h.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(sc, "gavel_session="); ok {
			v, _, _ = strings.Cut(v, ";")
			return v
		}
	}
	return ""
}

// rawExchange writes raw bytes on a fresh connection from ip and returns
// what the node answers (the status line and what follows), reading at
// most max bytes for up to wait.
func rawExchange(addr string, ip net.IP, raw []byte, wait time.Duration) (string, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(wait))
	var werr error
	var wg sync.WaitGroup
	wg.Go(func() { _, werr = conn.Write(raw) })
	// One response is the answer: reading on would wait for the node to
	// close a connection it may rightly keep open.
	resp, rerr := http.ReadResponse(bufio.NewReader(io.LimitReader(conn, 1<<20)), nil)
	if rerr != nil {
		_ = conn.Close()
		wg.Wait()
		return "", fmt.Errorf("no answer (write: %v, read: %v)", werr, rerr)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	_ = conn.Close()
	wg.Wait()
	return fmt.Sprintf("HTTP/1.1 %d %s\r\n\r\n%s", resp.StatusCode, http.StatusText(resp.StatusCode), body), nil
}

// statusOf returns the status code of a raw HTTP answer, or 0.
func statusOf(raw string) int {
	var code int
	if _, err := fmt.Sscanf(raw, "HTTP/1.1 %d", &code); err != nil {
		return 0
	}
	return code
}
