package realtime

import (
	"bufio"
	"net"
	"testing"
)

// hijackedWithReader mimics fasthttp's hijackConn more closely: it also
// holds the request's read buffer, which fasthttp has already returned to
// its pool when the stream gets the connection.
type hijackedWithReader struct {
	net.Conn
	r *bufio.Reader
}

func (h *hijackedWithReader) UnsafeConn() net.Conn { return h.Conn }

// A stream must not keep fasthttp's wrapper, and through it a 4 KiB read
// buffer, for its whole life (#18 point 2).
func TestConnDropsHijackWrapper(t *testing.T) {
	t.Parallel()
	cli, srv := tcpPair(t, 0)
	defer cli.Close()
	defer srv.Close()
	h := &hijackedWithReader{Conn: srv, r: bufio.NewReaderSize(srv, 4096)}
	c := newConn(h, nil, 0)
	defer c.closeSocket()
	if c.nc != nil && c.nc != srv {
		t.Fatalf("the stream keeps %T, want the socket under the wrapper (or its descriptor alone)", c.nc)
	}
	if c.rc == nil && c.sock < 0 {
		t.Fatal("no raw socket behind the wrapper")
	}
}

// A drained queue keeps no backing array: tens of thousands of idle
// streams would each hold one between heartbeats (#18 point 3).
func TestDrainedQueueKeepsNoArray(t *testing.T) {
	t.Parallel()
	c := &conn{}
	c.q = append(c.q, item{data: []byte("ab")}, item{data: []byte("cd")})
	c.advance(3, func(*frame, bool) {})
	if len(c.q) != 1 || c.off != 1 {
		t.Fatalf("after 3 of 4 bytes: %d items, off %d; want 1 item at offset 1", len(c.q), c.off)
	}
	c.advance(1, func(*frame, bool) {})
	if c.q != nil {
		t.Fatalf("drained queue keeps a backing array of %d items", cap(c.q))
	}
}
