package realtime

import (
	"cmp"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gavel-auctions/gavel/domain"
)

// topAuctions is how many of the most watched auctions a node reports.
const topAuctions = 20

// NodeStats is one realtime node's numbers. Each node publishes its own on
// NATS (domain.StatsSubjectPrefix + node) every StatsInterval while some
// node has an admin stream; admin streams get every node's latest in a
// stats event.
type NodeStats struct {
	Node        string `json:"node"`
	Connections int64  `json:"connections"`
	// Watchers counts channel memberships: a stream of three auctions counts three.
	Watchers int64 `json:"watchers"`
	// Topics is the number of channels this node subscribes to on NATS.
	Topics   int64             `json:"topics"`
	Auctions []AuctionWatchers `json:"auctions"` // most watched first, at most 20
	// Sales are the node's sale streams by sale, for the sellers' dashboards.
	Sales []SaleWatchers `json:"sales,omitempty"`
	// EventsPerSecond is event frames written to clients per second since
	// the previous stats.
	EventsPerSecond float64   `json:"events_per_second"`
	Delivered       uint64    `json:"delivered"`
	SlowConsumers   uint64    `json:"slow_consumers"`
	Time            time.Time `json:"time"`
}

// AuctionWatchers is one auction's local watcher count.
type AuctionWatchers struct {
	AuctionID int64 `json:"auction_id"`
	Watchers  int   `json:"watchers"`
}

// statsState keeps the rate baseline and the latest stats of every node.
type statsState struct {
	mu            sync.Mutex
	nodes         map[string]nodeStatsEntry
	lastDelivered uint64
	lastAt        time.Time
	rate          float64
}

type nodeStatsEntry struct {
	s  NodeStats
	at time.Time // when received, by our clock: stale nodes are dropped
}

// Stats returns this node's current numbers.
func (h *Hub) Stats() NodeStats {
	s := NodeStats{
		Node:          h.cfg.Node,
		Connections:   h.conns.Load(),
		Watchers:      h.watchers.Load(),
		Topics:        h.topics.Load(),
		Delivered:     h.delivered.Load(),
		SlowConsumers: h.slowConsumers.Load(),
		Time:          h.cfg.Now().UTC(),
	}
	for _, t := range h.allTopics() {
		if t.ch.Kind == domain.ChannelAuction {
			s.Auctions = append(s.Auctions, AuctionWatchers{AuctionID: t.ch.ID, Watchers: int(t.count.Load())})
		}
	}
	s.Sales = h.saleWatchers()
	slices.SortFunc(s.Auctions, func(a, b AuctionWatchers) int {
		if c := cmp.Compare(b.Watchers, a.Watchers); c != 0 {
			return c
		}
		return cmp.Compare(a.AuctionID, b.AuctionID)
	})
	if len(s.Auctions) > topAuctions {
		s.Auctions = s.Auctions[:topAuctions]
	}
	h.stats.mu.Lock()
	s.EventsPerSecond = h.stats.rate
	h.stats.mu.Unlock()
	return s
}

// Stats are on demand. A node with admin streams publishes its name on
// domain.StatsWantSubject every StatsInterval, and every node publishes
// its stats for three intervals after hearing it. A node answers its
// first request at once, so a new admin's first stats event lists its
// own node and the next one, an interval later, every node.

// kickStats tells maintain that stats are wanted, now.
func (h *Hub) kickStats() {
	select {
	case h.statsKick <- struct{}{}:
	default:
	}
}

// onStatsWant records another node's request for stats.
func (h *Hub) onStatsWant(m *nats.Msg) {
	if string(m.Data) == h.cfg.Node {
		return
	}
	now := time.Now()
	if prev := h.statsWanted.Swap(now.Add(3 * h.cfg.StatsInterval).UnixNano()); prev <= now.UnixNano() {
		h.kickStats()
	}
}

// statsRound asks for stats if this node has admin streams and publishes
// its own if anyone wants them. It reports whether stats are still wanted.
func (h *Hub) statsRound() bool {
	// A seller's dashboard needs the other nodes' counts of its sale too.
	local := h.hasAdminStreams() || h.saleCounters.Load() > 0
	if local {
		_ = h.nc.Publish(domain.StatsWantSubject, []byte(h.cfg.Node))
	}
	if !local && time.Now().UnixNano() >= h.statsWanted.Load() {
		return false
	}
	h.publishStats()
	return true
}

// hasAdminStreams reports whether this node holds the admin topic.
func (h *Hub) hasAdminStreams() bool {
	s := h.shardFor(allChannel)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.topics[allChannel] != nil
}

// restartRate starts a new delivery-rate baseline after a pause in
// stats, so the first rate is not an average over the pause.
func (h *Hub) restartRate() {
	h.stats.mu.Lock()
	h.stats.lastAt = time.Time{}
	h.stats.rate = 0
	h.stats.mu.Unlock()
}

// publishStats updates the delivery rate, publishes this node's stats and
// sends every node's latest to local admin streams.
func (h *Hub) publishStats() {
	now := time.Now()
	h.stats.mu.Lock()
	d := h.delivered.Load()
	if !h.stats.lastAt.IsZero() {
		if secs := now.Sub(h.stats.lastAt).Seconds(); secs > 0 {
			h.stats.rate = float64(d-h.stats.lastDelivered) / secs
		}
	}
	h.stats.lastDelivered, h.stats.lastAt = d, now
	h.stats.mu.Unlock()

	s := h.Stats()
	h.recordNode(s)
	if data, err := json.Marshal(s); err == nil {
		// Core NATS only: stats are not worth keeping, and a lost one is
		// replaced two seconds later.
		_ = h.nc.Publish(domain.StatsSubjectPrefix+h.cfg.Node, data)
	}
	h.sendAdminStats()
	h.sendSaleWatchers()
}

// onStats records another node's stats.
func (h *Hub) onStats(m *nats.Msg) {
	var s NodeStats
	if err := json.Unmarshal(m.Data, &s); err != nil || s.Node == "" {
		h.m.badMessages.Inc()
		return
	}
	h.recordNode(s)
}

func (h *Hub) recordNode(s NodeStats) {
	h.stats.mu.Lock()
	if h.stats.nodes == nil {
		h.stats.nodes = make(map[string]nodeStatsEntry)
	}
	h.stats.nodes[s.Node] = nodeStatsEntry{s: s, at: time.Now()}
	h.stats.mu.Unlock()
}

// clusterStats returns the latest stats of every node heard from recently,
// sorted by node name.
func (h *Hub) clusterStats() []NodeStats {
	stale := time.Now().Add(-3 * h.cfg.StatsInterval)
	h.stats.mu.Lock()
	out := make([]NodeStats, 0, len(h.stats.nodes))
	for name, e := range h.stats.nodes {
		if e.at.Before(stale) {
			delete(h.stats.nodes, name)
			continue
		}
		out = append(out, e.s)
	}
	h.stats.mu.Unlock()
	slices.SortFunc(out, func(a, b NodeStats) int { return cmp.Compare(a.Node, b.Node) })
	return out
}

// statsEvent is the data of an admin stream's stats event.
type statsEvent struct {
	Type       domain.EventType `json:"type"`
	ServerTime time.Time        `json:"server_time"`
	Nodes      []NodeStats      `json:"nodes"`
}

// sendAdminStats encodes the cluster's stats once and offers them to this
// node's admin streams. Stats frames carry no id: a reconnect gets fresh
// snapshots, not a replay.
func (h *Hub) sendAdminStats() {
	s := h.shardFor(allChannel)
	s.mu.RLock()
	t := s.topics[allChannel]
	s.mu.RUnlock()
	if t == nil {
		return
	}
	data, err := json.Marshal(statsEvent{Type: domain.EventStats, ServerTime: h.cfg.Now().UTC(), Nodes: h.clusterStats()})
	if err != nil {
		return
	}
	b := appendEvent(nil, "", string(domain.EventStats), data)
	f := &frame{full: b, body: b}
	t.mu.Lock()
	if !t.dead {
		t.fanout(f)
	}
	t.mu.Unlock()
}
