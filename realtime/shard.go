package realtime

import (
	"encoding/json"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/gavel-auctions/gavel/domain"
)

// shard holds the topics whose channel hashes to it, and the channel their
// NATS subscriptions deliver into. Its dispatcher goroutine decodes messages
// and hands them to topics, so a busy shard delays only its own topics.
type shard struct {
	h      *Hub
	mu     sync.RWMutex // guards topics and every topic's refs; never held across I/O but a NATS SUB
	topics map[domain.Channel]*topic
	msgs   chan *nats.Msg
}

// shardFor hashes a channel to its shard. The multiplier spreads
// consecutive ids over the top bits.
func (h *Hub) shardFor(ch domain.Channel) *shard {
	x := uint64(ch.ID)
	switch ch.Kind {
	case domain.ChannelUser:
		x += 1 << 62
	case domain.ChannelAuction:
	default:
		x += 1 << 63
	}
	x *= 0x9E3779B97F4A7C15
	return h.shards[x>>(64-shardBits)]
}

// run dispatches the shard's messages until stop is closed.
func (s *shard) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case m := <-s.msgs:
			ev, ok := decodeEvent(m)
			if !ok {
				s.h.m.badMessages.Inc()
				continue
			}
			ch, ok := routeOf(m, &ev)
			if !ok {
				s.h.m.badMessages.Inc()
				continue
			}
			s.mu.RLock()
			t := s.topics[ch]
			s.mu.RUnlock()
			if t != nil {
				t.onEvent(&ev)
			}
		}
	}
}

// decodeEvent decodes a message and checks that it was published where its
// channel says, so that a misrouted personal event never reaches an auction's
// watchers.
func decodeEvent(m *nats.Msg) (domain.Event, bool) {
	var ev domain.Event
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		return ev, false
	}
	if ev.ChannelSeq() <= 0 || ev.Subject() != m.Subject {
		return ev, false
	}
	return ev, true
}

// routeOf names the topic a message is for. A lot's event in its sale's
// log matches two subscriptions, its auction's and its sale's (a
// subscription to a whole log: "gavel.sale.<sale>.>"), and comes once
// through each: the subscription it came through says which topic it is
// for.
func routeOf(m *nats.Msg, ev *domain.Event) (domain.Channel, bool) {
	if m.Sub != nil && strings.HasSuffix(m.Sub.Subject, ".>") {
		return domain.SaleChannel(ev.SaleID), ev.SaleID > 0 && ev.SaleSeq > 0
	}
	return ev.Channel(), true
}

// allTopics lists the live topics.
func (h *Hub) allTopics() []*topic {
	var out []*topic
	for _, s := range h.shards {
		s.mu.RLock()
		for _, t := range s.topics {
			out = append(out, t)
		}
		s.mu.RUnlock()
	}
	return out
}
