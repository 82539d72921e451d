package realtime

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func TestHeartbeatIsWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{Heartbeat: 40 * time.Millisecond})
	e.seed(1, 1)
	c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
	c.expect(domain.EventSnapshot, "1:1")
	waitFor(t, "three heartbeats", func() bool { return c.hb.Load() >= 3 })
}

func TestDisconnectReleasesEverything(t *testing.T) {
	e := newEnv(t)
	h, nc := e.hub(Config{Heartbeat: 50 * time.Millisecond})
	e.seed(1, 1)
	e.seed(2, 1)
	// Let the hub's own goroutines settle before the baseline.
	time.Sleep(100 * time.Millisecond)
	baseGoroutines := runtime.NumGoroutine()
	baseSubs := nc.NumSubscriptions()

	var clients []*client
	for _, spec := range []domain.StreamSpec{
		{UserID: 1, AuctionIDs: []int64{1}},
		{UserID: 1, AuctionIDs: []int64{1, 2}, Personal: true},
		{UserID: 2, Admin: true, All: true},
	} {
		clients = append(clients, dial(t, h, spec))
	}
	waitFor(t, "streams live", func() bool { return liveChannels(h) == 4 && liveAdmins(h) == 1 })
	// One subscription per subject of each channel: two per auction (its
	// own and its sale's), two for the admin topic, one for the user.
	want := baseSubs
	for _, ch := range []domain.Channel{domain.AuctionChannel(1), domain.AuctionChannel(2), domain.UserChannel(1), allChannel} {
		want += len(subjects(ch))
	}
	if got := nc.NumSubscriptions(); got != want || want != baseSubs+7 {
		t.Fatalf("subscriptions = %d, want one per channel's subject: %d", got, want)
	}
	for _, c := range clients {
		_ = c.nc.Close()
		<-c.done
	}
	// No event is ever published: the heartbeat's peek must notice.
	waitFor(t, "release", func() bool {
		s := h.Stats()
		return s.Connections == 0 && s.Watchers == 0 && s.Topics == 0 && nc.NumSubscriptions() == baseSubs
	})
	waitFor(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= baseGoroutines })
	for i := range h.users {
		h.users[i].mu.Lock()
		n := len(h.users[i].m)
		h.users[i].mu.Unlock()
		if n != 0 {
			t.Fatalf("user registry shard %d still has %d users", i, n)
		}
	}
}

func TestSlowConsumerIsDroppedOthersKeepUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{QueueLen: 16, WriteTimeout: 300 * time.Millisecond, Heartbeat: 100 * time.Millisecond})
	e.seed(1, 1)

	// The slow client never reads, and both socket buffers are small, so
	// the kernel stops taking its bytes quickly.
	serve, err := h.Open(domain.StreamSpec{AuctionIDs: []int64{1}})
	if err != nil {
		t.Fatal(err)
	}
	slowCli, slowSrv := tcpPair(t, 4096)
	defer slowCli.Close()
	_ = slowSrv.(*net.TCPConn).SetWriteBuffer(4096)
	go serve(slowSrv)
	fast := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
	fast.expect(domain.EventSnapshot, "1:1")
	waitFor(t, "both live", func() bool { return liveChannels(h) == 2 })

	const n = 400
	pad := strings.Repeat("x", 1000)
	var maxQueue int
	for s := int64(2); s <= n; s++ {
		ev := auctionEvent(1, s, domain.EventExtended)
		ev.Title = pad
		e.publish(ev)
		fast.expect(domain.EventExtended, "1:"+itoa(s))
		maxQueue = max(maxQueue, queueLens(h))
	}
	waitFor(t, "slow consumer dropped", func() bool {
		s := h.Stats()
		return s.SlowConsumers == 1 && s.Connections == 1
	})
	if maxQueue > 16+burstAllowance {
		t.Fatalf("a queue held %d items; the bound is %d", maxQueue, 16+burstAllowance)
	}
	e.publish(auctionEvent(1, n+1, domain.EventExtended))
	fast.expect(domain.EventExtended, "1:"+itoa(n+1))
}

// queueLens returns the longest queue of any connection on h.
func queueLens(h *Hub) int {
	n := 0
	for _, t := range h.allTopics() {
		t.mu.Lock()
		for _, w := range t.watchers {
			w.c.mu.Lock()
			n = max(n, len(w.c.q))
			w.c.mu.Unlock()
		}
		t.mu.Unlock()
	}
	return n
}

func TestCoalescePrices(t *testing.T) {
	t.Parallel()
	price := func(a, s int64) *frame { return &frame{seq: s, auction: a, price: true, body: []byte("p")} }
	other := func(a, s int64) *frame { return &frame{seq: s, auction: a, body: []byte("o")} }
	type push struct {
		ch int
		f  *frame
	}
	tests := []struct {
		name     string
		inflight int32
		off      int32
		pushes   []push
		want     []int64 // seqs left in the queue
		healthy  bool    // the socket has not pushed back
	}{
		{"a healthy client gets every price", 0, 0,
			[]push{{0, price(1, 1)}, {0, price(1, 2)}, {0, price(1, 3)}}, []int64{1, 2, 3}, true},
		{"newer price replaces queued price", 0, 0,
			[]push{{0, price(1, 1)}, {0, price(1, 2)}, {0, price(1, 3)}}, []int64{3}, false},
		{"never across another event", 0, 0,
			[]push{{0, price(1, 1)}, {0, other(1, 2)}, {0, price(1, 3)}, {0, price(1, 4)}}, []int64{1, 2, 4}, false},
		{"never across another auction", 0, 0,
			[]push{{0, price(1, 1)}, {1, price(2, 1)}, {0, price(1, 2)}}, []int64{1, 1, 2}, false},
		{"not while being written", 1, 0,
			[]push{{0, price(1, 1)}, {0, price(1, 2)}}, []int64{1, 2}, false},
		{"not once partly written", 0, 3,
			[]push{{0, price(1, 1)}, {0, price(1, 2)}}, []int64{1, 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &conn{blocked: !tt.healthy, chans: []chanPos{
				{t: &topic{ch: domain.AuctionChannel(1)}, live: true},
				{t: &topic{ch: domain.AuctionChannel(2)}, live: true},
			}}
			for k, p := range tt.pushes {
				if k == 1 {
					c.inflight, c.off = tt.inflight, tt.off
				}
				c.offer(p.ch, p.f, 64)
			}
			var got []int64
			for _, it := range c.q {
				got = append(got, it.f.seq)
			}
			if !equalInts(got, tt.want) {
				t.Fatalf("queue seqs %v, want %v", got, tt.want)
			}
			// The tail's id names the newest positions, so a client that
			// resumes from it neither repeats nor skips anything.
			if got, want := string(c.q[len(c.q)-1].id), "id: "+c.idLine0(); got != want {
				t.Fatalf("tail id %q, want %q", got, want)
			}
		})
	}
}

// idLine0 is the cursor of c's current positions, without the field name.
func (c *conn) idLine0() string {
	return strings.TrimSuffix(strings.TrimPrefix(string(c.idLine()), "id: "), "\n") + "\n"
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQueueOverflowClosesTheConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		blocked bool
		fits    int
	}{
		{"socket full: the bound is QueueLen", true, 4},
		{"writer not run yet: a burst allowance more", false, 4 + burstAllowance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &conn{chans: []chanPos{{t: &topic{ch: domain.AuctionChannel(1)}, live: true}}}
			c.blocked = tt.blocked
			for s := int64(1); s <= int64(tt.fits); s++ {
				if _, over := c.offer(0, &frame{seq: s, auction: 1, full: []byte("x")}, 4); over {
					t.Fatalf("overflow at %d", s)
				}
			}
			if _, over := c.offer(0, &frame{seq: int64(tt.fits) + 1, auction: 1, full: []byte("x")}, 4); !over || c.state != stateClosing || c.q != nil {
				t.Fatalf("overflow %v state %v queue %d", over, c.state, len(c.q))
			}
		})
	}
}

func TestShutdownEndsStreamsWithinASecond(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, nc := e.hub(Config{})
	e.seed(1, 1)
	var clients []*client
	for range 5 {
		c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
		c.expect(domain.EventSnapshot, "1:1")
		clients = append(clients, c)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		c.closed(time.Second)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	waitFor(t, "unsubscribed", func() bool { return nc.NumSubscriptions() == 0 })
	if _, err := h.Open(domain.StreamSpec{AuctionIDs: []int64{1}}); domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Fatalf("Open after Shutdown: %v", err)
	}
}

// TestIdleConnectionCost measures what the hub holds per idle stream: heap
// bytes (excluding the sockets themselves, which exist before the hub sees
// them) and goroutines.
func TestIdleConnectionCost(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of sockets")
	}
	e := newEnv(t)
	h, _ := e.hub(Config{MaxConns: 10000})
	const n, auctions = 2000, 20
	for a := int64(1); a <= auctions; a++ {
		e.seed(a, 3)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	clis := make([]net.Conn, n)
	srvs := make([]net.Conn, n)
	for i := range n {
		if clis[i], err = net.Dial("tcp", ln.Addr().String()); err != nil {
			t.Fatal(err)
		}
		if srvs[i], err = ln.Accept(); err != nil {
			t.Fatal(err)
		}
		defer clis[i].Close()
	}
	time.Sleep(50 * time.Millisecond)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	for i := range n {
		serve, err := h.Open(domain.StreamSpec{UserID: int64(i + 1), AuctionIDs: []int64{int64(i%auctions + 1)}})
		if err != nil {
			t.Fatal(err)
		}
		serve(srvs[i])
	}
	waitFor(t, "all live", func() bool { return liveChannels(h) == n && queueLens(h) == 0 })
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	perConn := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d idle streams: %d heap bytes and %.3f goroutines per stream", n, perConn, float64(g1-g0)/n)
	if perConn > 8<<10 {
		t.Errorf("%d bytes per idle stream, want <= 8 KiB", perConn)
	}
	if g1-g0 > 4 {
		t.Errorf("goroutines grew by %d for %d streams", g1-g0, n)
	}
}

// hijacked mimics fasthttp's hijackConn: a wrapper whose UnsafeConn is the socket.
type hijacked struct{ net.Conn }

func (h hijacked) UnsafeConn() net.Conn { return h.Conn }

func TestRawSocketBehindHijackWrapper(t *testing.T) {
	t.Parallel()
	cli, srv := tcpPair(t, 0)
	defer cli.Close()
	defer srv.Close()
	c := newConn(hijacked{srv}, nil, 0)
	defer c.closeSocket()
	if c.rc == nil && c.sock < 0 {
		t.Fatal("no raw socket behind an UnsafeConn wrapper")
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if c := newConn(p1, nil, 0); c.rc != nil {
		t.Fatal("net.Pipe has no socket")
	}

	if c.peerGone() {
		t.Fatal("open connection reported gone")
	}
	_, _ = cli.Write([]byte("junk a client should not send"))
	time.Sleep(20 * time.Millisecond)
	if c.peerGone() {
		t.Fatal("client bytes reported as gone")
	}
	_ = cli.Close()
	waitFor(t, "peek sees EOF", c.peerGone)
}
