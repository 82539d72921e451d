package realtime

import (
	"context"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// Log calls bounded by a timeout, so that a hung database cannot pin a
// worker or a joining connection forever.
const logTimeout = 5 * time.Second

func (h *Hub) logAfter(ch domain.Channel, after int64, limit int) ([]domain.Event, error) {
	ctx, cancel := context.WithTimeout(h.ctx, logTimeout)
	defer cancel()
	return h.log.After(ctx, ch, after, limit)
}

func (h *Hub) logHead(ch domain.Channel) (int64, error) {
	ctx, cancel := context.WithTimeout(h.ctx, logTimeout)
	defer cancel()
	return h.log.Head(ctx, ch)
}

func (h *Hub) logSnapshots(ids []int64) ([]domain.Event, error) {
	ctx, cancel := context.WithTimeout(h.ctx, logTimeout)
	defer cancel()
	return h.log.Snapshots(ctx, ids)
}

func (h *Hub) logRunning() ([]domain.Event, error) {
	ctx, cancel := context.WithTimeout(h.ctx, logTimeout)
	defer cancel()
	return h.log.Running(ctx)
}
