package bidding

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/natsserver"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// relayEnv is a database, a NATS server with the event stream, and a
// service committing events, for relay tests.
type relayEnv struct {
	t   *testing.T
	s   *Service
	ns  *server.Server
	js  jetstream.JetStream
	dir string
}

// newRelayEnv starts NATS with the event stream keeping duplicates only
// for dupWindow, so tests can play a relay that stalls for longer than
// JetStream's de-duplication covers.
func newRelayEnv(t *testing.T, dupWindow time.Duration) *relayEnv {
	t.Helper()
	return newRelayEnvFor(t, New(testpg.DB(t), Options{PasswordCost: bcrypt.MinCost}), dupWindow)
}

// newRelayEnvFor is newRelayEnv for a given service.
func newRelayEnvFor(t *testing.T, s *Service, dupWindow time.Duration) *relayEnv {
	t.Helper()
	e := &relayEnv{t: t, dir: t.TempDir(), s: s}
	e.startNATS(-1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := e.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: domain.StreamName, Subjects: []string{domain.StreamSubjects}, Storage: jetstream.FileStorage,
		Duplicates: dupWindow,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *relayEnv) startNATS(port int) {
	e.t.Helper()
	ns, err := natsserver.Start(natsserver.Options{StoreDir: e.dir, Port: port})
	if err != nil {
		e.t.Fatal(err)
	}
	e.ns = ns
	e.t.Cleanup(ns.Shutdown)
	if e.js != nil {
		return
	}
	nc, err := natsserver.Connect(ns.ClientURL(), nil, "relay-test", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(nc.Close)
	if e.js, err = jetstream.New(nc); err != nil {
		e.t.Fatal(err)
	}
}

// bids commits n bids on a, by two new bidders.
func (e *relayEnv) bids(a domain.Auction, n int) {
	e.t.Helper()
	x, y := mustUser(e.t, e.s, false), mustUser(e.t, e.s, false)
	for i := range n {
		cur := mustGet(e.t, e.s, a.ID)
		mustBid(e.t, e.s, []domain.User{x, y}[i%2], a.ID, domain.MinNextBid(cur), 0)
	}
}

func (e *relayEnv) auction() domain.Auction {
	e.t.Helper()
	seller := mustUser(e.t, e.s, false)
	return mustAuction(e.t, e.s, seller, func(in *domain.AuctionInput) { in.EndsAt = time.Now().Add(time.Hour) })
}

// drain runs r until the outbox is empty.
func (e *relayEnv) drain(r *Relay) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, _ = r.Once(context.Background())
		var n int64
		e.s.db.Raw("SELECT count(*) FROM events WHERE published_at IS NULL").Scan(&n)
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatal("outbox not drained within 20s")
}

// checkStream reads the whole stream and checks that it holds every event
// of the outbox exactly once, each channel's in order, each with its id
// as its Nats-Msg-Id; a pack holds one event per line.
func (e *relayEnv) checkStream() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var want int64
	e.s.db.Raw(`SELECT COALESCE(sum(CASE WHEN channel_kind = 'pack' THEN length(payload) - length(replace(payload, E'\n', ''))
		ELSE 1 END), 0) FROM events`).Scan(&want)
	stream, err := e.js.Stream(ctx, domain.StreamName)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	last := map[string]int64{}
	seen := map[string]bool{}
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			e.t.Fatalf("stream message %d: %v", seq, err)
		}
		var ev domain.Event
		if err := jsonUnmarshal(m.Data, &ev); err != nil {
			e.t.Fatal(err)
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != ev.ID {
			e.t.Fatalf("stream message %d: event %s published with Nats-Msg-Id %q", seq, ev.ID, id)
		}
		if seen[ev.ID] {
			e.t.Fatalf("event %s is in the stream twice (stream seq %d)", ev.ID, seq)
		}
		seen[ev.ID] = true
		if ev.SaleSeq != 0 {
			// A sale's log interleaves its lots' events and its own.
			k := "the log of sale " + strconv.FormatInt(ev.SaleID, 10)
			if ev.SaleSeq != last[k]+1 {
				e.t.Fatalf("%s: position %d follows %d in the stream", k, ev.SaleSeq, last[k])
			}
			last[k] = ev.SaleSeq
		}
		if ev.Type.SaleLevel() {
			continue
		}
		ch := ev.Channel().Subject()
		if s := ev.ChannelSeq(); s != last[ch]+1 {
			e.t.Fatalf("%s: seq %d follows %d in the stream", ch, s, last[ch])
		}
		last[ch] = ev.ChannelSeq()
	}
	if int64(len(seen)) != want {
		e.t.Fatalf("the stream holds %d events, the outbox %d", len(seen), want)
	}
}

// TestStalledRelayIsFenced plays a relay on a node paused between reading
// its rows and publishing them, for longer than its lease and longer than
// JetStream's Duplicates window: another relay takes over and publishes
// those rows and later ones; when the paused one wakes, JetStream refuses
// its stale messages and it marks nothing.
func TestStalledRelayIsFenced(t *testing.T) {
	stalledRelayIsFenced(t, newRelayEnv(t, 200*time.Millisecond))
}

func stalledRelayIsFenced(t *testing.T, e *relayEnv) {
	t.Helper()
	opts := RelayOptions{Lease: 300 * time.Millisecond, AckTimeout: time.Minute}
	paused := NewRelay(e.s, e.js, opts)
	other := NewRelay(e.s, e.js, opts)
	a := e.auction()
	e.bids(a, 5)

	stalled, wake := make(chan struct{}), make(chan struct{})
	paused.stall = func(t *turn) {
		close(stalled)
		<-wake
		// The relay checks its own clock before publishing; pretend it
		// did not see the pause (a VM's clock can stop with it), so that
		// only JetStream's fence stands between it and a stale publish.
		t.acquired = time.Now()
	}
	var (
		wg     sync.WaitGroup
		pubErr error
		n      int
	)
	wg.Go(func() {
		n, pubErr = paused.Once(context.Background())
	})
	<-stalled
	// The lease expires; the other relay publishes the same rows, then more.
	time.Sleep(400 * time.Millisecond)
	e.drain(other)
	e.bids(a, 5)
	e.drain(other)
	// Past the Duplicates window, a re-publish is no longer dropped.
	time.Sleep(500 * time.Millisecond)
	close(wake)
	wg.Wait()
	paused.stall = nil
	if n != 0 {
		t.Fatalf("the stalled relay reports %d events published", n)
	}
	if !isFenced(pubErr) && !errors.Is(pubErr, errTurnLost) {
		t.Fatalf("the stalled relay's round ended with %v, want a fence refusal or a lost turn", pubErr)
	}
	// The refusal must leave the stream writable: both relays carry on.
	e.bids(a, 3)
	e.drain(paused)
	e.bids(a, 3)
	e.drain(other)
	e.checkStream()
}

// TestRelayMarksWhatAnotherTurnPublished: a relay that published but never
// marked (its node lost the database, then the Duplicates window passed)
// left messages in the stream; the next turn finds them and publishes
// nothing twice.
func TestRelayMarksWhatAnotherTurnPublished(t *testing.T) {
	e := newRelayEnv(t, 200*time.Millisecond)
	a := e.auction()
	e.bids(a, 6)
	var rows []pendingEvent
	e.s.db.Raw("SELECT id, subject, event_id, payload FROM events WHERE published_at IS NULL ORDER BY id LIMIT 4").Scan(&rows)
	ctx := context.Background()
	for _, row := range rows {
		if _, err := e.js.PublishMsg(ctx, &nats.Msg{Subject: row.Subject, Data: []byte(row.Payload)}, jetstream.WithMsgID(row.EventID)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	e.drain(NewRelay(e.s, e.js, RelayOptions{}))
	e.checkStream()
}

// TestRelayLogsRecoveryOnlyWhenPublishing: with NATS down, rounds that find
// nothing to publish must not announce that publishing works again.
func TestRelayLogsRecoveryOnlyWhenPublishing(t *testing.T) {
	e := newRelayEnv(t, time.Minute)
	var logs syncBuffer
	e.s.log = slog.New(slog.NewTextHandler(&logs, nil))
	r := NewRelay(e.s, e.js, RelayOptions{Poll: 20 * time.Millisecond, AckTimeout: 300 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	a := e.auction()
	e.drain(r)
	port := e.ns.Addr().(*net.TCPAddr).Port
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
	e.bids(a, 3)
	waitLog(t, &logs, "relay cannot publish")
	// On a loaded machine a round that began before the outage can still
	// publish, find what it published, and log a real recovery before it
	// fails for good: wait until the relay has settled on failing.
	settleFailing(t, &logs)
	// Another node's relay takes the turn (and fails too): this relay's
	// rounds now end without an error, having done nothing, which must not
	// count as recovery.
	hold := func(holder, expiry string) {
		t.Helper()
		if err := e.s.db.Exec("UPDATE relay_lease SET holder = ?, expires_at = "+expiry+" WHERE id = 1", holder).Error; err != nil {
			t.Fatal(err)
		}
	}
	hold("another-node", "now() + interval '1 hour'")
	mark := len(logs.String())
	time.Sleep(500 * time.Millisecond)
	if strings.Contains(logs.String()[mark:], "relay publishing again") {
		t.Fatalf("recovery logged while NATS is down:\n%s", logs.String())
	}
	hold("another-node", "now()")
	e.startNATS(port)
	waitLog(t, &logs, "relay publishing again")
	e.checkStream()
}

func waitLog(t *testing.T, logs *syncBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", s, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settleFailing waits until the relay's last word is that it cannot
// publish, and it has said nothing new for half a second.
func settleFailing(t *testing.T, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last, since := "", time.Now()
	for {
		s := logs.String()
		if s != last {
			last, since = s, time.Now()
		}
		failing := strings.LastIndex(s, "relay cannot publish") > strings.LastIndex(s, "relay publishing again")
		if failing && time.Since(since) >= 500*time.Millisecond {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relay did not settle on failing with NATS down:\n%s", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
