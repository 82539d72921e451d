package netguard

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeListener returns queued errors, then connections.
type fakeListener struct {
	mu    sync.Mutex
	errs  []error
	conns []net.Conn
}

func (f *fakeListener) Accept() (net.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	if len(f.conns) > 0 {
		c := f.conns[0]
		f.conns = f.conns[1:]
		return c, nil
	}
	return nil, net.ErrClosed
}
func (f *fakeListener) Close() error   { return nil }
func (f *fakeListener) Addr() net.Addr { return &net.TCPAddr{} }

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestAcceptRetriesTemporaryErrors(t *testing.T) {
	t.Parallel()
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	enfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ENFILE)}
	server, client := net.Pipe()
	defer client.Close()
	fl := &fakeListener{errs: []error{emfile, emfile, enfile, emfile, emfile, emfile, emfile, emfile, emfile, emfile}, conns: []net.Conn{server}}
	l := Wrap(fl, Options{Logger: quiet()})
	var slept []time.Duration
	l.sleep = func(d time.Duration) { slept = append(slept, d) }
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept = %v, want the connection after the errors", err)
	}
	defer c.Close()
	if len(slept) != 10 || slept[0] != minBackoff || slept[1] != 2*minBackoff || slept[9] != maxBackoff {
		t.Errorf("backoffs = %v, want doubling from %v up to %v", slept, minBackoff, maxBackoff)
	}
	if got := l.Stats().AcceptErrors; got != 10 {
		t.Errorf("AcceptErrors = %d, want 10", got)
	}
	// A closed listener ends Accept.
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on a closed listener = %v, want net.ErrClosed", err)
	}
}

func TestTemporary(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EMFILE)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ENFILE)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ENOBUFS)}, true},
		{net.ErrClosed, false},
		{&net.OpError{Op: "accept", Err: net.ErrClosed}, false},
		{errors.New("something else"), false},
		{io.EOF, false},
	} {
		if got := Temporary(tt.err); got != tt.want {
			t.Errorf("Temporary(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// serve runs a trivial HTTP server on l: each connection reads one request
// and answers "ok". Like fasthttp's Serve it returns on the first Accept
// error, so only l can keep it alive.
func serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				return
			}
			r.Body.Close()
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		}()
	}
}

func listen(t *testing.T, o Options) (*Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Logger = quiet()
	l := Wrap(ln, o)
	t.Cleanup(func() { _ = l.Close() })
	go serve(l)
	return l, ln.Addr().String()
}

// dialFrom opens a connection from the loopback address local.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// get sends a request on c and returns the status and body of the answer.
func get(t *testing.T, c net.Conn) (int, http.Header, string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// waitOpen polls until the listener counts want open connections.
func waitOpen(t *testing.T, l *Listener, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().Open != want {
		if time.Now().After(deadline) {
			t.Fatalf("open = %d, want %d", l.Stats().Open, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNodeCap(t *testing.T) {
	t.Parallel()
	l, addr := listen(t, Options{MaxConns: 2, RetryAfter: 3 * time.Second})
	a := dialFrom(t, "127.0.0.1", addr)
	b := dialFrom(t, "127.0.0.2", addr)
	waitOpen(t, l, 2)
	c := dialFrom(t, "127.0.0.3", addr)
	status, h, body := get(t, c)
	c.Close()
	if status != 503 || h.Get("Retry-After") != "3" || !strings.Contains(body, `"code":"unavailable"`) {
		t.Fatalf("over the node cap: %d %v %s, want 503 with Retry-After 3", status, h, body)
	}
	if got := l.Stats().RefusedNode; got != 1 {
		t.Errorf("RefusedNode = %d, want 1", got)
	}
	// Closing one frees its place.
	a.Close()
	waitOpen(t, l, 1)
	d := dialFrom(t, "127.0.0.3", addr)
	if status, _, body := get(t, d); status != 200 || body != "ok" {
		t.Fatalf("after a close: %d %s, want 200 ok", status, body)
	}
	d.Close()
	b.Close()
	waitOpen(t, l, 0)
}

func TestPerIPCap(t *testing.T) {
	t.Parallel()
	l, addr := listen(t, Options{MaxConnsPerIP: 2})
	var held []net.Conn
	for range 2 {
		held = append(held, dialFrom(t, "127.0.0.4", addr))
	}
	waitOpen(t, l, 2)
	status, h, body := get(t, dialFrom(t, "127.0.0.4", addr))
	if status != 429 || h.Get("Retry-After") == "" || !strings.Contains(body, `"code":"rate_limited"`) {
		t.Fatalf("third connection of one IP: %d %v %s, want 429 with Retry-After", status, h, body)
	}
	// Another IP is not affected.
	if status, _, _ := get(t, dialFrom(t, "127.0.0.5", addr)); status != 200 {
		t.Fatalf("another IP: %d, want 200", status)
	}
	for _, c := range held {
		c.Close()
	}
	waitOpen(t, l, 0)
	if status, _, _ := get(t, dialFrom(t, "127.0.0.4", addr)); status != 200 {
		t.Fatalf("the IP after closing: %d, want 200", status)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.perIP) > 1 {
		t.Errorf("perIP keeps %d addresses after their connections closed", len(l.perIP))
	}
}

// childEnv makes the test binary run emfileChild instead of the tests.
const childEnv = "NETGUARD_EMFILE_CHILD"

// TestMain lets the EMFILE test re-run this binary as a server with a low
// file limit, so that only the child runs out of descriptors.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		emfileChild(os.Getenv(childEnv) == "wrapped")
		return
	}
	os.Exit(m.Run())
}

// emfileChild serves with 64 file descriptors until stdin closes.
func emfileChild(wrapped bool) {
	lim := syscall.Rlimit{Cur: 64, Max: 64}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	var l net.Listener = ln
	if wrapped {
		l = Wrap(ln, Options{Logger: quiet()})
	}
	fmt.Println(ln.Addr().String())
	go serve(l)
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// A server that runs out of file descriptors serves again once
// connections close: Accept waits out EMFILE instead of failing.
func TestSurvivesEMFILE(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=wrapped")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(line)
	if _, err := net.ResolveTCPAddr("tcp", addr); err != nil {
		t.Fatalf("child: %s", line)
	}
	// 100 idle connections: the child has 64 descriptors, so its accept
	// fails with EMFILE once ~55 are open.
	var flood []net.Conn
	for range 100 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		flood = append(flood, c)
	}
	time.Sleep(200 * time.Millisecond) // let the child hit EMFILE
	for _, c := range flood {
		c.Close()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			res, rerr := http.ReadResponse(bufio.NewReader(c), nil)
			c.Close()
			if rerr == nil && res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the server never served again after running out of file descriptors")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRefusalBeforeTheBodyIsRead: a server that answers before reading a
// large body and closes (a refused upload) must not reset the connection
// under the client, which would lose the answer and its Retry-After.
func TestRefusalBeforeTheBodyIsRead(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Wrap(ln, Options{Logger: quiet()})
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		_, _ = io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy")
		_ = c.Close()
	}()
	// Go's client, like most, writes the whole body before it reads the
	// answer: a reset while it writes is all it reports.
	const size = 8 << 20
	client := &http.Client{Timeout: 20 * time.Second}
	res, err := client.Post("http://"+ln.Addr().String()+"/photos", "image/jpeg", io.LimitReader(zeros{}, size))
	if err != nil {
		t.Fatalf("the client lost the refusal: %v", err)
	}
	defer res.Body.Close()
	if b, _ := io.ReadAll(res.Body); res.StatusCode != 503 || res.Header.Get("Retry-After") != "5" || string(b) != "busy" {
		t.Fatalf("got %d %v %q, want the 503 with Retry-After", res.StatusCode, res.Header, b)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
