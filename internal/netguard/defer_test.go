//go:build linux

package netguard

import (
	"net"
	"testing"
	"time"
)

// TestDeferAccept: a connection that has not spoken stays in the kernel,
// so one that dialled after it but sent its request is accepted first.
func TestDeferAccept(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	if !DeferAccept(ln, 10*time.Second) {
		t.Fatal("DeferAccept on a TCP listener = false")
	}
	if DeferAccept(Wrap(ln, Options{Logger: quiet()}), time.Second) {
		t.Error("DeferAccept on a wrapper = true, want false: the option belongs on the socket")
	}
	silent, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	speaking, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer speaking.Close()
	if _, err := speaking.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, want := c.RemoteAddr().String(), speaking.LocalAddr().String(); got != want {
		t.Fatalf("first accepted %s, want the connection that spoke (%s), not the silent one (%s)", got, want, silent.LocalAddr())
	}
	// The silent one is not lost: it is accepted once it speaks.
	if _, err := silent.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	c2, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got, want := c2.RemoteAddr().String(), silent.LocalAddr().String(); got != want {
		t.Fatalf("second accepted %s, want the silent one once it spoke (%s)", got, want)
	}
}
