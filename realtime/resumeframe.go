package realtime

import (
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// resumeFrameAge is how long a topic reuses its newest event re-encoded
// for resuming streams. A resume from the ring ends with the newest event
// stamped with the node's time of now (clients set their countdown's clock
// offset from it); in a reconnect storm thousands of streams resume on the
// same topic within a second, and each used to encode the same event
// anew. 50 ms is far below what a countdown shows.
const resumeFrameAge = 50 * time.Millisecond

// resumeFrame is a topic's cached re-encoding of lastEv.
type resumeFrame struct {
	ev *domain.Event // the lastEv it encodes
	f  *frame
	at time.Time // the server_time it carries
}

// resumeFrame returns ev, the topic's newest event, encoded with a
// server_time at most resumeFrameAge old; nil if it cannot be encoded.
// The caller holds t.mu.
func (t *topic) resumeFrame(ev *domain.Event, tr *track) *frame {
	now := t.h.cfg.Now()
	r := &t.resumed
	if r.ev == ev && r.f != nil && now.Sub(r.at) < resumeFrameAge && !now.Before(r.at) {
		return r.f
	}
	f, err := encodeEventIn(*ev, tr.kind, t.token(tr.last), now)
	if err != nil {
		return nil
	}
	*r = resumeFrame{ev: ev, f: f, at: now}
	return f
}
