package realtime

import (
	"encoding/json"

	"github.com/nats-io/nats.go"

	"github.com/gavel-auctions/gavel/domain"
)

// onWatchers answers a WatchersRequest with this node's counts: the
// streams watching each auction, less those of the excluded user. A
// browser that carries all its tabs on one connection counts once, so the
// sum over nodes is close to the number of people with the page open.
func (h *Hub) onWatchers(m *nats.Msg) {
	var req domain.WatchersRequest
	if err := json.Unmarshal(m.Data, &req); err != nil || len(req.AuctionIDs) > domain.MaxWatchersRequest || m.Reply == "" {
		h.m.badMessages.Inc()
		return
	}
	data, err := json.Marshal(domain.WatchersReply{Node: h.cfg.Node, Watchers: h.watching(req.AuctionIDs, req.ExcludeUser)})
	if err != nil {
		return
	}
	_ = m.Respond(data)
}

// watching counts, per auction with any, the local streams watching it
// that are not exclude's.
func (h *Hub) watching(ids []int64, exclude int64) map[int64]int64 {
	out := map[int64]int64{}
	for _, id := range ids {
		ch := domain.AuctionChannel(id)
		s := h.shardFor(ch)
		s.mu.RLock()
		t := s.topics[ch]
		s.mu.RUnlock()
		if t == nil {
			continue
		}
		var n int64
		t.mu.Lock()
		for _, w := range t.watchers {
			if exclude == 0 || w.c.user != exclude {
				n++
			}
		}
		t.mu.Unlock()
		if n > 0 {
			out[id] = n
		}
	}
	return out
}
