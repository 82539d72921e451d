package realtime

import (
	"context"

	"github.com/gavel-auctions/gavel/domain"
)

// Log is the shared, durable event log. NATS is only the fast path: every
// snapshot, resume and gap fill is read from here, so a stream is gap-free on
// whichever node it lands.
type Log interface {
	// Snapshots returns the current state of each auction as an event of type
	// snapshot (Seq = the auction's current seq). Unknown ids are omitted.
	Snapshots(ctx context.Context, auctionIDs []int64) ([]domain.Event, error)
	// Running returns snapshots of every scheduled or open auction (admin monitor).
	Running(ctx context.Context) ([]domain.Event, error)
	// After returns up to limit events of channel ch with seq > after, in order.
	// If the first event's seq is > after+1, older events were trimmed (retention).
	After(ctx context.Context, ch domain.Channel, after int64, limit int) ([]domain.Event, error)
	// Head returns the channel's current seq.
	Head(ctx context.Context, ch domain.Channel) (int64, error)
}
