package realtime

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gavel-auctions/gavel/domain"
)

func TestSnapshotThenLiveInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	h, _ := e.hub(Config{Now: func() time.Time { return now }})
	e.seed(1, 5)

	c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
	head := <-c.head
	for _, want := range []string{
		"HTTP/1.1 200 OK\r\n", "Content-Type: text/event-stream\r\n", "Cache-Control: no-cache\r\n",
		"X-Accel-Buffering: no\r\n", "X-Content-Type-Options: nosniff\r\n", "Connection: close\r\n",
	} {
		if !strings.Contains(head, want) {
			t.Errorf("response head lacks %q:\n%s", want, head)
		}
	}
	snap := c.expect(domain.EventSnapshot, "1:5")
	if snap.Seq != 5 || snap.Reset || !snap.ServerTime.Equal(now) || snap.EndsAt.IsZero() {
		t.Fatalf("snapshot = %+v", snap)
	}
	if r := c.retryMS(); r < 500 || r > 3000 {
		t.Errorf("retry = %d, want 500..3000 (the default 3s, jittered down to a sixth)", r)
	}
	for s := int64(6); s <= 20; s++ {
		e.publish(auctionEvent(1, s, domain.EventExtended))
	}
	for s := int64(6); s <= 20; s++ {
		ev := c.expect(domain.EventExtended, "1:"+itoa(s))
		if !ev.ServerTime.Equal(now) {
			t.Fatalf("server_time = %v, want the node clock %v", ev.ServerTime, now)
		}
	}
}

func TestDuplicatesDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	e.seed(1, 3)
	c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
	c.expect(domain.EventSnapshot, "1:3")

	ev4 := auctionEvent(1, 4, domain.EventExtended)
	e.publish(ev4)
	e.publishOnly(ev4)                                      // redelivery
	e.publishOnly(auctionEvent(1, 2, domain.EventExtended)) // stale
	e.publish(auctionEvent(1, 5, domain.EventExtended))
	c.expect(domain.EventExtended, "1:4")
	c.expect(domain.EventExtended, "1:5")
	c.quiet(200 * time.Millisecond)
}

func TestGapFilledFromLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	e.seed(1, 3)
	c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
	c.expect(domain.EventSnapshot, "1:3")

	// Events 4 and 5 commit but NATS loses them; 6 arrives.
	e.log.add(t, auctionEvent(1, 4, domain.EventExtended))
	e.log.add(t, auctionEvent(1, 5, domain.EventPrice))
	e.publish(auctionEvent(1, 6, domain.EventExtended))
	c.expect(domain.EventExtended, "1:4")
	c.expect(domain.EventPrice, "1:5")
	c.expect(domain.EventExtended, "1:6")
	e.publish(auctionEvent(1, 7, domain.EventClosed))
	c.expect(domain.EventClosed, "1:7")
}

func TestResumeReplaysExactlyTheMissedEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		watched bool // another watcher keeps the topic (and its ring) warm
		cursor  string
		wantLog bool
	}{
		{"cold node reads the log", false, "1:4", true},
		{"warm node serves from its ring", true, "1:4", false},
		{"up to date", true, "1:10", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			h, _ := e.hub(Config{})
			e.seed(1, 2)
			if tt.watched {
				w := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
				w.expect(domain.EventSnapshot, "1:2")
				for s := int64(3); s <= 10; s++ {
					e.publish(auctionEvent(1, s, domain.EventExtended))
					w.expect(domain.EventExtended, "1:"+itoa(s))
				}
			} else {
				for s := int64(3); s <= 10; s++ {
					e.log.add(t, auctionEvent(1, s, domain.EventExtended))
				}
			}
			before := e.log.count("After")
			c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}, LastEventID: tt.cursor})
			from, _ := parseCursor(tt.cursor)
			for s := from.auctions[0].seq + 1; s <= 10; s++ {
				c.expect(domain.EventExtended, "1:"+itoa(s))
			}
			e.publish(auctionEvent(1, 11, domain.EventExtended))
			c.expect(domain.EventExtended, "1:11")
			if used := e.log.count("After") > before; used != tt.wantLog {
				t.Errorf("read the log: %v, want %v", used, tt.wantLog)
			}
		})
	}
}

func TestResumeOlderThanLogGetsResetSnapshot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cursor string
		reset        bool
	}{
		{"trimmed", "1:3", true},
		{"from the future", "1:999", true},
		{"malformed means fresh", "1:3:x", false},
		{"other auction only", "2:3", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			h, _ := e.hub(Config{})
			e.seed(1, 10)
			e.log.trim(domain.AuctionChannel(1), 6)
			c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}, LastEventID: tt.cursor})
			snap := c.expect(domain.EventSnapshot, "1:10")
			if snap.Reset != tt.reset || snap.Seq != 10 {
				t.Fatalf("snapshot seq %d reset %v, want 10 %v", snap.Seq, snap.Reset, tt.reset)
			}
			e.publish(auctionEvent(1, 11, domain.EventExtended))
			c.expect(domain.EventExtended, "1:11")
		})
	}
}

func TestTopicTrimmedDuringOutageResets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	e.seed(1, 2)
	c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
	c.expect(domain.EventSnapshot, "1:2")
	for s := int64(3); s <= 8; s++ {
		e.log.add(t, auctionEvent(1, s, domain.EventExtended))
	}
	e.log.trim(domain.AuctionChannel(1), 5)
	e.publish(auctionEvent(1, 9, domain.EventExtended))
	snap := c.expect(domain.EventSnapshot, "1:9")
	if !snap.Reset {
		t.Fatal("want reset:true")
	}
	e.publish(auctionEvent(1, 10, domain.EventExtended))
	c.expect(domain.EventExtended, "1:10")
}

func TestMultiChannelCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	e.seed(1, 5)
	e.seed(2, 3)
	spec := domain.StreamSpec{UserID: 9, AuctionIDs: []int64{1, 2}, Personal: true}
	c := dial(t, h, spec)
	c.expect(domain.EventSnapshot, "1:5")
	c.expect(domain.EventSnapshot, "1:5,2:3")
	waitFor(t, "stream live", func() bool { return liveChannels(h) == 3 })
	e.publish(auctionEvent(2, 4, domain.EventExtended))
	c.expect(domain.EventExtended, "1:5,2:4,u:0")
	e.publish(personalEvent(9, 1, 2))
	c.expect(domain.EventOutbid, "1:5,2:4,u:1")
	e.publish(auctionEvent(1, 6, domain.EventExtended))
	c.expect(domain.EventExtended, "1:6,2:4,u:1")

	// Missed while away: one event of auction 2 and one personal event.
	_ = c.nc.Close()
	e.publish(auctionEvent(2, 5, domain.EventExtended))
	e.publish(personalEvent(9, 2, 1))
	spec.LastEventID = "1:6,2:4,u:1"
	c2 := dial(t, h, spec)
	// Channels are independent: each event advances exactly one position.
	prev := spec.LastEventID
	for range 2 {
		ev := c2.next()
		stepsByOne(t, prev, ev.ID)
		prev = ev.ID
	}
	if prev != "1:6,2:5,u:2" {
		t.Fatalf("resume ended at %s", prev)
	}
	c2.quiet(200 * time.Millisecond)
}

// liveChannels counts channel memberships that are live on h.
func liveChannels(h *Hub) int {
	n := 0
	for _, t := range h.allTopics() {
		t.mu.Lock()
		for _, w := range t.watchers {
			w.c.mu.Lock()
			if w.c.chans[w.i].live {
				n++
			}
			w.c.mu.Unlock()
		}
		t.mu.Unlock()
	}
	return n
}

func TestPersonalEventsReachOnlyTheirUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	alice := dial(t, h, domain.StreamSpec{UserID: 5, Personal: true})
	bob := dial(t, h, domain.StreamSpec{UserID: 6, Personal: true})
	waitFor(t, "streams live", func() bool { return liveChannels(h) == 2 })
	e.publish(personalEvent(5, 1, 3))
	ev := alice.expect(domain.EventOutbid, "u:1")
	if ev.UserID != 5 {
		t.Fatalf("alice got %+v", ev)
	}
	bob.quiet(200 * time.Millisecond)
}

func TestConnectionCaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{MaxConns: 3, MaxConnsPerUser: 2})
	open := func(user int64) (func(net.Conn), error) {
		return h.Open(domain.StreamSpec{UserID: user, AuctionIDs: []int64{1}})
	}
	steps := []struct {
		user int64
		want domain.Code
	}{
		{1, ""}, {1, ""}, {1, domain.CodeRateLimited}, {2, ""}, {3, domain.CodeUnavailable}, {0, domain.CodeUnavailable},
	}
	var serves []func(net.Conn)
	for i, s := range steps {
		serve, err := open(s.user)
		if got := domain.ErrorCode(err); got != s.want {
			t.Fatalf("step %d (user %d): code %q, want %q", i, s.user, got, s.want)
		}
		if err == nil {
			serves = append(serves, serve)
		}
	}
	serves[0](nil) // the hijack failed: user 1's admission is returned
	if _, err := open(1); err != nil {
		t.Fatalf("user 1 after serve(nil): %v", err)
	}
	if _, err := open(3); domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Fatalf("node full again: %v", err)
	}

	for _, spec := range []domain.StreamSpec{
		{},
		{AuctionIDs: []int64{-1}},
		{Personal: true},
		{All: true},
	} {
		if _, err := h.Open(spec); domain.ErrorCode(err) == "" || domain.ErrorCode(err) == domain.CodeInternal {
			t.Errorf("Open(%+v) = %v, want a business error", spec, err)
		}
	}
}

func TestSuspensionClosesTheUsersStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	e.seed(1, 1)
	a1 := dial(t, h, domain.StreamSpec{UserID: 5, AuctionIDs: []int64{1}})
	a2 := dial(t, h, domain.StreamSpec{UserID: 5, Personal: true})
	b := dial(t, h, domain.StreamSpec{UserID: 6, AuctionIDs: []int64{1}})
	a1.expect(domain.EventSnapshot, "1:1")
	b.expect(domain.EventSnapshot, "1:1")

	data, _ := json.Marshal(domain.Event{Type: domain.EventSuspended, UserID: 5, Reason: "fraud"})
	if err := e.pub.Publish(domain.ControlSuspendedPrefix+"5", data); err != nil {
		t.Fatal(err)
	}
	a1.closed(2 * time.Second)
	a2.closed(2 * time.Second)
	// The node remembers the suspension: a stream the web layer admitted
	// from a user record cached a moment earlier is refused.
	if _, err := h.Open(domain.StreamSpec{UserID: 5, AuctionIDs: []int64{1}}); domain.ErrorCode(err) != domain.CodeForbidden {
		t.Fatalf("Open for a suspended user = %v, want forbidden", err)
	}
	e.publish(auctionEvent(1, 2, domain.EventExtended))
	b.expect(domain.EventExtended, "1:2")
	waitFor(t, "one connection left", func() bool { return h.Stats().Connections == 1 })
}

func TestAdminStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{StatsInterval: 50 * time.Millisecond, Node: "n1"})
	e.seed(1, 2)
	e.seed(2, 4)
	closed := auctionEvent(3, 1, domain.EventClosed)
	closed.Status = domain.StatusClosed
	e.log.add(t, closed)

	c := dial(t, h, domain.StreamSpec{UserID: 1, Admin: true, All: true})
	snaps := map[int64]int64{}
	var sawStats bool
	for len(snaps) < 2 {
		ev := c.next()
		if ev.ID != "" {
			t.Fatalf("admin event with id %q", ev.ID)
		}
		if ev.Type == "stats" {
			sawStats = true
			continue
		}
		var d domain.Event
		_ = json.Unmarshal([]byte(ev.Data), &d)
		if ev.Type != "snapshot" {
			t.Fatalf("got %s before the snapshots", ev.Type)
		}
		snaps[d.AuctionID] = d.Seq
	}
	if snaps[1] != 2 || snaps[2] != 4 {
		t.Fatalf("snapshots %v", snaps)
	}
	waitFor(t, "admin live", func() bool { return liveAdmins(h) == 1 })
	e.publish(auctionEvent(4, 1, domain.EventOpened))
	e.publish(auctionEvent(2, 5, domain.EventPrice))
	got := map[string]bool{}
	deadline := time.After(5 * time.Second)
	for !(got["opened 4"] && got["price 2"] && sawStats) {
		select {
		case ev := <-c.events:
			if ev.ID != "" {
				t.Fatalf("admin event with id %q", ev.ID)
			}
			if ev.Type == "stats" {
				var s statsEvent
				if err := json.Unmarshal([]byte(ev.Data), &s); err != nil || len(s.Nodes) == 0 || s.Nodes[0].Node != "n1" {
					t.Fatalf("stats %q: %v", ev.Data, err)
				}
				sawStats = true
				continue
			}
			var d domain.Event
			_ = json.Unmarshal([]byte(ev.Data), &d)
			got[ev.Type+" "+itoa(d.AuctionID)] = true
		case <-deadline:
			t.Fatalf("got %v, stats %v", got, sawStats)
		}
	}
}

func liveAdmins(h *Hub) int {
	n := 0
	for _, t := range h.allTopics() {
		// release clears multi under t.mu when the last watcher leaves,
		// so it is read under the lock too.
		t.mu.Lock()
		if t.multi == nil {
			t.mu.Unlock()
			continue
		}
		for _, w := range t.watchers {
			w.c.mu.Lock()
			if !w.c.holding {
				n++
			}
			w.c.mu.Unlock()
		}
		t.mu.Unlock()
	}
	return n
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestRingReplayEndsWithFreshServerTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var clock atomic.Int64
	t1, t2 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2031, 1, 1, 0, 5, 0, 0, time.UTC)
	clock.Store(t1.UnixNano())
	h, _ := e.hub(Config{Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }})
	e.seed(1, 1)
	w := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
	w.expect(domain.EventSnapshot, "1:1")
	for s := int64(2); s <= 4; s++ {
		e.publish(auctionEvent(1, s, domain.EventExtended))
		w.expect(domain.EventExtended, "1:"+itoa(s))
	}
	clock.Store(t2.UnixNano())
	c := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}, LastEventID: "1:2"})
	if ev := c.expect(domain.EventExtended, "1:3"); !ev.ServerTime.Equal(t1) {
		t.Errorf("shared ring frame: server_time %v, want %v", ev.ServerTime, t1)
	}
	if ev := c.expect(domain.EventExtended, "1:4"); !ev.ServerTime.Equal(t2) {
		t.Errorf("newest replayed event: server_time %v, want now %v", ev.ServerTime, t2)
	}
}

func TestMetricsAreRegistered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	h, err := New(Config{}, e.conn("m"), e.log, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = h.Shutdown(context.Background()) }()
	ev := auctionEvent(1, 1, domain.EventPrice)
	ev.CommittedAt = time.Now().Add(-30 * time.Millisecond)
	h.onDelivered(mustFrame(t, ev, "1:1"), false)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range families {
		got[f.GetName()] = true
		if f.GetName() == "gavel_realtime_delivery_lag_seconds" {
			if n := f.GetMetric()[0].GetHistogram().GetSampleCount(); n != 1 {
				t.Errorf("lag samples = %d", n)
			}
		}
	}
	for _, name := range []string{
		"gavel_realtime_connections", "gavel_realtime_watchers", "gavel_realtime_topics",
		"gavel_realtime_events_delivered_total", "gavel_realtime_slow_consumers_total",
		"gavel_realtime_delivery_lag_seconds", "gavel_realtime_replay_age_seconds",
	} {
		if !got[name] {
			t.Errorf("metric %s not registered", name)
		}
	}
	// A second hub on the same registry must fail loudly, not half-register.
	if _, err := New(Config{}, e.conn("m2"), e.log, nil, reg); err == nil {
		t.Error("duplicate registration accepted")
	}
}

// TestHeadBeforeAnything opens many streams under a 1 ms heartbeat: every
// one must start with the HTTP status line. (A heartbeat written before the
// head, seen once in 100,000 connects under load, is not HTTP at all; that
// race window is too narrow for this test to hit reliably, so serve now
// queues the head before any writer or topic can see the connection.)
func TestHeadBeforeAnything(t *testing.T) {
	e := newEnv(t)
	h, _ := e.hub(Config{Heartbeat: time.Millisecond})
	e.seed(1, 1)
	for i := range 200 {
		serve, err := h.Open(domain.StreamSpec{UserID: int64(i%50 + 1), AuctionIDs: []int64{1}})
		if err != nil {
			t.Fatal(err)
		}
		cli, srv := tcpPair(t, 0)
		go serve(srv)
		_ = cli.SetReadDeadline(time.Now().Add(5 * time.Second))
		first := make([]byte, len("HTTP/1.1 200"))
		if _, err := io.ReadFull(cli, first); err != nil {
			t.Fatal(err)
		}
		if string(first) != "HTTP/1.1 200" {
			t.Fatalf("connection %d began with %q", i, first)
		}
		_ = cli.Close()
	}
}

// Stats flow only while some node has an admin stream: a cluster nobody
// administers publishes nothing, a new admin on one node hears every node,
// and publishing stops again after the last admin leaves.
func TestStatsOnDemand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const interval = 50 * time.Millisecond
	h1, _ := e.hub(Config{StatsInterval: interval, Node: "n1"})
	e.hub(Config{StatsInterval: interval, Node: "n2"})
	var published atomic.Int64
	sub, err := e.pub.Subscribe(domain.StatsSubjectPrefix+">", func(*nats.Msg) { published.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := e.pub.Flush(); err != nil {
		t.Fatal(err)
	}

	time.Sleep(6 * interval)
	if n := published.Load(); n != 0 {
		t.Fatalf("%d stats published with no admin stream anywhere", n)
	}

	c := dial(t, h1, domain.StreamSpec{UserID: 1, Admin: true, All: true})
	nodes := func() map[string]bool {
		ev := c.next()
		for ev.Type != "stats" {
			ev = c.next()
		}
		var s statsEvent
		if err := json.Unmarshal([]byte(ev.Data), &s); err != nil {
			t.Fatalf("stats %q: %v", ev.Data, err)
		}
		out := map[string]bool{}
		for _, n := range s.Nodes {
			out[n.Node] = true
		}
		return out
	}
	deadline := time.Now().Add(5 * time.Second)
	for got := nodes(); !got["n1"] || !got["n2"]; got = nodes() {
		if time.Now().After(deadline) {
			t.Fatalf("admin on n1 hears nodes %v, want n1 and n2", got)
		}
	}

	_ = c.nc.Close()
	waitFor(t, "admin gone", func() bool { return !h1.hasAdminStreams() })
	// n2 keeps publishing for three intervals after the last request, then
	// falls quiet. A loaded machine may run a round late, so look for a
	// quiet window of six intervals within a generous deadline rather than
	// at one fixed moment.
	deadline = time.Now().Add(10 * time.Second)
	for {
		before := published.Load()
		time.Sleep(6 * interval)
		n := published.Load() - before
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d stats published in the last %v, long after the last admin left", n, 6*interval)
		}
	}
}
