package bidding

import (
	"context"
	"testing"
	"time"
)

// TestYieldToBatches: the relay's wait before a round returns at once when
// no batch is in flight, waits out the batch in flight and the one that
// follows it straight away (bids that arrived during a commit), and never
// waits past its limit or its context.
func TestYieldToBatches(t *testing.T) {
	const limit = 400 * time.Millisecond
	tests := []struct {
		name  string
		limit time.Duration
		// play runs beside the wait on s's counters, which start with
		// one batch in flight unless idle; it returns when the wait
		// should end at the earliest.
		idle    bool
		play    func(s *Service)
		cancel  bool
		atLeast time.Duration
		under   time.Duration
	}{
		{name: "no batch in flight", idle: true, under: 50 * time.Millisecond},
		{name: "limit off", limit: -1, under: 50 * time.Millisecond},
		{name: "the batch in flight ends, none follows", play: func(s *Service) {
			time.Sleep(60 * time.Millisecond)
			s.batchesEnded.Add(1)
		}, atLeast: 60 * time.Millisecond, under: limit},
		{name: "a batch follows at once", play: func(s *Service) {
			time.Sleep(60 * time.Millisecond)
			s.batchesBegun.Add(1)
			s.batchesEnded.Add(1)
			time.Sleep(60 * time.Millisecond)
			s.batchesEnded.Add(1)
		}, atLeast: 120 * time.Millisecond, under: limit},
		{name: "a storm: batches back to back", play: func(s *Service) {
			for range 20 {
				time.Sleep(40 * time.Millisecond)
				s.batchesBegun.Add(1)
				s.batchesEnded.Add(1)
			}
		}, atLeast: 80 * time.Millisecond, under: 200 * time.Millisecond},
		{name: "batches never end", play: func(*Service) {}, atLeast: limit, under: limit + 200*time.Millisecond},
		{name: "context ends", play: func(*Service) {}, cancel: true, atLeast: 50 * time.Millisecond, under: limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{}
			if !tt.idle {
				s.batchesBegun.Add(1)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				time.AfterFunc(50*time.Millisecond, cancel)
			}
			if tt.play != nil {
				go tt.play(s)
			}
			l := tt.limit
			if l == 0 {
				l = limit
			}
			began := time.Now()
			s.yieldToBatches(ctx, l)
			took := time.Since(began)
			if took < tt.atLeast || took >= tt.under {
				t.Errorf("waited %s, want at least %s and under %s", took, tt.atLeast, tt.under)
			}
		})
	}
}
