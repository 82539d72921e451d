// Package netguard wraps a TCP listener so that a flood of connections
// cannot stop a node from serving. Its Accept retries when the process is
// out of file descriptors, as net/http's Serve does (fasthttp's would
// return, and the node would stay up but deaf); it caps the open
// connections of the node below the file limit, so the database, NATS and
// files always have descriptors, and of each client IP, so that one client
// cannot take them all. A refused connection gets a canned 503 (node full)
// or 429 (its IP over the cap) with Retry-After, then is closed.
package netguard

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options configure a Listener. Zero values mean no cap.
type Options struct {
	// MaxConns caps the node's open connections, hijacked streams
	// included: they are counted until they are closed.
	MaxConns int
	// MaxConnsPerIP caps the open connections of one remote IP. Leave it
	// 0 behind a proxy, whose address every client shares.
	MaxConnsPerIP int
	// RetryAfter is the Retry-After of the canned refusals; default 1s.
	RetryAfter time.Duration
	// Logger reports accept errors (at most once per second) and
	// refusals; default slog.Default().
	Logger *slog.Logger
}

// Stats are a Listener's counters.
type Stats struct {
	Open         int64 // connections accepted and not yet closed
	RefusedNode  int64 // refused because the node was at MaxConns
	RefusedIP    int64 // refused because the IP was at MaxConnsPerIP
	AcceptErrors int64 // temporary accept errors retried (EMFILE and the like)
}

// Backoff of Accept after a temporary error, as net/http's Serve.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
	// maxRefusing bounds the goroutines writing canned refusals; past it
	// a refused connection is closed without an answer.
	maxRefusing = 64
	// refuseTimeout bounds writing a refusal and reading what the client
	// sent meanwhile (so that closing does not reset the connection
	// before the client has read the answer).
	refuseTimeout = time.Second
	// maxRefuseDrain bounds how much of a refused client's request is
	// read before closing.
	maxRefuseDrain = 16 << 10
	// lingerTimeout and lingerDrain bound what a closing connection reads
	// and throws away (Close): enough for the rest of a refused 16 MiB
	// upload on a fast link, never long enough to matter to the caps.
	lingerTimeout = 2 * time.Second
	lingerDrain   = 32 << 20
)

// Listener is a net.Listener with caps and a resilient Accept.
type Listener struct {
	net.Listener
	opts Options
	log  *slog.Logger

	mu    sync.Mutex // guards perIP
	perIP map[netip.Addr]int

	open, refusedNode, refusedIP, acceptErrors atomic.Int64
	refusing                                   chan struct{}
	lastLog                                    atomic.Int64 // unix nanos of the last accept-error log

	// sleep is time.Sleep; tests replace it.
	sleep func(time.Duration)
}

// Wrap returns ln with o's caps.
func Wrap(ln net.Listener, o Options) *Listener {
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Listener{
		Listener: ln,
		opts:     o,
		log:      o.Logger,
		perIP:    map[netip.Addr]int{},
		refusing: make(chan struct{}, maxRefusing),
		sleep:    time.Sleep,
	}
}

// Stats returns the listener's counters.
func (l *Listener) Stats() Stats {
	return Stats{Open: l.open.Load(), RefusedNode: l.refusedNode.Load(), RefusedIP: l.refusedIP.Load(), AcceptErrors: l.acceptErrors.Load()}
}

// Accept waits for the next connection within the caps. It returns an
// error only when the listener is closed or fails for good; running out of
// file descriptors only makes it wait and retry.
func (l *Listener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !Temporary(err) {
				return nil, err
			}
			l.acceptErrors.Add(1)
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			l.logAcceptError(err, backoff)
			l.sleep(backoff)
			continue
		}
		backoff = 0
		if gc, ok := l.admit(c); ok {
			return gc, nil
		}
	}
}

// Temporary reports whether an Accept error passes once connections or
// descriptors are freed: out of files, buffers or memory, or a timeout.
func Temporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (l *Listener) logAcceptError(err error, backoff time.Duration) {
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(time.Second) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	l.log.Error("accept failed; retrying", slog.Any("err", err), slog.Duration("backoff", backoff),
		slog.Int64("open_conns", l.open.Load()))
}

// admit counts c in, or refuses it when a cap is reached.
func (l *Listener) admit(c net.Conn) (net.Conn, bool) {
	ip := remoteIP(c)
	if l.opts.MaxConns > 0 && l.open.Load() >= int64(l.opts.MaxConns) {
		l.refusedNode.Add(1)
		l.refuse(c, respNodeFull(l.opts.RetryAfter))
		return nil, false
	}
	if l.opts.MaxConnsPerIP > 0 && ip.IsValid() {
		l.mu.Lock()
		n := l.perIP[ip]
		if n >= l.opts.MaxConnsPerIP {
			l.mu.Unlock()
			l.refusedIP.Add(1)
			l.refuse(c, respIPFull(l.opts.RetryAfter))
			return nil, false
		}
		l.perIP[ip] = n + 1
		l.mu.Unlock()
	} else {
		ip = netip.Addr{} // not counted per IP
	}
	l.open.Add(1)
	return &conn{Conn: c, l: l, ip: ip}, true
}

// release counts a closed connection out.
func (l *Listener) release(ip netip.Addr) {
	l.open.Add(-1)
	if !ip.IsValid() {
		return
	}
	l.mu.Lock()
	if n := l.perIP[ip] - 1; n > 0 {
		l.perIP[ip] = n
	} else {
		delete(l.perIP, ip)
	}
	l.mu.Unlock()
}

// refuse answers c with resp and closes it, off the accept loop.
func (l *Listener) refuse(c net.Conn, resp []byte) {
	select {
	case l.refusing <- struct{}{}:
	default:
		_ = c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(refuseTimeout))
		if _, err := c.Write(resp); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_, _ = io.CopyN(io.Discard, c, maxRefuseDrain)
	}()
}

func remoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

// conn is an admitted connection; closing it counts it out once.
type conn struct {
	net.Conn
	l        *Listener
	ip       netip.Addr
	once     sync.Once
	detached atomic.Bool
}

// Detach hands the connection's place under the caps to whoever keeps its
// socket past Close: a stream that holds a duplicate of the file descriptor
// and closes the Go connection at once. After Detach, Close closes the
// connection at once (no half-close: the socket lives on in the
// duplicate) and leaves it counted; release counts it out, once, when the
// duplicate is closed. Call it before Close.
func (c *conn) Detach() (release func()) {
	c.detached.Store(true)
	l, ip := c.l, c.ip
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			l.release(ip)
		}
	}
}

// Close closes the connection the way RFC 9112 (9.6) asks of a server
// that closes first: it half-closes, then reads and discards what the
// client still sends, for at most lingerTimeout and lingerDrain bytes,
// before it closes for good. A server that closes with unread data makes
// the kernel answer with a reset, which destroys the answer the client has
// not read yet: 37 of 50 simultaneous photo uploads refused with 503 (too
// many uploads in progress) saw "connection reset by peer" instead of
// their 503 and its Retry-After. The lingering runs in its own goroutine,
// so the server's worker is free at once; the connection keeps its place
// under the caps until it is really closed.
func (c *conn) Close() error {
	if c.detached.Load() {
		return c.Conn.Close()
	}
	tcp, ok := c.Conn.(*net.TCPConn)
	if !ok || tcp.CloseWrite() != nil {
		return c.closeNow()
	}
	go func() {
		_ = tcp.SetReadDeadline(time.Now().Add(lingerTimeout))
		_, _ = io.CopyN(io.Discard, tcp, lingerDrain)
		_ = c.closeNow()
	}()
	return nil
}

func (c *conn) closeNow() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

// SyscallConn exposes the socket, for streams that write without blocking.
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("netguard: connection has no file descriptor")
	}
	return sc.SyscallConn()
}

// CloseWrite half-closes a TCP connection.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("netguard: connection cannot half-close")
}

// respNodeFull and respIPFull are the canned refusals, written before the
// request is read: a problem document as the web layer writes them.
func respNodeFull(retry time.Duration) []byte {
	return cannedResponse(503, "Service Unavailable", "unavailable", "Service unavailable",
		"This server is at its connection limit. Try again in a moment.", retry)
}

func respIPFull(retry time.Duration) []byte {
	return cannedResponse(429, "Too Many Requests", "rate_limited", "Too many requests",
		"Too many connections from your address. Close some and try again.", retry)
}

func cannedResponse(status int, reason, code, title, detail string, retry time.Duration) []byte {
	body := fmt.Sprintf(`{"type":"/problems/%s","title":%q,"status":%d,"detail":%q,"code":%q}`, code, title, status, detail, code)
	secs := max(1, int(math.Ceil(retry.Seconds())))
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nRetry-After: %d\r\n"+
		"Cache-Control: no-store\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", status, reason, secs, len(body), body)
}
