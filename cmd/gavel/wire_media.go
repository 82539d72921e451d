package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/internal/outage"
	"github.com/gavel-auctions/gavel/media"
)

// mediaSweepInterval is how often an API node looks for photo files that
// no photo uses any more (left by a failed upload or a store outage).
const mediaSweepInterval = time.Hour

// startMedia opens the photo store on the node's database and NATS (the
// bucket keeps GAVEL_NATS_REPLICAS copies), and sweeps unused files until
// jobCtx ends.
//
// The bucket is created on a JetStream cluster that may still be electing
// its leaders (a cluster just started, or a loaded machine), so it is
// waited for like the other dependencies (wire_startup.go), never a reason
// to exit.
func startMedia(ctx context.Context, n *node, js jetstream.JetStream, jobCtx context.Context) (*media.Service, error) {
	var svc *media.Service
	err := n.up.await(ctx, n.log, outage.NATS, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var err error
		svc, err = media.New(ctx, n.db, js, media.Options{
			Replicas:   n.cfg.NATSReplicas,
			CacheBytes: int64(n.cfg.MediaCacheMB) << 20,
			Logger:     n.log,
		})
		if err != nil {
			return fmt.Errorf("photo store: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n.media = svc
	n.run(func() { svc.RunSweeper(jobCtx, mediaSweepInterval) })
	return svc, nil
}
