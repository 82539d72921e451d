//go:build linux

package ssebench

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseServer serves one SSE stream: the head, then each chunk written
// separately, then (after release) the end.
func sseServer(t *testing.T, chunks []string, release <-chan struct{}) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		buf := make([]byte, 4096)
		if _, err := nc.Read(buf); err != nil {
			return
		}
		_, _ = io.WriteString(nc, strings.TrimSuffix(ssePreamble, "retry: 3000\n\n"))
		for _, c := range chunks {
			if _, err := io.WriteString(nc, c); err != nil {
				return
			}
			time.Sleep(5 * time.Millisecond) // separate reads on the client
		}
		if release != nil {
			<-release
		}
	}()
	return ln.Addr().String()
}

func price(id string, seq int) string {
	return "id: " + id + "\nevent: price\ndata: {\"seq\":" + strconv.Itoa(seq) + ",\"amount\":1}\n\n"
}

// A live stream in the reconnect storm is read by an epoll reader, which
// checks every event's seq exactly as the stream's goroutine did: gaps,
// duplicates, the last id and retry:, lines cut across reads. Its events
// are read once liveLowat has gathered, at its end, or when the bench
// asks for a count, not on every event.
func TestHandOffReadsEveryEvent(t *testing.T) {
	all := "retry: 1234\n\n" + price("a7", 7) + price("a8", 8) + price("a8", 8) + ": hb\n\n" + price("a11", 11)
	// Cut mid-line and mid-event, so lines span reads.
	chunks := []string{all[:20], all[20:57], all[57:90], all[90:]}
	release := make(chan struct{})
	addr := sseServer(t, chunks, release)

	w := &sseWorker{name: "t"}
	w.rehome.Store(true)
	c := &sseClientConn{fd: -1, last: 6}
	w.conns = []*sseClientConn{c}
	req := []byte("GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	type result struct {
		live bool
		err  error
	}
	got := make(chan result, 1)
	go func() {
		live, err := w.stream(context.Background(), c, addr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, req, true, func() {})
		got <- result{live, err}
	}()
	// The epoll reader holds the socket while the stream is live.
	handed := false
	for until := time.Now().Add(10 * time.Second); time.Now().Before(until) && !handed; time.Sleep(5 * time.Millisecond) {
		c.mu.Lock()
		handed = c.fd >= 0
		c.mu.Unlock()
	}
	if !handed {
		t.Fatal("the live stream was not handed to an epoll reader")
	}
	// Less than liveLowat has come: the events wait in the socket, unread,
	// until the bench asks for a count (a status with a seq sweeps).
	time.Sleep(300 * time.Millisecond)
	if n := w.counts[11].Load(); n != 0 {
		t.Fatalf("event 11 was read before a sweep (count %d): the reader is woken per event", n)
	}
	for until := time.Now().Add(10 * time.Second); w.handle(context.Background(), sseCmd{Op: "status", Seq: 11}).Count == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(until) {
			t.Fatal("event 11 never parsed")
		}
	}
	close(release)
	var r result
	select {
	case r = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream's end did not reach its goroutine")
	}
	if !r.live || !errors.Is(r.err, io.EOF) {
		t.Fatalf("stream = %v, %v; want live, EOF", r.live, r.err)
	}
	if g, d := w.gaps.Load(), w.dups.Load(); g != 2 || d != 1 {
		t.Errorf("gaps, dups = %d, %d; want 2 (9, 10), 1 (8 again)", g, d)
	}
	if string(c.id) != "a11" || c.last != 11 || c.wait != 1234*time.Millisecond || w.heartbeats.Load() != 1 {
		t.Errorf("id %q last %d wait %v heartbeats %d; want a11, 11, 1.234s, 1", c.id, c.last, c.wait, w.heartbeats.Load())
	}
	if c.fd != -1 {
		t.Errorf("fd %d after the end; want -1", c.fd)
	}
}

// closeAll ends a stream an epoll reader holds, as it ends one a
// goroutine reads.
func TestCloseAllEndsHandedOff(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr := sseServer(t, []string{"retry: 500\n\n" + price("a1", 1)}, release)
	w := &sseWorker{name: "t"}
	w.rehome.Store(true)
	c := &sseClientConn{fd: -1}
	w.conns = []*sseClientConn{c}
	ended := make(chan error, 1)
	go func() {
		_, err := w.stream(context.Background(), c, addr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)},
			[]byte("GET /s HTTP/1.1\r\nHost: x\r\n\r\n"), true, func() {})
		ended <- err
	}()
	for until := time.Now().Add(10 * time.Second); w.handle(context.Background(), sseCmd{Op: "status", Seq: 1}).Count == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(until) {
			t.Fatal("event 1 never parsed")
		}
	}
	w.closeAll(10 * time.Second)
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("closeAll did not end the handed-off stream")
	}
}
