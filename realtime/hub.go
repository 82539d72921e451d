// Package realtime turns committed events, published on NATS by the outbox
// relay, into Server-Sent Event streams for every watcher. A Hub owns the
// node's hijacked stream connections: a sharded set of topics (one NATS
// subscription per channel with local watchers), a few shared writer
// goroutines that do all socket work, and gap-free delivery backed by the
// shared event Log.
package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gavel-auctions/gavel/domain"
)

// Hub serves SSE streams on one node. Create it with New, start it with
// Run, hand it connections through Open.
type Hub struct {
	cfg    Config
	nc     *nats.Conn
	log    Log
	sales  SaleLog // nil: the Log serves no sale streams
	logger *slog.Logger
	m      *metrics

	retry      atomic.Pointer[retryWindow] // the retry: delays given to streams now (retry.go)
	tick       time.Duration
	beatEvery  time.Duration // between heartbeat slices
	beatSlices int           // slices per Heartbeat
	shards     []*shard
	writers    []*writer
	users      [userShards]userShard
	sessions   [sessionShards]sessionShard
	fills      fillQueue
	snaps      snapBatcher
	saleSnaps  saleSnapper
	nextW      atomic.Uint32

	conns         atomic.Int64 // admitted streams
	watchers      atomic.Int64 // channel memberships over all topics
	topics        atomic.Int64
	delivered     atomic.Uint64 // event frames written
	slowConsumers atomic.Uint64
	saleCounters  atomic.Int64  // streams that get their sales' watcher counts
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
	// spawnMu and spawnStopped keep spawn's wg.Add from racing Shutdown's
	// wg.Wait when a node stops while Run is still starting.
	spawnMu      sync.Mutex
	spawnStopped bool
	finalMu      sync.Mutex // serializes the writers' final release

	stats statsState
	mem   *memReturn // nil: never return memory after bursts
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
	h.retryFor()
	// The writers retry full sockets every tick, and visit a slice of their
	// connections for heartbeats on every beat slot.
	h.tick = min(max(cfg.Heartbeat/50, 5*time.Millisecond), 100*time.Millisecond)
	h.beatEvery, h.beatSlices = beatPlan(cfg.Heartbeat)
	h.fills.notify = make(chan struct{}, 1)
	h.snaps.read = h.logSnapshots
	h.mem = newMemReturn(cfg.ReturnQuiet, cfg.ReturnBurst, logger)
	if sl, ok := log.(SaleLog); ok {
		h.sales = sl
		h.saleSnaps.read = h.readSaleSnapshot
	}
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
	watch, err := h.nc.Subscribe(domain.WatchersSubject, h.onWatchers)
	if err != nil {
		_, _, _ = ctl.Unsubscribe(), st.Unsubscribe(), want.Unsubscribe()
		return fmt.Errorf("subscribe %s: %w", domain.WatchersSubject, err)
	}
	defer func() { _, _, _, _ = ctl.Unsubscribe(), st.Unsubscribe(), want.Unsubscribe(), watch.Unsubscribe() }()
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
	// Add must not race Shutdown's Wait: once stopping, nothing new starts
	// (it would only see h.stop closed and return).
	h.spawnMu.Lock()
	defer h.spawnMu.Unlock()
	if h.spawnStopped {
		return
	}
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
			h.retryFor() // a node that shrank narrows its window
			poll.Reset(time.Until(slotAfter(time.Now(), every)))
		}
	}
}

// Shutdown ends every stream (clients reconnect elsewhere with their
// Last-Event-ID), unsubscribes and stops the hub's goroutines. It is
// idempotent and returns ctx's error if the goroutines outlive ctx.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.closing.Store(true)
	h.mem.stop()
	h.stopOnce.Do(func() {
		h.cancel()
		close(h.stop)
	})
	h.spawnMu.Lock()
	h.spawnStopped = true
	h.spawnMu.Unlock()
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
