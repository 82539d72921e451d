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
	lag         prometheus.Histogram
	duplicates  prometheus.Counter
	gapFills    prometheus.Counter
	gapsSkipped prometheus.Counter
	resets      prometheus.Counter
	logErrors   prometheus.Counter
	badMessages prometheus.Counter
	reconnects  prometheus.Counter
	suspensions prometheus.Counter
	rejected    *prometheus.CounterVec
}

func newMetrics(h *Hub, reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "gavel_realtime_" + name, Help: help})
	}
	m := &metrics{
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gavel_realtime_delivery_lag_seconds",
			Help:    "Time from an event's commit to its bytes being written to a client.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		duplicates:  counter("duplicates_total", "NATS messages dropped because their seq was already delivered."),
		gapFills:    counter("gap_fills_total", "Batches of events read from the log to fill a gap NATS left."),
		gapsSkipped: counter("gaps_skipped_total", "Gaps given up on because the log did not have the events."),
		resets:      counter("resets_total", "Snapshots sent with reset:true because the log had been trimmed."),
		logErrors:   counter("log_errors_total", "Failed reads of the event log."),
		badMessages: counter("bad_messages_total", "NATS messages that could not be decoded or were misrouted."),
		reconnects:  counter("nats_reconnects_total", "NATS reconnects after which every topic caught up from the log."),
		suspensions: counter("suspensions_total", "Suspension events that closed a user's streams."),
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
		m.lag, m.duplicates, m.gapFills, m.gapsSkipped, m.resets, m.logErrors,
		m.badMessages, m.reconnects, m.suspensions, m.rejected,
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
// records its lag from commit. Writers call it, under the connection's lock.
func (h *Hub) onDelivered(f *frame) {
	h.delivered.Add(1)
	if f.committed != 0 {
		h.m.lag.Observe(time.Since(time.Unix(0, f.committed)).Seconds())
	}
}
