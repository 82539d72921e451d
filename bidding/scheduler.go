package bidding

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// schedulerTick bounds how late an auction opens or closes after it is due.
const schedulerTick = 200 * time.Millisecond

// RunScheduler opens auctions at starts_at and closes them at ends_at (plus
// CloseGrace) until ctx ends. Every API node may run it: each transition
// locks the auction and re-checks it, so it happens exactly once, and a
// late or duplicate one is a no-op.
func (s *Service) RunScheduler(ctx context.Context) error {
	t := time.NewTicker(schedulerTick)
	defer t.Stop()
	lastSweep := time.Time{}
	var failingSince time.Time
	for {
		_, err := s.Tick(ctx)
		switch {
		case ctx.Err() != nil:
		case err != nil && failingSince.IsZero():
			// Once per outage, not five times a second.
			failingSince = time.Now()
			s.log.Warn("scheduler tick failed; auctions open and close late until it recovers", "err", err)
		case err == nil && !failingSince.IsZero():
			s.log.Info("scheduler running again", "after", time.Since(failingSince).Round(time.Millisecond))
			failingSince = time.Time{}
		}
		if now := s.now(); now.Sub(lastSweep) > time.Minute {
			lastSweep = now
			if err := s.sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("retention sweep failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick performs every open and close that is due now and reports how many
// transitions this call made.
//
// Sales open as a whole (lots open with them, not one by one); lots close
// one by one like any auction, in end order and for equal ends in lot
// order, except while their sale is paused; and sales move on to closing
// and closed as their lots finish.
func (s *Service) Tick(ctx context.Context) (int, error) {
	now := s.now()
	n, err := s.openSales(ctx, now)
	if err != nil {
		return n, err
	}
	var opens, closes []int64
	db := s.db.WithContext(ctx)
	if err := db.Raw("SELECT id FROM auctions WHERE status = 'scheduled' AND starts_at <= ? AND sale_id IS NULL ORDER BY starts_at LIMIT 200", now).Scan(&opens).Error; err != nil {
		return n, err
	}
	if err := db.Raw(`SELECT a.id FROM auctions a WHERE a.status IN ('open', 'scheduled') AND a.ends_at <= ?
		AND NOT EXISTS (SELECT 1 FROM sales sl WHERE sl.id = a.sale_id AND sl.paused_at IS NOT NULL)
		ORDER BY a.ends_at, a.lot_number, a.id LIMIT 200`, now.Add(-s.opts.CloseGrace)).Scan(&closes).Error; err != nil {
		return n, err
	}
	for _, id := range opens {
		ok, err := s.transition(ctx, id, domain.Open)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	for _, id := range closes {
		ok, err := s.transition(ctx, id, func(a domain.Auction, now time.Time) (domain.Auction, []domain.Event, bool) {
			if now.Before(a.EndsAt.Add(s.opts.CloseGrace)) || !a.PausedAt.IsZero() {
				// A soft-close bid moved the end since we looked, or the
				// sale was paused.
				return a, nil, false
			}
			return domain.Close(a, now)
		})
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	m, err := s.progressSales(ctx)
	return n + m, err
}

// openSales opens the scheduled sales whose opening has come.
func (s *Service) openSales(ctx context.Context, now time.Time) (int, error) {
	var ids []int64
	if err := s.db.WithContext(ctx).Raw("SELECT id FROM sales WHERE status = 'scheduled' AND opens_at <= ? ORDER BY opens_at LIMIT 50", now).
		Scan(&ids).Error; err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		opened := false
		err := s.inTx(ctx, func(tx *gorm.DB) error {
			sale, lots, err := s.lockSale(tx, id, runningLots)
			if err != nil {
				return err
			}
			next, changed, events, ok := domain.OpenSale(sale, lots, s.now())
			if opened = ok; !ok {
				return nil
			}
			return s.commitSaleChange(tx, next, changed, events)
		})
		if err != nil {
			return n, err
		}
		if opened {
			n++
			s.notifyCommitted()
		}
	}
	return n, nil
}

// progressSales moves open sales to closing after their first lot closed,
// and closing ones to closed once no lot is left to close, however the
// lots finished (closed on time, bought outright, withdrawn).
func (s *Service) progressSales(ctx context.Context) (int, error) {
	var ids []int64
	err := s.db.WithContext(ctx).Raw(`SELECT sl.id FROM sales sl WHERE
		(sl.status = 'open' AND EXISTS (SELECT 1 FROM auctions a WHERE a.sale_id = sl.id AND a.status = 'closed'))
		OR (sl.status IN ('open', 'closing') AND NOT EXISTS (
			SELECT 1 FROM auctions a WHERE a.sale_id = sl.id AND a.status IN ('draft', 'scheduled', 'open')))
		ORDER BY sl.id LIMIT 50`).Scan(&ids).Error
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		moved := false
		err := s.inTx(ctx, func(tx *gorm.DB) error {
			// The sale alone is locked: no auction lock follows it.
			var sr saleRow
			if err := tx.Raw("SELECT * FROM sales WHERE id = ?"+s.forUpdate(), id).Scan(&sr).Error; err != nil {
				return err
			}
			var counts struct{ Closed, Unclosed int }
			if err := tx.Raw(`SELECT COALESCE(SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), 0) AS closed,
				COALESCE(SUM(CASE WHEN status IN ('draft', 'scheduled', 'open') THEN 1 ELSE 0 END), 0) AS unclosed
				FROM auctions WHERE sale_id = ?`, id).Scan(&counts).Error; err != nil {
				return err
			}
			next, events := domain.SaleProgress(sr.toDomain(), counts.Closed, counts.Unclosed, s.now())
			if moved = len(events) > 0; !moved {
				return nil
			}
			return s.commitSaleChange(tx, next, nil, events)
		})
		if err != nil {
			return n, err
		}
		if moved {
			n++
			s.notifyCommitted()
		}
	}
	return n, nil
}

type transitionFunc func(domain.Auction, time.Time) (domain.Auction, []domain.Event, bool)

func (s *Service) transition(ctx context.Context, id int64, fn transitionFunc) (bool, error) {
	var changed bool
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		changed = false
		a, err := s.lockAuction(tx, id)
		if err != nil {
			return err
		}
		now := s.now()
		next, events, ok := fn(a, now)
		if !ok {
			return nil
		}
		next.UpdatedAt = now
		if err := saveState(tx, next); err != nil {
			return err
		}
		changed = true
		return s.writeEvents(tx, events)
	})
	if changed && err == nil {
		s.notifyCommitted()
	}
	return changed && err == nil, err
}

// sweepChunk bounds the rows one retention statement deletes, so each stays
// well inside the statement timeout however large the backlog.
const sweepChunk = 5000

// sweep trims what is past retention: published events and idempotency
// keys. Unpublished events are never deleted.
func (s *Service) sweep(ctx context.Context) error {
	cutoff := s.now().Add(-s.opts.Retention)
	if err := s.deleteChunks(ctx, "events", "published_at IS NOT NULL AND created_at < ?", cutoff); err != nil {
		return err
	}
	return s.deleteChunks(ctx, "idempotency_keys", "created_at < ?", cutoff)
}

// deleteChunks deletes the rows of table matching where, sweepChunk at a
// time, until none is left.
func (s *Service) deleteChunks(ctx context.Context, table, where string, args ...any) error {
	key := "id"
	if table == "idempotency_keys" {
		// Its key is (user_id, key); ctid names a row on PostgreSQL and
		// rowid on SQLite.
		key = "ctid"
		if !s.pg {
			key = "rowid"
		}
	}
	q := "DELETE FROM " + table + " WHERE " + key + " IN (SELECT " + key + " FROM " + table + " WHERE " + where + " LIMIT ?)"
	for {
		res := s.db.WithContext(ctx).Exec(q, append(args, sweepChunk)...)
		if res.Error != nil || res.RowsAffected < sweepChunk {
			return res.Error
		}
	}
}
