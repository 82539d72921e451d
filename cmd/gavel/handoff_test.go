package main

import (
	"errors"
	"net"
	"testing"
	"time"
)

// TestHandoff: the first server gets the connections until it closes;
// one that arrives while no server is taking them waits for the next; and
// closing the last server closes the socket.
func TestHandoff(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := newHandoff(ln)
	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	first := h.next(false)
	if first.Addr().String() != ln.Addr().String() {
		t.Fatalf("Addr = %v", first.Addr())
	}
	c1 := dial()
	got, err := first.Accept()
	if err != nil || got.RemoteAddr().String() != c1.LocalAddr().String() {
		t.Fatalf("first Accept = %v, %v", got, err)
	}
	_ = got.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v", err)
	}
	// Between servers: the socket stays open and the connection waits.
	c2 := dial()
	second := h.next(true)
	got, err = second.Accept()
	if err != nil || got.RemoteAddr().String() != c2.LocalAddr().String() {
		t.Fatalf("second Accept = %v, %v", got, err)
	}
	_ = got.Close()
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		_ = c.Close()
		t.Fatal("the socket is still open after the last server closed")
	}
}
