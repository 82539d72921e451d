package bidding

import (
	"context"
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

// yieldPoll is how often yieldToBatches looks at the batch counters.
const yieldPoll = 500 * time.Microsecond

// yieldToBatches returns once no bid batch is in flight, or once a batch
// that began after the call has ended, or after limit, whichever comes
// first. The relay calls it before each round. A batch's commit wakes the
// relay, and bids that arrived during it are committed by the next batch
// at once; without the yield, the relay's round (reading the outbox,
// ~500 JetStream publishes for a cascade) and the fan-out it feeds ran
// beside that next batch on the same cores, and such batches took about
// twice a lone cascade (docs/BENCHMARKS.md, "Session 12 (lead)"). Waiting for
// one batch, not for the node to go idle, bounds what a storm of bids,
// where batches run back to back, adds to delivery.
func (s *Service) yieldToBatches(ctx context.Context, limit time.Duration) {
	begun := s.batchesBegun.Load()
	if limit <= 0 || s.batchesEnded.Load() >= begun {
		return
	}
	deadline := time.Now().Add(limit)
	t := time.NewTimer(yieldPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ended := s.batchesEnded.Load()
		if ended >= s.batchesBegun.Load() || ended > begun || !time.Now().Before(deadline) {
			return
		}
		t.Reset(yieldPoll)
	}
}
