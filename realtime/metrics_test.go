package realtime

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/gavel-auctions/gavel/domain"
)

// histogram reads a histogram's count and sum.
func histogram(t *testing.T, h interface{ Write(*dto.Metric) error }) (uint64, float64) {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

// TestDeliveryLagIsLiveOnly: delivery_lag_seconds measures live events,
// commit to write; the snapshot and the replay a client gets when it
// connects or resumes (old on purpose) go to replay_age_seconds (#12:
// on the demo, snapshots and replays made the lag average 13 s).
func TestDeliveryLagIsLiveOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, _ := e.hub(Config{})
	old := time.Now().Add(-2 * time.Hour).UTC()
	for s := int64(1); s <= 3; s++ {
		ev := auctionEvent(1, s, domain.EventPrice)
		ev.CommittedAt = old
		e.log.add(t, ev)
	}
	fresh := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}})
	fresh.expect(domain.EventSnapshot, "1:3")
	resumed := dial(t, h, domain.StreamSpec{AuctionIDs: []int64{1}, LastEventID: "1:1"})
	resumed.expect(domain.EventPrice, "1:2")
	resumed.expect(domain.EventPrice, "1:3")
	e.publish(auctionEvent(1, 4, domain.EventPrice))
	fresh.expect(domain.EventPrice, "1:4")
	resumed.expect(domain.EventPrice, "1:4")

	waitFor(t, "the live event counted twice", func() bool { n, _ := histogram(t, h.m.lag); return n >= 2 })
	if n, sum := histogram(t, h.m.lag); n != 2 || sum > 60 {
		t.Errorf("delivery lag: %d samples summing %.1fs; want the 2 live deliveries, each well under a minute", n, sum)
	}
	waitFor(t, "the replays counted", func() bool { n, _ := histogram(t, h.m.replayAge); return n >= 3 })
	if n, sum := histogram(t, h.m.replayAge); n != 3 || sum < 3*7000 {
		t.Errorf("replay age: %d samples summing %.0fs; want the snapshot and 2 replayed events, each about 2 h old", n, sum)
	}
}
