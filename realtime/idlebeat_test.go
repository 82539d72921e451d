package realtime

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// An idle stream's heartbeat goes straight to its socket: no queue array
// per stream per Heartbeat, whose garbage grows an idle node's RSS until
// the next collection (#18 point 3).
func TestIdleHeartbeatAllocatesNothing(t *testing.T) {
	cli, srv := tcpPair(t, 0)
	defer cli.Close()
	w := &writer{h: &Hub{}}
	c := newConn(srv, w, 0)
	defer c.closeSocket()
	now := time.Now()
	const beats = 100
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, beats*len(heartbeatFrame))
		_, _ = io.ReadFull(cli, b)
		got <- b
	}()
	allocs := testing.AllocsPerRun(beats-1, func() { w.heartbeat(c, now) })
	if allocs != 0 {
		t.Errorf("an idle stream's heartbeat allocates %.1f times, want 0", allocs)
	}
	if c.q != nil || c.sched || c.blocked {
		t.Errorf("after the heartbeats: queue %d items (array %v), sched %v, blocked %v; want nothing pending", len(c.q), c.q != nil, c.sched, c.blocked)
	}
	select {
	case b := <-got:
		if want := bytes.Repeat(heartbeatFrame, beats); !bytes.Equal(b, want) {
			t.Fatalf("client read %q, want %d heartbeats", b, beats)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the heartbeats did not arrive")
	}
}

// A heartbeat the socket does not take stays queued, first, and the stream
// waits on the blocked list like any other write.
func TestHeartbeatOnFullSocketIsQueued(t *testing.T) {
	t.Parallel()
	cli, srv := tcpPair(t, 4096)
	defer cli.Close()
	w := &writer{h: &Hub{}}
	c := newConn(srv, w, 0)
	defer c.closeSocket()
	fill := bytes.Repeat([]byte("x"), 1<<16)
	for {
		if _, err := c.write(fill); err == errWouldBlock {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	w.heartbeat(c, time.Now())
	if !c.blocked || len(w.blocked) != 1 || w.blocked[0] != c {
		t.Fatalf("blocked %v, writer's blocked list %d; want the stream blocked", c.blocked, len(w.blocked))
	}
	if len(c.q) != 1 || !bytes.HasSuffix(heartbeatFrame, c.q[0].data) || len(c.q[0].data) == 0 {
		t.Fatalf("queue %+v, want the heartbeat's unwritten rest", c.q)
	}
}

// An idle stream's event takes its queue array from a pool and gives it
// back once written: 2,000 sale watchers took a fresh array per event, a
// seventh of what a node allocated while a sale closed (#14). A queue that
// grew past the pooled size is not pooled, and what goes back is cleared.
func TestIdleEventReusesItsQueueArray(t *testing.T) {
	cli, srv := tcpPair(t, 0)
	defer cli.Close()
	w := &writer{h: &Hub{}}
	c := newConn(srv, w, 0)
	defer c.closeSocket()
	go func() { _, _ = io.Copy(io.Discard, cli) }()
	frame := []byte("event: price\ndata: {}\n\n")
	now := time.Now()
	send := func(n int) {
		c.mu.Lock()
		for range n {
			c.enqueue(item{data: frame}, 64)
		}
		c.mu.Unlock()
		for w.flush(c, now) {
		}
		c.mu.Lock()
		c.sched = false
		c.mu.Unlock()
	}
	allocs := testing.AllocsPerRun(200, func() { send(1) })
	limit := 0.0
	if raceEnabled {
		limit = 0.5
	}
	if allocs > limit {
		t.Errorf("an idle stream's event allocates %.2f times, want at most %.2f", allocs, limit)
	}
	if c.q != nil {
		t.Fatalf("after the events: %d items queued (array %v), want none", len(c.q), c.q != nil)
	}

	// What goes back to the pool is cleared; a grown queue's array is not
	// the pooled size, so recycleQueue drops it instead.
	c.mu.Lock()
	c.push(item{data: frame})
	a := (*queueArray)(c.q[:setupQueueCap])
	c.recycleQueue()
	c.mu.Unlock()
	if a[0].data != nil || c.q != nil {
		t.Errorf("a recycled array still holds %q; queue %v", a[0].data, c.q)
	}
	send(setupQueueCap + 1)
	if c.q != nil {
		t.Errorf("after a grown queue drained: %d items queued", len(c.q))
	}
}
