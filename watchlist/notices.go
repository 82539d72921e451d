package watchlist

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// Notice kinds, as stored in watch_notices.kind.
const (
	kindEndingSoon = "ending_soon"
	kindExtended   = "extended"
	kindClosed     = "closed"
)

// noticeRetention is how long a finished notice's row is kept: long after
// any scan could consider its lot again.
const noticeRetention = 48 * time.Hour

// Run sends due notices every Tick until ctx ends. Every API node may run
// it: a notice's rows and its events commit together, so nodes that race
// for the same notice take turns and none sends it twice.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
	var lastSweep time.Time
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("watchlist notices failed", "err", err)
		}
		if now := s.now(); now.Sub(lastSweep) > 10*time.Minute {
			lastSweep = now
			if err := s.db.WithContext(ctx).Exec("DELETE FROM watch_notices WHERE done AND updated_at < ?",
				now.Add(-noticeRetention)).Error; err != nil && ctx.Err() == nil {
				s.log.Warn("watchlist sweep failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// candidate is a watched lot that may have a notice due.
type candidate struct {
	ID             int64
	Status         string
	EndsAt         time.Time
	OriginalEndsAt time.Time
	LeaderID       *int64
	CurrentPrice   int64
	ReservePrice   int64
}

// notice is one (lot, kind, threshold) to send to the lot's watchers.
type notice struct {
	lot       candidate
	kind      string
	threshold time.Duration
	// since: only users watching since then get it. A reminder goes to
	// those who watched before its threshold was crossed; the others
	// started watching a lot they knew was about to end.
	since time.Time
}

// Tick sends every notice due now and returns how many watchers it told.
func (s *Service) Tick(ctx context.Context) (int, error) {
	due, err := s.due(ctx)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	ids := make([]int64, 0, len(due))
	for _, n := range due {
		ids = append(ids, n.lot.ID)
	}
	snaps, err := s.snaps.Snapshots(ctx, ids)
	if err != nil {
		return 0, err
	}
	byID := make(map[int64]domain.Event, len(snaps))
	for _, e := range snaps {
		byID[e.AuctionID] = e
	}
	sent := 0
	for _, n := range due {
		snap, ok := byID[n.lot.ID]
		if !ok {
			continue
		}
		k, err := s.send(ctx, n, snap)
		sent += k
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// due finds the notices to send now: for running lots ending within reach
// of a threshold or extended, and lots that ended lately.
func (s *Service) due(ctx context.Context) ([]notice, error) {
	now := s.now()
	// An extension moves the end to at most soft_close_seconds past the
	// last bid, so every extended running lot ends within the longest
	// soft-close window.
	horizon := max(s.opts.Thresholds[0], domain.MaxSoftCloseSecond*time.Second)
	db := s.db.WithContext(ctx)
	const cols = `SELECT a.id, a.status, a.ends_at, a.original_ends_at, a.leader_id, a.current_price, a.reserve_price FROM auctions a `
	const watched = ` AND EXISTS (SELECT 1 FROM watchlist w WHERE w.auction_id = a.id)`
	var running, ended []candidate
	// The end floor (a lower bound of the end, migration 00016) bounds the
	// index range; the end decides. Ended lots' floors are their ends.
	if err := db.Raw(cols+`WHERE a.status = 'open' AND a.ends_floor <= ? AND a.ends_at > ? AND a.ends_at <= ?`+watched+`
		ORDER BY a.ends_at LIMIT ?`, now.Add(horizon), now, now.Add(horizon), s.opts.candidates).Scan(&running).Error; err != nil {
		return nil, err
	}
	// Lots whose closing notice went out are left out here, so that a busy
	// hour of closes cannot hold later lots back behind the limit.
	if err := db.Raw(cols+`WHERE a.status IN ('closed', 'cancelled') AND a.ends_floor >= ?`+watched+`
		AND NOT EXISTS (SELECT 1 FROM watch_notices n WHERE n.auction_id = a.id AND n.kind = ? AND n.threshold_s = 0 AND n.done)
		ORDER BY a.ends_floor LIMIT ?`, now.Add(-s.opts.Lookback), kindClosed, s.opts.candidates).Scan(&ended).Error; err != nil {
		return nil, err
	}
	var out []notice
	for _, c := range running {
		// Only the smallest threshold crossed is due: after an outage a
		// lot a minute from its end gets the one-minute reminder, not the
		// fifteen-minute one as well.
		for i := len(s.opts.Thresholds) - 1; i >= 0; i-- {
			d := s.opts.Thresholds[i]
			if !now.Before(c.EndsAt.Add(-d)) {
				out = append(out, notice{lot: c, kind: kindEndingSoon, threshold: d, since: c.EndsAt.Add(-d)})
				break
			}
		}
		if c.EndsAt.After(c.OriginalEndsAt) {
			out = append(out, notice{lot: c, kind: kindExtended, since: now})
		}
	}
	for _, c := range ended {
		out = append(out, notice{lot: c, kind: kindClosed, since: now})
	}
	return s.pending(ctx, out)
}

// pending drops the notices already sent in full.
func (s *Service) pending(ctx context.Context, ns []notice) ([]notice, error) {
	if len(ns) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(ns))
	for i, n := range ns {
		ids[i] = n.lot.ID
	}
	var done []struct {
		AuctionID  int64
		Kind       string
		ThresholdS int
	}
	if err := s.db.WithContext(ctx).Raw("SELECT auction_id, kind, threshold_s FROM watch_notices WHERE done AND auction_id IN ?", ids).
		Scan(&done).Error; err != nil {
		return nil, err
	}
	type key struct {
		id   int64
		kind string
		th   int
	}
	sent := make(map[key]bool, len(done))
	for _, d := range done {
		sent[key{d.AuctionID, d.Kind, d.ThresholdS}] = true
	}
	out := ns[:0]
	for _, n := range ns {
		if !sent[key{n.lot.ID, n.kind, int(n.threshold / time.Second)}] {
			out = append(out, n)
		}
	}
	return out, nil
}

// send fans one notice out to the lot's watchers, a chunk of users per
// transaction, and returns how many it told. Each chunk's events commit
// with the notice row's progress (the last user covered), so a node that
// dies mid-way leaves the rest to whichever node runs next, and nobody is
// told twice.
func (s *Service) send(ctx context.Context, n notice, snap domain.Event) (int, error) {
	th := int(n.threshold / time.Second)
	winner := int64(0)
	if n.lot.Status == string(domain.StatusClosed) && n.lot.LeaderID != nil && n.lot.CurrentPrice >= n.lot.ReservePrice {
		// The winner hears "you won" instead.
		winner = *n.lot.LeaderID
	}
	total := 0
	for {
		finished := false
		told := 0
		err := s.out.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
			finished, told = false, 0
			last, done, err := s.claim(tx, n.lot.ID, n.kind, th)
			if err != nil || done {
				finished = true
				return nil, err
			}
			var users []int64
			err = tx.Raw(`SELECT w.user_id FROM watchlist w JOIN users u ON u.id = w.user_id
				WHERE w.auction_id = ? AND w.user_id > ? AND w.created_at <= ? AND w.user_id <> ? AND NOT u.suspended
				ORDER BY w.user_id LIMIT ?`, n.lot.ID, last, n.since, winner, s.opts.Chunk).Scan(&users).Error
			if err != nil {
				return nil, err
			}
			finished = len(users) < s.opts.Chunk
			if len(users) > 0 {
				last = users[len(users)-1]
			}
			if err := tx.Exec("UPDATE watch_notices SET last_user_id = ?, done = ?, updated_at = ? WHERE auction_id = ? AND kind = ? AND threshold_s = ?",
				last, finished, s.now(), n.lot.ID, n.kind, th).Error; err != nil {
				return nil, err
			}
			told = len(users)
			return s.events(n, snap, users), nil
		})
		if err != nil {
			return total, err
		}
		total += told
		if finished {
			return total, nil
		}
	}
}

// claim creates the notice's row if it is new and locks it (PostgreSQL;
// SQLite has one writer at a time), returning the progress so far.
func (s *Service) claim(tx *gorm.DB, auctionID int64, kind string, th int) (last int64, done bool, err error) {
	now := s.now()
	if err := tx.Exec(`INSERT INTO watch_notices (auction_id, kind, threshold_s, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, auctionID, kind, th, now, now).Error; err != nil {
		return 0, false, err
	}
	q := "SELECT last_user_id, done FROM watch_notices WHERE auction_id = ? AND kind = ? AND threshold_s = ?"
	if s.pg {
		q += " FOR UPDATE"
	}
	var row struct {
		LastUserID int64
		Done       bool
	}
	if err := tx.Raw(q, auctionID, kind, th).Scan(&row).Error; err != nil {
		return 0, false, err
	}
	return row.LastUserID, row.Done, nil
}

// events builds one notice's personal events from the lot's snapshot.
func (s *Service) events(n notice, snap domain.Event, users []int64) []domain.Event {
	now := s.now()
	base := snap
	base.ID, base.Reset, base.ServerTime, base.CommittedAt = "", false, time.Time{}, now
	switch n.kind {
	case kindEndingSoon:
		base.Type, base.ThresholdSeconds = domain.EventEndingSoon, int(n.threshold/time.Second)
	case kindExtended:
		base.Type = domain.EventWatchExtended
		prev := n.lot.OriginalEndsAt.UTC()
		base.PreviousEndsAt = &prev
	case kindClosed:
		base.Type = domain.EventWatchClosed
		if base.Status == domain.StatusClosed && base.ReserveMet && base.Leader != "" {
			base.Winner = base.Leader
		}
	}
	out := make([]domain.Event, len(users))
	for i, u := range users {
		e := base
		e.UserID = u
		out[i] = e
	}
	return out
}
