//go:build linux

package realtime

import (
	"net"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

// countedConn mimics internal/netguard's connection: it counts itself out
// of open when closed, unless Detach handed the count to the stream.
type countedConn struct {
	net.Conn
	open     *atomic.Int64
	detached atomic.Bool
	closed   atomic.Bool
}

func (c *countedConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}

func (c *countedConn) Detach() func() {
	c.detached.Store(true)
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			c.open.Add(-1)
		}
	}
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) && !c.detached.Load() {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}

// A live stream holds its socket's descriptor alone (Go's net.Conn is
// closed at once, #18 point 3), still delivers, stays counted by the
// listener until it ends, and is counted out once when it does.
func TestStreamOwnsDescriptorAndStaysCounted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	e.seed(1, 3)
	var open atomic.Int64
	open.Add(1)
	serve, err := h.Open(domain.StreamSpec{AuctionIDs: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	cli, srv := tcpPair(t, 0)
	cc := &countedConn{Conn: srv, open: &open}
	go serve(&hijackedWithReader{Conn: cc})
	c := readStream(t, cli)
	<-c.head
	c.expect(domain.EventSnapshot, "1:3")
	if !cc.closed.Load() || !cc.detached.Load() {
		t.Fatalf("Go's connection: closed %v, detached %v; want both once the stream owns its descriptor",
			cc.closed.Load(), cc.detached.Load())
	}
	if n := open.Load(); n != 1 {
		t.Fatalf("open = %d while the stream lives, want 1", n)
	}
	e.publish(auctionEvent(1, 4, domain.EventExtended))
	c.expect(domain.EventExtended, "1:4")
	_ = cli.Close()
	waitFor(t, "the stream to end and be counted out", func() bool { return h.conns.Load() == 0 && open.Load() == 0 })
}
