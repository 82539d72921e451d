package realtime

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/natsserver"
)

// fakeLog is an in-memory Log (and SaleLog): every channel's events in
// order, a lot's events in its sale's log too, the latest state of each
// auction, and optional trimming (retention).
type fakeLog struct {
	mu      sync.Mutex
	events  map[domain.Channel][]domain.Event
	trimmed map[domain.Channel]int64 // events with seq <= this are gone
	state   map[int64]domain.Event   // each auction's latest event
	calls   map[string]int
	fail    error
}

func newFakeLog() *fakeLog {
	return &fakeLog{
		events:  make(map[domain.Channel][]domain.Event),
		trimmed: make(map[domain.Channel]int64),
		state:   make(map[int64]domain.Event),
		calls:   make(map[string]int),
	}
}

// add appends ev to its channel; seqs must be gap-free, as the outbox makes them.
func (l *fakeLog) add(tb testing.TB, ev domain.Event) {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := ev.Channel()
	evs := l.events[ch]
	if want := int64(len(evs)) + 1; ev.ChannelSeq() != want {
		tb.Fatalf("fakeLog: %s seq %d, want %d", ch.Subject(), ev.ChannelSeq(), want)
	}
	l.events[ch] = append(evs, ev)
	if ev.SaleSeq > 0 && ch.Kind == domain.ChannelAuction {
		sc := domain.SaleChannel(ev.SaleID)
		if want := int64(len(l.events[sc])) + 1; ev.SaleSeq != want {
			tb.Fatalf("fakeLog: %s sale seq %d, want %d", sc.Subject(), ev.SaleSeq, want)
		}
		l.events[sc] = append(l.events[sc], ev)
	}
	if !ev.Type.Personal() && !ev.Type.SaleLevel() {
		l.state[ev.AuctionID] = ev
	}
}

func (l *fakeLog) trim(ch domain.Channel, upTo int64) {
	l.mu.Lock()
	l.trimmed[ch] = upTo
	l.mu.Unlock()
}

func (l *fakeLog) count(op string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[op]
}

func (l *fakeLog) setFail(err error) {
	l.mu.Lock()
	l.fail = err
	l.mu.Unlock()
}

func (l *fakeLog) enter(op string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[op]++
	return l.fail
}

func (l *fakeLog) Snapshots(_ context.Context, ids []int64) ([]domain.Event, error) {
	if err := l.enter("Snapshots"); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []domain.Event
	for _, id := range ids {
		if ev, ok := l.state[id]; ok {
			out = append(out, asSnapshot(ev))
		}
	}
	return out, nil
}

func (l *fakeLog) Running(context.Context) ([]domain.Event, error) {
	if err := l.enter("Running"); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []domain.Event
	for _, ev := range l.state {
		if ev.Status == domain.StatusOpen || ev.Status == domain.StatusScheduled {
			out = append(out, asSnapshot(ev))
		}
	}
	return out, nil
}

func (l *fakeLog) After(_ context.Context, ch domain.Channel, after int64, limit int) ([]domain.Event, error) {
	if err := l.enter("After"); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []domain.Event
	for _, ev := range l.events[ch] {
		if s := ev.SeqIn(ch.Kind); s > after && s > l.trimmed[ch] && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (l *fakeLog) Head(_ context.Context, ch domain.Channel) (int64, error) {
	if err := l.enter("Head"); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.events[ch])), nil
}

// SaleSnapshot returns an open sale at its log's head and its lots'
// latest states, in lot order.
func (l *fakeLog) SaleSnapshot(_ context.Context, id int64) (domain.Sale, []domain.Event, error) {
	if err := l.enter("SaleSnapshot"); err != nil {
		return domain.Sale{}, nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	sale := domain.Sale{ID: id, Title: "Sale", Currency: "EUR", Status: domain.SaleOpen,
		SoftCloseMode: domain.SoftCloseCascade, Seq: int64(len(l.events[domain.SaleChannel(id)]))}
	var lots []domain.Event
	for _, ev := range l.state {
		if ev.SaleID == id {
			lots = append(lots, asSnapshot(ev))
		}
	}
	slices.SortFunc(lots, func(a, b domain.Event) int { return cmp.Compare(a.LotNumber, b.LotNumber) })
	return sale, lots, nil
}

func asSnapshot(ev domain.Event) domain.Event {
	ev.Type = domain.EventSnapshot
	ev.ID = domain.MakeID(domain.AuctionChannel(ev.AuctionID), ev.Seq)
	ev.BidID, ev.BidAmount, ev.Bidder, ev.PreviousEndsAt, ev.SaleSeq = 0, 0, "", nil, 0
	return ev
}

// auctionEvent makes event seq of auction id.
func auctionEvent(id, seq int64, typ domain.EventType) domain.Event {
	return domain.Event{
		ID: domain.MakeID(domain.AuctionChannel(id), seq), Type: typ, AuctionID: id, Seq: seq,
		Title: fmt.Sprintf("Lot %d", id), Currency: "EUR", Status: domain.StatusOpen,
		StartPrice: 100, CurrentPrice: 100 + seq*10, MinNextBid: 110 + seq*10, BidCount: int(seq),
		EndsAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second), CommittedAt: time.Now().UTC(),
	}
}

// personalEvent makes the user's event useq, about auction id.
func personalEvent(user, useq, id int64) domain.Event {
	ev := auctionEvent(id, 1, domain.EventOutbid)
	ev.ID, ev.UserID, ev.UserSeq = domain.MakeID(domain.UserChannel(user), useq), user, useq
	return ev
}

// env is a real embedded NATS server, a publisher standing in for the
// outbox relay, and a shared fake Log.
type env struct {
	t    testing.TB
	ns   *server.Server
	url  string
	port int
	dir  string
	pub  *nats.Conn
	log  *fakeLog
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), log: newFakeLog()}
	e.start(-1)
	pub, err := natsserver.Connect(e.url, nil, "relay", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.pub = pub
	t.Cleanup(func() {
		pub.Close()
		e.ns.Shutdown()
	})
	return e
}

func (e *env) start(port int) {
	e.t.Helper()
	ns, err := natsserver.Start(natsserver.Options{StoreDir: e.dir, Port: port})
	if err != nil {
		e.t.Fatal(err)
	}
	e.ns = ns
	e.url = ns.ClientURL()
	e.port = ns.Addr().(*net.TCPAddr).Port
}

// conn connects a client the way cmd/gavel does (reconnecting forever).
func (e *env) conn(name string) *nats.Conn {
	e.t.Helper()
	nc, err := natsserver.Connect(e.url, nil, name, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(nc.Close)
	return nc
}

// hub starts a hub on its own NATS connection; it is shut down when the test ends.
func (e *env) hub(cfg Config) (*Hub, *nats.Conn) {
	e.t.Helper()
	nc := e.conn("hub")
	if cfg.Node == "" {
		cfg.Node = "node-" + e.t.Name()
	}
	h, err := New(cfg, nc, e.log, nil, prometheus.NewRegistry())
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
	})
	waitFor(e.t, "hub subscriptions", func() bool { return nc.NumSubscriptions() >= 2 })
	return h, nc
}

// publish commits ev to the Log and publishes it, as the outbox relay does.
func (e *env) publish(ev domain.Event) {
	e.t.Helper()
	e.log.add(e.t, ev)
	e.publishOnly(ev)
}

// publishOnly publishes without touching the Log (a duplicate, or a lost message's successor).
func (e *env) publishOnly(ev domain.Event) {
	e.t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.pub.Publish(ev.Subject(), data); err != nil {
		e.t.Fatal(err)
	}
	if err := e.pub.Flush(); err != nil {
		e.t.Fatal(err)
	}
}

// seed commits events 1..n of auction id without publishing them.
func (e *env) seed(id, n int64) {
	for s := int64(1); s <= n; s++ {
		e.log.add(e.t, auctionEvent(id, s, domain.EventExtended))
	}
}

// client is a test SSE client on a real loopback TCP connection.
type client struct {
	t      *testing.T
	nc     net.Conn
	events chan sseEvent
	done   chan struct{} // closed at EOF
	head   chan string
	hb     atomic.Int32
	retry  atomic.Int32
	// retries counts the retry fields read (the preamble's and any in
	// heartbeats).
	retries atomic.Int32
	// lastRead and maxGap (Unix nanos, nanos) measure the longest silence
	// between two reads since resetGap.
	lastRead atomic.Int64
	maxGap   atomic.Int64
	readErr  error
}

// tcpPair returns both ends of a loopback TCP connection. rcvbuf > 0 shrinks
// the client's receive buffer (set before connecting, so it sticks).
func tcpPair(tb testing.TB, rcvbuf int) (cli, srv net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	d := net.Dialer{}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			return errors.Join(err, serr)
		}
	}
	cli, err = d.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	srv, err = ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	return cli, srv
}

// dial opens a stream through the hub's Open and serve, as the web layer does.
func dial(t *testing.T, h *Hub, spec domain.StreamSpec) *client {
	t.Helper()
	serve, err := h.Open(spec)
	if err != nil {
		t.Fatalf("Open(%+v): %v", spec, err)
	}
	cli, srv := tcpPair(t, 0)
	go serve(srv)
	return readStream(t, cli)
}

// readStream reads the response head and then parses events in the background.
func readStream(t *testing.T, nc net.Conn) *client {
	c := &client{t: t, nc: nc, events: make(chan sseEvent, 4096), done: make(chan struct{}), head: make(chan string, 1)}
	t.Cleanup(func() { _ = nc.Close() })
	go func() {
		defer close(c.done)
		br := bufio.NewReader(nc)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil {
				c.readErr = err
				return
			}
			if line == "\r\n" {
				break
			}
		}
		c.head <- head.String()
		var p sseParser
		buf := make([]byte, 4096)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				now := time.Now().UnixNano()
				if last := c.lastRead.Swap(now); last != 0 && now-last > c.maxGap.Load() {
					c.maxGap.Store(now - last)
				}
			}
			p.feed(buf[:n], func(e sseEvent) { c.events <- e })
			c.hb.Store(int32(p.comments))
			c.retry.Store(int32(p.retry))
			c.retries.Store(int32(p.retries))
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
					c.readErr = err
				}
				return
			}
		}
	}()
	return c
}

// retryMS returns the stream's retry: field in ms, waiting a few seconds
// for it: the reader stores it just after handing over the events it read.
func (c *client) retryMS() int32 {
	r := c.retry.Load()
	for deadline := time.Now().Add(5 * time.Second); r == 0 && time.Now().Before(deadline); r = c.retry.Load() {
		time.Sleep(time.Millisecond)
	}
	return r
}

// resetGap starts measuring silences afresh, from now.
func (c *client) resetGap() {
	c.lastRead.Store(time.Now().UnixNano())
	c.maxGap.Store(0)
}

// gap is the longest silence since resetGap, counting the one still
// running.
func (c *client) gap() time.Duration {
	g := c.maxGap.Load()
	if now := time.Now().UnixNano() - c.lastRead.Load(); now > g {
		g = now
	}
	return time.Duration(g)
}

// next returns the next event, failing after a few seconds.
func (c *client) next() sseEvent {
	c.t.Helper()
	select {
	case e := <-c.events:
		return e
	case <-c.done:
		select {
		case e := <-c.events:
			return e
		default:
		}
		c.t.Fatalf("stream ended (err %v) while waiting for an event", c.readErr)
	case <-time.After(5 * time.Second):
		c.t.Fatal("no event within 5s")
	}
	return sseEvent{}
}

// expect reads the next event and checks its type and id; it returns the decoded data.
func (c *client) expect(typ domain.EventType, id string) domain.Event {
	c.t.Helper()
	e := c.next()
	var ev domain.Event
	if err := json.Unmarshal([]byte(e.Data), &ev); err != nil {
		c.t.Fatalf("event data %q: %v", e.Data, err)
	}
	if e.Type != string(typ) || e.ID != id {
		c.t.Fatalf("got event %s id %q (seq %d user_seq %d), want %s id %q", e.Type, e.ID, ev.Seq, ev.UserSeq, typ, id)
	}
	return ev
}

// quiet checks that no event arrives for d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case e := <-c.events:
		c.t.Fatalf("unexpected event %+v", e)
	case <-time.After(d):
	}
}

// closed waits for the server to end the stream.
func (c *client) closed(within time.Duration) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(within):
		c.t.Fatalf("stream still open after %v", within)
	}
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
