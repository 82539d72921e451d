package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// gzipBomb returns n zero bytes under layers of gzip: 4 MiB is a few
// hundred bytes on the wire.
func gzipBomb(tb testing.TB, n, layers int) []byte {
	tb.Helper()
	data := make([]byte, n)
	for range layers {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(data)
		_ = zw.Close()
		data = buf.Bytes()
	}
	return data
}

// A compressed body is refused before anything inflates it, whatever the
// route reads it with: JSON, a urlencoded form, or a multipart form (which
// fasthttp would gunzip on its own).
func TestCompressedBodyRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bomb := string(gzipBomb(t, 4<<20, 2))
	for _, enc := range []string{"gzip", "gzip, gzip", "deflate", "br", "GZIP", "x-custom"} {
		for _, tt := range []struct{ path, ctype string }{
			{"/api/v1/users", "application/json"},
			{"/login", "application/x-www-form-urlencoded"},
			{"/login", "multipart/form-data; boundary=xyz"},
		} {
			t.Run(enc+" "+tt.path+" "+tt.ctype, func(t *testing.T) {
				r := e.with(t).do(req{method: "POST", path: tt.path, body: bomb, contentType: tt.ctype,
					header: map[string]string{"Content-Encoding": enc}})
				r.wantProblemOrPage(t, 415)
			})
		}
	}
	r := e.do(req{method: "POST", path: "/api/v1/users", body: `{"email":"a@example.com","password":"correct horse","name":"A"}`,
		header: map[string]string{"Content-Encoding": "identity"}})
	r.wantStatus(t, 201)
}

// wantProblemOrPage checks the status of an API or page refusal.
func (r resp) wantProblemOrPage(t *testing.T, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d\n%s", r.status, status, r.body)
	}
}

// rawExchange sends raw bytes to the server at addr and returns the first
// response and whether the server then closed the connection.
func rawExchange(t *testing.T, addr string, request string) (*http.Response, []byte, bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// A second response (a smuggled request answered) or EOF.
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	rest, err := io.ReadAll(br)
	// Closing with unread bytes in its receive buffer makes the server's
	// kernel reset the connection: that is a close too.
	closed := (err == nil && len(rest) == 0) || errors.Is(err, syscall.ECONNRESET)
	if len(rest) > 0 {
		t.Errorf("the server answered more than one request: %q", rest)
	}
	return res, body, closed
}

// Ambiguous framing is refused with 400 and the connection closed, so a
// request hidden in the body is never served.
func TestAmbiguousFramingRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := strings.TrimPrefix(e.listen(), "http://")
	smuggled := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	body := `{"email":"a@example.com","password":"correct horse","name":"A"}`
	tests := []struct{ name, head string }{
		{"two Content-Length", fmt.Sprintf("Content-Length: %d\r\nContent-Length: %d\r\n", len(body), len(body)+len(smuggled))},
		{"Content-Length twice, same value", fmt.Sprintf("Content-Length: %d\r\nContent-Length: %d\r\n", len(body), len(body))},
		{"Content-Length and Transfer-Encoding", fmt.Sprintf("Content-Length: %d\r\nTransfer-Encoding: chunked\r\n", len(body))},
		{"Transfer-Encoding gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, got, closed := rawExchange(t, addr, "POST /api/v1/users HTTP/1.1\r\nHost: gavel.test\r\nContent-Type: application/json\r\n"+
				tt.head+"\r\n"+body+smuggled)
			if res.StatusCode != 400 {
				t.Fatalf("status = %d, want 400: %s", res.StatusCode, got)
			}
			if !closed {
				t.Error("the connection stayed open after ambiguous framing")
			}
		})
	}
	// One Content-Length still works, and keeps the connection.
	res, got, _ := rawExchange(t, addr, fmt.Sprintf("POST /api/v1/users HTTP/1.1\r\nHost: gavel.test\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body))
	if res.StatusCode != 201 {
		t.Fatalf("status = %d, want 201: %s", res.StatusCode, got)
	}
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// streamHuge posts n zero bytes (chunked when chunked is set) to path on
// addr and returns the response status, or 0 if the server reset the
// connection before the client could read its answer: closing on a client
// that is still sending does that, and a client may lose the 413 (RFC 9112
// section 9.6). Write errors are expected once the server has refused.
func streamHuge(t *testing.T, addr, path string, n int64, chunked bool) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	head := "POST " + path + " HTTP/1.1\r\nHost: gavel.test\r\nContent-Type: application/json\r\n"
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += fmt.Sprintf("Content-Length: %d\r\n\r\n", n)
	}
	go func() {
		w := bufio.NewWriterSize(conn, 64<<10)
		_, _ = w.WriteString(head)
		chunk := make([]byte, 32<<10)
		for sent := int64(0); sent < n; sent += int64(len(chunk)) {
			if chunked {
				fmt.Fprintf(w, "%x\r\n", len(chunk))
			}
			if _, err := w.Write(chunk); err != nil {
				return
			}
			if chunked {
				_, _ = w.WriteString("\r\n")
			}
		}
		if chunked {
			_, _ = w.WriteString("0\r\n\r\n")
		}
		_ = w.Flush()
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		if errors.Is(err, syscall.ECONNRESET) {
			return 0
		}
		t.Fatalf("read response: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}

// allocatedDuring reports the bytes the whole process allocated while fn ran.
func allocatedDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// No body makes the server hold more than its route's limit: 256 MiB sent
// to a 64 KiB route, or to a 1 MiB upload route, with or without a length,
// is refused with 413 while the whole process allocates a few MiB at most.
func TestBodyMemoryIsBounded(t *testing.T) {
	// Not parallel: it measures the process's allocations.
	e := newEnv(t)
	e.srv.uploadRoute(fiber.MethodPost, "/api/v1/test-upload/:id", 1<<20, func(c *fiber.Ctx) error {
		body, err := readBody(c, 1<<20)
		if err != nil {
			return err
		}
		return c.SendString(fmt.Sprint(len(body)))
	})
	base := e.listen()
	addr := strings.TrimPrefix(base, "http://")
	const huge = 256 << 20
	const bound = 24 << 20 // both the client's and the server's allocations
	for _, tt := range []struct {
		path    string
		chunked bool
	}{
		{"/api/v1/users", true},
		{"/api/v1/users", false},
		{"/api/v1/test-upload/7", true},
		{"/api/v1/test-upload/7", false},
	} {
		var status int
		got := allocatedDuring(func() { status = streamHuge(t, addr, tt.path, huge, tt.chunked) })
		if status != 413 && status != 0 {
			t.Errorf("%s chunked=%v: status %d, want 413", tt.path, tt.chunked, status)
		}
		if got > bound {
			t.Errorf("%s chunked=%v: the process allocated %d MiB for a refused body; want under %d MiB",
				tt.path, tt.chunked, got>>20, bound>>20)
		}
	}
	// Just over the limit, sent whole before the server answers, the
	// refusal is always a 413.
	for _, path := range []string{"/api/v1/users", "/api/v1/test-upload/7"} {
		limit := int64(e.srv.cfg.BodyLimit)
		if strings.Contains(path, "upload") {
			limit = 1 << 20
		}
		if status := streamHuge(t, addr, path, limit+32<<10, true); status != 413 {
			t.Errorf("%s: status %d, want 413", path, status)
		}
	}
	// Within its limit the upload route reads the whole body.
	res, err := http.Post(base+"/api/v1/test-upload/7", "application/octet-stream", io.LimitReader(zeros{}, 900<<10))
	if err != nil {
		t.Fatal(err)
	}
	if r := readResp(t, res); r.status != 200 || string(r.body) != fmt.Sprint(900<<10) {
		t.Fatalf("upload within the limit: %d %s", r.status, r.body)
	}
}

// An upload handler that refuses before reading the body leaves bytes on
// the connection. A short rest is read and thrown away, a long one closes
// the connection; either way a request hidden inside the body is never
// served.
func TestUnreadUploadBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.uploadRoute(fiber.MethodPost, "/api/v1/test-upload", 0, func(c *fiber.Ctx) error {
		return fiber.ErrUnauthorized
	})
	addr := strings.TrimPrefix(e.listen(), "http://")
	smuggled := "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, tt := range []struct {
		size      int
		wantClose bool
	}{{20 << 10, false}, {maxDrain + 1, true}} {
		body := strings.Repeat("x", tt.size) + smuggled
		res, _, closed := rawExchange(t, addr, fmt.Sprintf("POST /api/v1/test-upload HTTP/1.1\r\nHost: gavel.test\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
		if res.StatusCode != 401 {
			t.Fatalf("status = %d, want 401", res.StatusCode)
		}
		if closed != tt.wantClose {
			t.Errorf("%d bytes unread: closed = %v, want %v", tt.size, closed, tt.wantClose)
		}
	}
}

// Upload bodies are read a few at a time: with every slot taken, the next
// upload waits, then gets 503 with Retry-After.
func TestUploadSlots(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Deps) { c.MaxUploads = 1 })
	e.srv.uploadSlots <- struct{}{} // the one slot is busy
	e.srv.uploadWait = 100 * time.Millisecond
	e.srv.uploadRoute(fiber.MethodPost, "/api/v1/test-upload", 0, func(c *fiber.Ctx) error {
		if _, err := readBody(c, 1<<20); err != nil {
			return err
		}
		return c.SendStatus(204)
	})
	r := e.do(req{method: "POST", path: "/api/v1/test-upload", body: "abc", contentType: "application/octet-stream"})
	r.wantProblem(t, 503, "unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	<-e.srv.uploadSlots
	e.do(req{method: "POST", path: "/api/v1/test-upload", body: "abc", contentType: "application/octet-stream"}).wantStatus(t, 204)
}

// A form route is bounded like a JSON route.
func TestFormBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := "email=a%40example.com&password=" + strings.Repeat("p", 70<<10)
	for _, ctype := range []string{"application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz"} {
		r := e.do(req{method: "POST", path: "/login", body: big, contentType: ctype})
		r.wantProblemOrPage(t, 413)
	}
}

// unboundedReads are the Fiber calls that read a body without a bound or
// inflate it (see body.go).
var unboundedReads = regexp.MustCompile(`\.(Body|BodyParser|FormFile|MultipartForm|PostBody)\(`)

// No handler reads a body except through readBody.
func TestNoUnboundedBodyReads(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if unboundedReads.MatchString(line) && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d reads a body without a bound; use readBody: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// A request whose last Content-Length promises more than comes (the other
// reading of its headers says the body is complete) is refused at once:
// fasthttp must not wait out the read timeout (15 s) for bytes that, by
// the first Content-Length, are not coming (holdAmbiguousBodies).
func TestAmbiguousFramingRefusedWithoutWaiting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := strings.TrimPrefix(e.listen(), "http://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"email":"a@example.com","password":"correct horse","name":"A"}`
	// Well under the read timeout, and far above the milliseconds the
	// answer takes even on a loaded machine.
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/users HTTP/1.1\r\nHost: gavel.test\r\nContent-Type: application/json\r\nContent-Length: %d\r\nContent-Length: 100000\r\n\r\n%s", len(body), body)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body the last Content-Length promised: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Fatalf("status = %d, want 400", res.StatusCode)
	}
}
