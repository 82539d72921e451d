package chaos

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is the browser-facing side of the loopback cluster, doing what
// Caddy does in docker-compose.yml (deploy/Caddyfile): /stream/* to the
// realtime nodes, least connections first, flushing every event at once;
// everything else to the API nodes in turn, trying another when one does
// not answer. Both skip a node whose /readyz fails. It speaks HTTP/1.1
// only: no TLS, no HTTP/2.
type Proxy struct {
	srv     *http.Server
	streams []*upstream
	api     []*upstream
	next    atomic.Uint64
	stop    chan struct{}
	wg      sync.WaitGroup
}

type upstream struct {
	url   *url.URL
	proxy *httputil.ReverseProxy
	open  atomic.Int64 // open streams
	down  atomic.Bool
}

// Health checks, as in the Caddyfile (which checks every 5s; a person
// trying a kill here should not wait that long).
const (
	healthEvery   = time.Second
	healthTimeout = 2 * time.Second
)

// StartProxy serves addr in front of nodes.
func StartProxy(addr string, nodes []*NodeProc) (*Proxy, error) {
	p := &Proxy{stop: make(chan struct{})}
	for _, n := range nodes {
		u, err := url.Parse(n.URL)
		if err != nil {
			return nil, err
		}
		up := &upstream{url: u}
		up.proxy = httputil.NewSingleHostReverseProxy(u)
		up.proxy.FlushInterval = -1
		up.proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			// Retried by ServeHTTP when nothing was sent; this is a node
			// that failed mid-answer.
			http.Error(w, "The server went away; please try again.", http.StatusBadGateway)
		}
		if n.ServesStreams() {
			p.streams = append(p.streams, up)
		}
		if n.ServesAPI() {
			p.api = append(p.api, up)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p.srv = &http.Server{Addr: ln.Addr().String(), Handler: p, ReadHeaderTimeout: 15 * time.Second}
	p.wg.Go(func() { _ = p.srv.Serve(ln) })
	p.wg.Go(p.checkHealth)
	return p, nil
}

// URL is where a browser goes.
func (p *Proxy) URL() string { return "http://" + p.srv.Addr }

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/stream/") {
		up := p.leastConn()
		if up == nil {
			http.Error(w, "No realtime node is up.", http.StatusServiceUnavailable)
			return
		}
		up.open.Add(1)
		defer up.open.Add(-1)
		up.proxy.ServeHTTP(w, r)
		return
	}
	// Try each API node once, starting with the next in turn, moving on
	// only when one refuses the connection (nothing was sent), as Caddy's
	// lb_try_duration does.
	start := p.next.Add(1)
	for i := range p.api {
		up := p.api[(int(start)+i)%len(p.api)]
		if up.down.Load() && i < len(p.api)-1 {
			continue
		}
		if dialable(up.url.Host) {
			up.proxy.ServeHTTP(w, r)
			return
		}
		up.down.Store(true)
	}
	http.Error(w, "No API node is up.", http.StatusServiceUnavailable)
}

func (p *Proxy) leastConn() *upstream {
	var best *upstream
	for _, up := range p.streams {
		if up.down.Load() {
			continue
		}
		if best == nil || up.open.Load() < best.open.Load() {
			best = up
		}
	}
	return best
}

func dialable(host string) bool {
	c, err := net.DialTimeout("tcp", host, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func (p *Proxy) checkHealth() {
	hc := &http.Client{Timeout: healthTimeout}
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	for {
		for _, up := range append(append([]*upstream(nil), p.api...), p.streams...) {
			res, err := hc.Get(up.url.String() + "/readyz")
			ok := err == nil && res.StatusCode == http.StatusOK
			if err == nil {
				_ = res.Body.Close()
			}
			up.down.Store(!ok)
		}
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

// Close stops the proxy and ends the streams it carries.
func (p *Proxy) Close() {
	close(p.stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = p.srv.Close()
	}
	p.wg.Wait()
}
