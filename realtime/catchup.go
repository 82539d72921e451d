package realtime

import "time"

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

// catchUpAll makes every topic check the Log for events NATS may have lost.
func (h *Hub) catchUpAll() {
	for _, t := range h.allTopics() {
		t.mu.Lock()
		if !t.dead {
			t.catchUp()
		}
		t.mu.Unlock()
	}
}

// checkDropped catches up topics whose subscription dropped messages
// (nats.go drops when a subscription's channel is full).
func (h *Hub) checkDropped() {
	for _, t := range h.allTopics() {
		d := 0
		for _, sub := range t.subs {
			n, err := sub.Dropped()
			if err == nil {
				d += n
			}
		}
		t.mu.Lock()
		if d != t.dropped && !t.dead {
			t.dropped = d
			t.catchUp()
		}
		t.mu.Unlock()
	}
}

// catchUp makes the track ask the Log for its head and deliver whatever it
// missed, for when NATS may have lost messages silently (an outage, a full
// subscription channel). The caller holds t.mu.
func (t *topic) catchUp() {
	if t.multi != nil {
		for _, tr := range t.multi {
			if tr.last >= 0 {
				tr.head = true
				t.startFill(tr)
			}
		}
		return
	}
	if t.tr.last >= 0 {
		t.tr.head = true
		t.startFill(&t.tr)
	}
}
