package media

import (
	"context"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// Sweeping: a file is removed from the store once no photo uses it. A
// delete removes its files at once; the sweeper catches what that missed
// (a store outage, a crash between storing files and recording the photo).
const (
	// sweepGrace protects files of uploads still in flight: they are
	// stored before their row is written.
	sweepGrace = time.Hour
	// sweepBatch bounds the names checked per query.
	sweepBatch = 300
)

// release deletes the files of a deleted photo that no other photo uses,
// and forgets them here; other nodes stop serving them when their cache
// entries expire (Options.CacheTTL).
func (s *Service) release(ctx context.Context, names ...string) {
	for _, n := range names {
		s.cache.drop(n)
	}
	if _, err := s.removeUnused(ctx, names); err != nil {
		s.log.Warn("media: deleting a deleted photo's files; the sweeper will retry", "err", err)
	}
}

// removeUnused deletes those of names that no photo uses. An upload of the
// same bytes may record a photo meanwhile, having found the file stored:
// so the names are checked again after the delete, and a file used by then
// is put back. An upload recorded after that second check re-stores the
// file itself (AddProcessed checks its files after its commit).
func (s *Service) removeUnused(ctx context.Context, names []string) (int, error) {
	gone, err := s.unreferenced(ctx, names)
	if err != nil || len(gone) == 0 {
		return 0, err
	}
	kept := make(map[string][]byte, len(gone))
	for _, n := range gone {
		data, err := s.blobs.get(ctx, n)
		if err == domain.ErrNotFound {
			continue
		}
		if err != nil {
			return 0, err
		}
		if err := s.blobs.remove(ctx, n); err != nil {
			return 0, err
		}
		s.cache.drop(n)
		kept[n] = data
	}
	still, err := s.unreferenced(ctx, gone)
	if err != nil {
		return 0, err
	}
	unused := make(map[string]bool, len(still))
	for _, n := range still {
		unused[n] = true
	}
	deleted := 0
	for n, data := range kept {
		if unused[n] {
			deleted++
			continue
		}
		if err := s.blobs.put(ctx, n, data); err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// Sweep deletes stored files older than the grace period that no photo
// uses, and returns how many it deleted.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	stored, err := s.blobs.stored(ctx)
	if err != nil {
		return 0, err
	}
	cutoff := s.opts.Now().Add(-sweepGrace)
	var old []string
	for name, mod := range stored {
		if mod.Before(cutoff) {
			old = append(old, name)
		}
	}
	deleted := 0
	for len(old) > 0 {
		batch := old[:min(sweepBatch, len(old))]
		old = old[len(batch):]
		n, err := s.removeUnused(ctx, batch)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// RunSweeper sweeps every interval until ctx ends. Several nodes may run
// it at once: deleting an unused file twice is harmless.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Sweep(ctx); err != nil {
				s.log.Warn("media: sweep", "err", err)
			} else if n > 0 {
				s.log.Info("media: swept unused photo files", "deleted", n)
			}
		}
	}
}
