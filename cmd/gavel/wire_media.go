package main

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/media"
)

// mediaSweepInterval is how often an API node looks for photo files that
// no photo uses any more (left by a failed upload or a store outage).
const mediaSweepInterval = time.Hour

// startMedia opens the photo store on the node's database and NATS (the
// bucket keeps GAVEL_NATS_REPLICAS copies), and sweeps unused files until
// jobCtx ends.
func startMedia(ctx context.Context, n *node, js jetstream.JetStream, jobCtx context.Context) (*media.Service, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	svc, err := media.New(ctx, n.db, js, media.Options{
		Replicas:   n.cfg.NATSReplicas,
		CacheBytes: int64(n.cfg.MediaCacheMB) << 20,
		Logger:     n.log,
	})
	if err != nil {
		return nil, err
	}
	n.media = svc
	n.run(func() { svc.RunSweeper(jobCtx, mediaSweepInterval) })
	return svc, nil
}
