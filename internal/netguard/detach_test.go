//go:build linux

package netguard

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestDetach: a connection whose socket lives on in a duplicate descriptor
// keeps its place under the caps after Close, is not half-closed by it,
// and is counted out once by release.
func TestDetach(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Wrap(ln, Options{MaxConnsPerIP: 5, Logger: quiet()})
	t.Cleanup(func() { _ = l.Close() })
	client := dialFrom(t, "127.0.0.6", ln.Addr().String())
	defer client.Close()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.(*conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	dup := -1
	if err := rc.Control(func(fd uintptr) { dup, err = syscall.Dup(int(fd)) }); err != nil || dup < 0 {
		t.Fatalf("dup: %v", err)
	}
	release := c.(interface{ Detach() func() }).Detach()
	if err := c.Close(); err != nil {
		t.Fatalf("Close after Detach = %v", err)
	}
	if got := l.Stats().Open; got != 1 {
		t.Fatalf("open after Detach and Close = %d, want 1 (the duplicate still holds it)", got)
	}
	// Not half-closed: the duplicate still writes, and the client reads it
	// before any EOF.
	if _, err := syscall.Write(dup, []byte("hi")); err != nil {
		t.Fatalf("write on the duplicate: %v", err)
	}
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("client read %q, %v; want hi", buf, err)
	}
	_ = syscall.Close(dup)
	release()
	release()
	if got := l.Stats().Open; got != 0 {
		t.Fatalf("open after release (twice) = %d, want 0", got)
	}
	l.mu.Lock()
	n := len(l.perIP)
	l.mu.Unlock()
	if n != 0 {
		t.Errorf("perIP keeps %d addresses after release", n)
	}
	if _, err := client.Read(buf); err != io.EOF {
		t.Errorf("client read after the duplicate closed = %v, want EOF", err)
	}
}
