package realtime

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the hub's Prometheus collectors. Gauges that mirror a number
// the hub keeps anyway are GaugeFuncs, so the hot path updates one atomic.
// There is deliberately no per-auction label: auctions are unbounded, so the
// per-auction watcher counts go to the stats (top 20) instead.
type metrics struct {
	lag         prometheus.Histogram // live events only
	replayAge   prometheus.Histogram // snapshots and catch-up
	duplicates  prometheus.Counter
	gapFills    prometheus.Counter
	gapsSkipped prometheus.Counter
	resets      prometheus.Counter
	logErrors   prometheus.Counter
	badMessages prometheus.Counter
	reconnects  prometheus.Counter
	suspensions prometheus.Counter
	logouts     prometheus.Counter
	rejected    *prometheus.CounterVec
}

func newMetrics(h *Hub, reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "gavel_realtime_" + name, Help: help})
	}
	m := &metrics{
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gavel_realtime_delivery_lag_seconds",
			Help:    "Time from a live event's commit to its bytes being written to a client. Snapshots and catch-up after a (re)connect are not live: see gavel_realtime_replay_age_seconds.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		replayAge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gavel_realtime_replay_age_seconds",
			Help:    "Age from commit of the snapshots and events written while a stream sets up or resumes (from the topic's ring or the log).",
			Buckets: []float64{.01, .1, 1, 10, 60, 300, 1800, 3600, 6 * 3600, 86400},
		}),
		duplicates:  counter("duplicates_total", "NATS messages dropped because their seq was already delivered."),
		gapFills:    counter("gap_fills_total", "Batches of events read from the log to fill a gap NATS left."),
		gapsSkipped: counter("gaps_skipped_total", "Gaps given up on because the log did not have the events."),
		resets:      counter("resets_total", "Snapshots sent with reset:true because the log had been trimmed."),
		logErrors:   counter("log_errors_total", "Failed reads of the event log."),
		badMessages: counter("bad_messages_total", "NATS messages that could not be decoded or were misrouted."),
		reconnects:  counter("nats_reconnects_total", "NATS reconnects after which every topic caught up from the log."),
		suspensions: counter("suspensions_total", "Suspension events that closed a user's streams."),
		logouts:     counter("logouts_total", "Logouts that closed a session's streams."),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gavel_realtime_rejected_total",
			Help: "Streams refused by a connection cap (reason: user or node).",
		}, []string{"reason"}),
	}
	if reg == nil {
		return m, nil
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gavel_realtime_" + name, Help: help}, f)
	}
	cs := []prometheus.Collector{
		m.lag, m.replayAge, m.duplicates, m.gapFills, m.gapsSkipped, m.resets, m.logErrors,
		m.badMessages, m.reconnects, m.suspensions, m.logouts, m.rejected,
		gauge("connections", "Open stream connections.", func() float64 { return float64(h.conns.Load()) }),
		gauge("watchers", "Channel memberships of open streams (a stream of three auctions counts three).",
			func() float64 { return float64(h.watchers.Load()) }),
		gauge("topics", "Channels this node subscribes to on NATS.", func() float64 { return float64(h.topics.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gavel_realtime_events_delivered_total", Help: "Event frames written to clients.",
		}, func() float64 { return float64(h.delivered.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gavel_realtime_slow_consumers_total", Help: "Streams closed because the client did not keep up.",
		}, func() float64 { return float64(h.slowConsumers.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gavel_realtime_snapshot_requests_total", Help: "Auction snapshots asked for by stream setups and resets.",
		}, func() float64 { return float64(h.snaps.requests.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gavel_realtime_snapshot_reads_total", Help: "Log reads made for those snapshots: setups at the same time share one.",
		}, func() float64 { return float64(h.snaps.reads.Load()) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("realtime metrics: %w", err)
		}
	}
	return m, nil
}

// onDelivered counts an event frame whose last byte was just written and
// records its age from commit: as delivery lag for a live event, as replay
// age for a snapshot or catch-up frame, whose age says how far behind the
// client was, not how fast the node is. Writers call it, under the
// connection's lock.
func (h *Hub) onDelivered(f *frame, replay bool) {
	h.delivered.Add(1)
	if f.committed == 0 {
		return
	}
	age := time.Since(time.Unix(0, f.committed)).Seconds()
	if replay {
		h.m.replayAge.Observe(age)
	} else {
		h.m.lag.Observe(age)
	}
}
