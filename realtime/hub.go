// Package realtime turns committed events, published on NATS by the outbox
// relay, into Server-Sent Event streams for every watcher. A Hub owns the
// node's hijacked stream connections: a sharded set of topics (one NATS
// subscription per channel with local watchers), a few shared writer
// goroutines that do all socket work, and gap-free delivery backed by the
// shared event Log.
package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gavel-auctions/gavel/domain"
)

// Config holds a Hub's settings. Zero values take the defaults noted.
type Config struct {
	// Node names this node in stats (default: the host name).
	Node string
	// Heartbeat is how often a stream gets a comment line (default 15s). A
	// departed client is noticed and released within a fifth of it (at
	// most 3s) on Linux, and within a whole Heartbeat elsewhere.
	Heartbeat time.Duration
	// Retry is the reconnection delay sent to browsers (default 3s).
	Retry time.Duration
	// MaxConns caps this node's streams (default 19000: the process may
	// open 20000 files).
	MaxConns int
	// MaxConnsPerUser caps one user's streams on this node (default 16).
	MaxConnsPerUser int
	// QueueLen bounds the frames queued for one connection; a connection
	// that falls further behind is closed as a slow consumer (default 64).
	QueueLen int
	// WriteTimeout is the write deadline: a connection whose socket stays
	// full this long, without taking a byte, is closed as a slow consumer.
	// Writers never block on it (default 5s).
	WriteTimeout time.Duration
	// StatsInterval is how often the node publishes its stats and admin
	// streams get a stats event (default 2s), while some node in the
	// cluster has an admin stream.
	StatsInterval time.Duration
	// Writers is the number of shared writer goroutines (default GOMAXPROCS).
	Writers int
	// Now is the server clock (UTC) stamped into server_time (default time.Now).
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.Node == "" {
		c.Node, _ = os.Hostname()
		if c.Node == "" {
			c.Node = "realtime"
		}
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.Retry <= 0 {
		c.Retry = 3 * time.Second
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 19000
	}
	if c.MaxConnsPerUser <= 0 {
		c.MaxConnsPerUser = 16
	}
	if c.QueueLen <= 0 {
		c.QueueLen = 64
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 5 * time.Second
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = 2 * time.Second
	}
	if c.Writers <= 0 {
		c.Writers = runtime.GOMAXPROCS(0)
	}
	if c.Now == nil {
		c.Now = func() time.Time { return time.Now().UTC() }
	}
}

// Internal sizes.
const (
	shardBits   = 4
	shardMsgs   = 8192 // NATS messages a shard buffers before nats.go drops (then caught up from the Log)
	fillWorkers = 4
	userShards  = 16
)

// Hub serves SSE streams on one node. Create it with New, start it with
// Run, hand it connections through Open.
type Hub struct {
	cfg    Config
	nc     *nats.Conn
	log    Log
	logger *slog.Logger
	m      *metrics

	preamble   []byte // response head + retry, shared by every stream
	tick       time.Duration
	beatEvery  time.Duration // between heartbeat slices
	beatSlices int           // slices per Heartbeat
	shards     []*shard
	writers    []*writer
	users      [userShards]userShard
	fills      fillQueue
	snaps      snapBatcher
	nextW      atomic.Uint32

	conns         atomic.Int64 // admitted streams
	watchers      atomic.Int64 // channel memberships over all topics
	topics        atomic.Int64
	delivered     atomic.Uint64 // event frames written
	slowConsumers atomic.Uint64
	gen           atomic.Uint64 // NATS reconnects seen; a join that spans one catches up
	reconnected   chan struct{} // capacity 1: Reconnected was called
	statsKick     chan struct{} // capacity 1: stats became wanted
	statsWanted   atomic.Int64  // UnixNano until which another node wants stats

	ctx      context.Context // cancelled by Shutdown; bounds Log reads
	cancel   context.CancelFunc
	stop     chan struct{}
	stopOnce sync.Once
	closing  atomic.Bool
	started  atomic.Bool
	wg       sync.WaitGroup
	finalMu  sync.Mutex // serializes the writers' final release

	stats statsState
}

// New builds a Hub. nc should reconnect forever (natsserver.Connect's
// does); reg may be nil to skip metrics registration.
func New(cfg Config, nc *nats.Conn, log Log, logger *slog.Logger, reg prometheus.Registerer) (*Hub, error) {
	if nc == nil || log == nil {
		return nil, errors.New("realtime: New needs a NATS connection and a Log")
	}
	cfg.defaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Hub{cfg: cfg, nc: nc, log: log, logger: logger, stop: make(chan struct{}), reconnected: make(chan struct{}, 1), statsKick: make(chan struct{}, 1)}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.preamble = streamPreamble(cfg.Retry)
	// The writers retry full sockets every tick, and visit a slice of their
	// connections for heartbeats on every beat slot.
	h.tick = min(max(cfg.Heartbeat/50, 5*time.Millisecond), 100*time.Millisecond)
	h.beatEvery, h.beatSlices = beatPlan(cfg.Heartbeat)
	h.fills.notify = make(chan struct{}, 1)
	h.snaps.read = h.logSnapshots
	for i := range cfg.Writers {
		h.writers = append(h.writers, newWriter(h, i))
	}
	for range 1 << shardBits {
		h.shards = append(h.shards, &shard{h: h, topics: make(map[domain.Channel]*topic), msgs: make(chan *nats.Msg, shardMsgs)})
	}
	for i := range h.users {
		h.users[i].m = make(map[int64]*userConns)
	}
	m, err := newMetrics(h, reg)
	if err != nil {
		return nil, err
	}
	h.m = m
	for _, w := range h.writers {
		w.done = h.onDelivered
	}
	return h, nil
}

// Run starts the writers, dispatchers, fill workers and the control and
// stats subscriptions, and returns when ctx ends or Shutdown is called,
// after shutting the hub down.
func (h *Hub) Run(ctx context.Context) error {
	if !h.started.CompareAndSwap(false, true) {
		return errors.New("realtime: Run called twice")
	}
	if h.closing.Load() {
		return errors.New("realtime: hub is shut down")
	}
	ctl, err := h.nc.Subscribe(domain.ControlSubjects, h.onControl)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", domain.ControlSubjects, err)
	}
	st, err := h.nc.Subscribe(domain.StatsSubjectPrefix+">", h.onStats)
	if err != nil {
		_ = ctl.Unsubscribe()
		return fmt.Errorf("subscribe %s: %w", domain.StatsSubjectPrefix+">", err)
	}
	want, err := h.nc.Subscribe(domain.StatsWantSubject, h.onStatsWant)
	if err != nil {
		_, _ = ctl.Unsubscribe(), st.Unsubscribe()
		return fmt.Errorf("subscribe %s: %w", domain.StatsWantSubject, err)
	}
	defer func() { _, _, _ = ctl.Unsubscribe(), st.Unsubscribe(), want.Unsubscribe() }()
	// React to a reconnect at once; maintain's poll is the backstop.
	prev := h.nc.ReconnectHandler()
	h.nc.SetReconnectHandler(func(c *nats.Conn) {
		if prev != nil {
			prev(c)
		}
		h.Reconnected()
	})
	defer h.nc.SetReconnectHandler(prev)
	// Suspensions must be in force before this node serves anyone.
	_ = h.nc.FlushTimeout(time.Second)

	h.spawn(func() { h.maintain(h.stop) })
	for _, w := range h.writers {
		h.spawn(func() { w.run(h.stop) })
	}
	for _, s := range h.shards {
		h.spawn(func() { s.run(h.stop) })
	}
	for range fillWorkers {
		h.spawn(func() { h.fillWorker(h.stop) })
	}
	select {
	case <-ctx.Done():
	case <-h.stop:
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return h.Shutdown(sctx)
}

func (h *Hub) spawn(f func()) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		f()
	}()
}

// maintain runs the periodic work: stats while someone wants them,
// noticing NATS reconnects, and noticing messages nats.go dropped.
//
// An idle node should sleep: on this kind of VM every timer that fires
// costs tens of microseconds of waking threads. So stats only tick while
// an admin somewhere watches, and the poll fires on the writers' heartbeat
// slots, where the process is awake anyway.
func (h *Hub) maintain(stop <-chan struct{}) {
	var stats *time.Ticker
	var statsC <-chan time.Time // nil while nobody wants stats
	defer func() {
		if stats != nil {
			stats.Stop()
		}
	}()
	// The poll backstops the reconnect handler Run installs, and notices
	// messages dropped at the end of a burst, which no later message's
	// sequence gap would reveal.
	every := pollEvery(h.beatEvery)
	poll := time.NewTimer(time.Until(slotAfter(time.Now(), every)))
	defer poll.Stop()
	reconnects := h.nc.Stats().Reconnects
	for {
		select {
		case <-stop:
			return
		case <-h.statsKick:
			if stats == nil {
				h.restartRate()
				stats = time.NewTicker(h.cfg.StatsInterval)
				statsC = stats.C
			}
			h.statsRound()
		case <-statsC:
			if !h.statsRound() {
				stats.Stop()
				stats, statsC = nil, nil
			}
		case <-h.reconnected:
			reconnects = h.nc.Stats().Reconnects
			h.afterReconnect()
		case <-poll.C:
			if r := h.nc.Stats().Reconnects; r != reconnects {
				reconnects = r
				h.afterReconnect()
			}
			h.checkDropped()
			poll.Reset(time.Until(slotAfter(time.Now(), every)))
		}
	}
}

// pollEvery is maintain's poll period: the heartbeat slot, or the
// smallest multiple of it that is at least a second, so that every poll
// falls on a slot.
func pollEvery(beatEvery time.Duration) time.Duration {
	return beatEvery * max(1, (time.Second+beatEvery-1)/beatEvery)
}

// slotAfter is the first multiple of every on the wall clock after now.
func slotAfter(now time.Time, every time.Duration) time.Time {
	return now.Truncate(every).Add(every)
}

// Reconnected tells the hub that its NATS connection reconnected. Run
// installs it as the connection's reconnect handler (chained after any
// existing one) and also polls the connection's statistics; it does not
// block.
func (h *Hub) Reconnected() {
	select {
	case h.reconnected <- struct{}{}:
	default:
	}
}

// afterReconnect makes every topic catch up from the Log: NATS may have
// lost messages while we were away, and no new event may ever arrive to
// reveal the gap. The flush first makes sure the server has our
// re-sent subscriptions, so nothing committed after the Log read is missed.
func (h *Hub) afterReconnect() {
	h.m.reconnects.Inc()
	h.gen.Add(1)
	_ = h.nc.FlushTimeout(time.Second)
	h.catchUpAll()
}

// Shutdown ends every stream (clients reconnect elsewhere with their
// Last-Event-ID), unsubscribes and stops the hub's goroutines. It is
// idempotent and returns ctx's error if the goroutines outlive ctx.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.closing.Store(true)
	h.stopOnce.Do(func() {
		h.cancel()
		close(h.stop)
	})
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	// The writer goroutines have exited: release what they owned.
	h.finalMu.Lock()
	defer h.finalMu.Unlock()
	for _, w := range h.writers {
		w.stopAll()
	}
	return nil
}

// Open admits a stream and returns serve, which takes over the hijacked
// connection. It satisfies web.Streams. err is a *domain.Error:
// rate_limited (this user's cap), unavailable (this node's cap or
// shutdown), invalid, unauthorized or forbidden (a spec the web layer
// should not have built). Anonymous watchers (UserID 0) count only
// against the node's cap. serve writes the response head and returns once
// the stream is live (after its snapshot or replay); serve(nil) returns
// the admission when the hijack failed.
func (h *Hub) Open(spec domain.StreamSpec) (serve func(net.Conn), err error) {
	if h.closing.Load() {
		return nil, &domain.Error{Code: domain.CodeUnavailable, Message: "This server is restarting. Please try again."}
	}
	chans, err := channelsFor(spec)
	if err != nil {
		return nil, err
	}
	if h.conns.Add(1) > int64(h.cfg.MaxConns) {
		h.conns.Add(-1)
		h.m.rejected.WithLabelValues("node").Inc()
		return nil, &domain.Error{Code: domain.CodeUnavailable, Message: "This server is full. Please try again shortly."}
	}
	if spec.UserID != 0 && h.userShard(spec.UserID).suspended(spec.UserID, h.cfg.Now()) {
		h.conns.Add(-1)
		return nil, domain.ErrSuspended
	}
	if spec.UserID != 0 && !h.userShard(spec.UserID).admit(spec.UserID, h.cfg.MaxConnsPerUser) {
		h.conns.Add(-1)
		h.m.rejected.WithLabelValues("user").Inc()
		return nil, &domain.Error{Code: domain.CodeRateLimited, Message: "Too many live streams are open. Close a tab and try again."}
	}
	var used atomic.Bool
	return func(nc net.Conn) {
		if !used.CompareAndSwap(false, true) {
			if nc != nil {
				_ = nc.Close()
			}
			return
		}
		if nc == nil {
			h.unadmit(spec.UserID)
			return
		}
		h.serve(spec, chans, nc)
	}, nil
}

// unadmit returns an admission that never became a stream.
func (h *Hub) unadmit(user int64) {
	if user != 0 {
		h.userShard(user).leave(user, nil)
	}
	h.conns.Add(-1)
}

// detach undoes everything serve did for c: topics, user registry,
// admission. The writer calls it once, when it releases c.
func (h *Hub) detach(c *conn) {
	for i := range c.chans {
		if t := c.chans[i].t; t != nil {
			t.detach(c, i)
			h.release(t)
		}
	}
	h.unadmitConn(c)
}

func (h *Hub) unadmitConn(c *conn) {
	if c.user != 0 {
		h.userShard(c.user).leave(c.user, c)
	}
	h.conns.Add(-1)
}

// slowConsumer counts and closes a connection that fell behind.
func (h *Hub) slowConsumer(c *conn) {
	h.slowConsumers.Add(1)
	c.w.requestClose(c)
}

// closeConn asks c's writer to close it.
func (h *Hub) closeConn(c *conn) {
	c.mu.Lock()
	if c.state == stateOpen {
		c.state = stateClosing
		c.q, c.hold = nil, nil
	}
	c.mu.Unlock()
	c.w.requestClose(c)
}

// onControl handles control events; a suspension closes the user's streams
// on this node at once (the web layer refuses their reconnects).
func (h *Hub) onControl(m *nats.Msg) {
	var ev domain.Event
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		h.m.badMessages.Inc()
		return
	}
	if ev.Type != domain.EventSuspended || ev.UserID == 0 {
		return
	}
	for _, c := range h.userShard(ev.UserID).suspend(ev.UserID, h.cfg.Now()) {
		h.closeConn(c)
	}
	h.m.suspensions.Inc()
}

// suspendedMemory is how long a node remembers a suspension, to refuse and
// close the user's streams that were being set up when it arrived, or that
// the web layer admitted from a user record cached before it.
const suspendedMemory = time.Minute

// userShard returns the registry shard of a user.
func (h *Hub) userShard(user int64) *userShard {
	return &h.users[uint64(user)%userShards]
}

// userShard counts each user's streams for the per-user cap and lists them
// for suspensions.
type userShard struct {
	mu    sync.Mutex
	m     map[int64]*userConns
	until map[int64]time.Time // user → until when a suspension is remembered
}

type userConns struct {
	n     int     // admitted, including streams not yet registered
	conns []*conn // registered streams
}

func (s *userShard) admit(user int64, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.m[user]
	if u == nil {
		u = &userConns{}
		s.m[user] = u
	}
	if u.n >= limit {
		return false
	}
	u.n++
	return true
}

// register lists c for suspensions, and reports false if its user was
// suspended meanwhile: the caller closes it. c may already have been
// released (its client left at once); its release then ran leave first,
// and c must not be listed. Both run under s.mu, so checking c's state
// here is enough.
func (s *userShard) register(c *conn, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until, ok := s.until[c.user]; ok && now.Before(until) {
		return false
	}
	c.mu.Lock()
	released := c.state == stateReleased
	c.mu.Unlock()
	if u := s.m[c.user]; u != nil && !released {
		u.conns = append(u.conns, c)
	}
	return true
}

// suspend remembers a suspension and returns the user's registered streams
// to close. Under s.mu, so a stream registers either before (and is
// returned) or after (and is refused).
func (s *userShard) suspend(user int64, now time.Time) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.until == nil {
		s.until = map[int64]time.Time{}
	}
	for u, until := range s.until {
		if !now.Before(until) {
			delete(s.until, u)
		}
	}
	s.until[user] = now.Add(suspendedMemory)
	if u := s.m[user]; u != nil {
		return append([]*conn(nil), u.conns...)
	}
	return nil
}

// suspended reports whether user's suspension is remembered at now.
func (s *userShard) suspended(user int64, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.until[user]
	return ok && now.Before(until)
}

// leave drops one admission and, when c is not nil, its registration.
func (s *userShard) leave(user int64, c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.m[user]
	if u == nil {
		return
	}
	u.n--
	for i, x := range u.conns {
		if x == c {
			u.conns[i] = u.conns[len(u.conns)-1]
			u.conns[len(u.conns)-1] = nil
			u.conns = u.conns[:len(u.conns)-1]
			break
		}
	}
	if u.n <= 0 {
		delete(s.m, user)
	}
}

func (s *userShard) conns(user int64) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.m[user]; u != nil {
		return append([]*conn(nil), u.conns...)
	}
	return nil
}
