package bidding

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// errTurnLost means the relay's turn expired (it stalled longer than the
// lease) and another relay took over: what it published is either a
// duplicate JetStream dropped or was fenced off, and it marked nothing.
var errTurnLost = errors.New("relay: the turn expired before its events could be marked published; another relay took over")

// turn is one relay's lease on publishing.
type turn struct {
	Epoch    int64
	LastSeq  uint64    // the stream sequence the last turn published last
	acquired time.Time // local clock, for the publish deadline
}

// acquire takes the relay's turn if it is free (expired or released) or
// already ours. ok is false when another relay holds it.
func (r *Relay) acquire(ctx context.Context) (t turn, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.DBTimeout)
	defer cancel()
	t.acquired = time.Now()
	var rows []turn
	db := r.s.db.WithContext(ctx)
	if r.s.pg {
		// The database's clock decides expiry, so the nodes' clocks need
		// not agree.
		err = db.Raw(`UPDATE relay_lease SET epoch = epoch + 1, holder = ?,
				expires_at = now() + ? * interval '1 millisecond'
			WHERE id = 1 AND (expires_at <= now() OR holder = ?)
			RETURNING epoch, last_seq`, r.opts.Name, r.opts.Lease.Milliseconds(), r.opts.Name).Scan(&rows).Error
	} else {
		now := r.s.now()
		err = db.Raw(`UPDATE relay_lease SET epoch = epoch + 1, holder = ?, expires_at = ?
			WHERE id = 1 AND (expires_at <= ? OR holder = ?)
			RETURNING epoch, last_seq`, r.opts.Name, now.Add(r.opts.Lease), now, r.opts.Name).Scan(&rows).Error
	}
	if err != nil || len(rows) == 0 {
		return t, false, err
	}
	t.Epoch, t.LastSeq = rows[0].Epoch, rows[0].LastSeq
	return t, true, nil
}

// finish marks ids published and ends the turn, in one statement on
// PostgreSQL, only if the turn is still t: a relay that stalled past its
// lease marks nothing (errTurnLost). lastSeq is the stream sequence of the
// message published last.
func (r *Relay) finish(ctx context.Context, t turn, ids []int64, lastSeq uint64) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.DBTimeout)
	defer cancel()
	db := r.s.db.WithContext(ctx)
	if len(ids) == 0 {
		q := "UPDATE relay_lease SET expires_at = now() WHERE id = 1 AND epoch = ?"
		args := []any{t.Epoch}
		if !r.s.pg {
			q = "UPDATE relay_lease SET expires_at = ? WHERE id = 1 AND epoch = ?"
			args = []any{r.s.now(), t.Epoch}
		}
		return db.Exec(q, args...).Error
	}
	if r.s.pg {
		res := db.Exec(`WITH l AS (
				UPDATE relay_lease SET expires_at = now(), last_seq = ? WHERE id = 1 AND epoch = ? RETURNING 1)
			UPDATE events SET published_at = ? WHERE id IN ? AND EXISTS (SELECT 1 FROM l)`,
			lastSeq, t.Epoch, r.s.now(), ids)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errTurnLost
		}
		return nil
	}
	return db.Transaction(func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE relay_lease SET expires_at = ?, last_seq = ? WHERE id = 1 AND epoch = ?", r.s.now(), lastSeq, t.Epoch)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errTurnLost
		}
		return tx.Exec("UPDATE events SET published_at = ? WHERE id IN ?", r.s.now(), ids).Error
	})
}
