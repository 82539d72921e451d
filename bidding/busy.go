package bidding

import (
	"math"
	"time"
)

// IdleFor reports how long this node has judged no bid: 0 while a batch
// is being judged or committed, the time since the last one ended
// otherwise, and a very long time if none ever ran.
//
// Background work should wait for a quiet spell, not for the first idle
// instant that Busy reports: in a storm the node is idle between two
// batches only for the moment the answered bidders take to send their
// next bids, and work started then runs against that next batch.
func (s *Service) IdleFor() time.Duration {
	if s.draining.Load() > 0 {
		return 0
	}
	last := s.drainEnded.Load()
	if last == 0 {
		return math.MaxInt64
	}
	// The wall clock: a step back reads as busy, for as long as the step.
	return max(0, time.Duration(time.Now().UnixNano()-last))
}

// drained ends a shard's turn of judging: the time first, so that a
// reader who sees no shard draining also sees when the last one stopped.
func (s *Service) drained() {
	s.drainEnded.Store(time.Now().UnixNano())
	s.draining.Add(-1)
}
