// Package watchlist keeps what each user watches, counts each lot's
// watchers for its seller, and sends the watchers' notices: ending_soon at
// each reminder threshold before the end, watch_extended when soft close
// first moves the end, and watch_closed with the result.
//
// Notices go out through the bidding service's outbox (Outbox), in the
// same transaction as the rows that record them as sent, so each watcher
// gets each notice once however many nodes run the scheduler and whichever
// of them dies mid-way. The watchlist owns its tables; it reads auctions
// and never changes them.
package watchlist

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// Outbox commits changes together with their events. The bidding service
// implements it; events leave only after the commit.
type Outbox interface {
	// Transact runs fn in one transaction and appends the events fn
	// returns to the outbox in it. fn may run more than once.
	Transact(ctx context.Context, fn func(tx *gorm.DB) ([]domain.Event, error)) error
}

// Snapshotter reads the public state of auctions as snapshot events.
type Snapshotter interface {
	Snapshots(ctx context.Context, ids []int64) ([]domain.Event, error)
}

// Options tune a Service. Zero values take the defaults.
type Options struct {
	Now func() time.Time
	// Thresholds are the reminder times before the end; default
	// DefaultThresholds.
	Thresholds []time.Duration
	// Tick is how often the scheduler looks for due notices; default 1 s.
	Tick time.Duration
	// Chunk bounds the watchers one notice transaction covers; default 500.
	Chunk int
	// MaxPerUser bounds one user's watchlist; default 500.
	MaxPerUser int
	// Lookback is how long after a lot ends its watch_closed notice may
	// still go out (after an outage of every scheduler); default 1 h.
	Lookback time.Duration
	Logger   *slog.Logger
	// candidates bounds the watched lots one tick considers in each of
	// its two scans (running lots near their end, lots that ended
	// lately); default 5000. Tests make it small.
	candidates int
}

// DefaultThresholds are the reminders before the end: 15 minutes and 1.
var DefaultThresholds = []time.Duration{15 * time.Minute, time.Minute}

// Service keeps watchlists and sends their notices.
type Service struct {
	db    *gorm.DB
	pg    bool
	out   Outbox
	snaps Snapshotter
	opts  Options
	log   *slog.Logger
}

// New returns a Service on db (already migrated).
func New(db *gorm.DB, out Outbox, snaps Snapshotter, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.Thresholds) == 0 {
		opts.Thresholds = DefaultThresholds
	}
	// Largest first: the scheduler sends the smallest one crossed.
	opts.Thresholds = slices.Clone(opts.Thresholds)
	slices.SortFunc(opts.Thresholds, func(a, b time.Duration) int { return int(b - a) })
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.Chunk <= 0 {
		opts.Chunk = 500
	}
	if opts.MaxPerUser <= 0 {
		opts.MaxPerUser = 500
	}
	if opts.Lookback <= 0 {
		opts.Lookback = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.candidates <= 0 {
		opts.candidates = 5000
	}
	return &Service{db: db, pg: db.Dialector.Name() == "postgres", out: out, snaps: snaps, opts: opts, log: opts.Logger}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// watchLockSpace is the first key of the per-auction advisory locks that
// make concurrent watches of one lot take turns ("wtch"), so each count a
// seller is sent is exact and the counts arrive in order.
const watchLockSpace = 0x77746368

// Errors a watcher may meet.
var (
	ErrOwnLot  = &domain.Error{Code: domain.CodeForbidden, Message: "This is your own listing: its watchers are counted on My listings."}
	ErrEnded   = &domain.Error{Code: domain.CodeGone, Message: "This auction has ended, so there is nothing left to watch."}
	errTooMany = "You are watching the most lots one account may (%d): unwatch some first."
)

// Watch puts a running lot on u's watchlist and tells its seller the new
// count. Watching a lot already watched changes nothing. It returns the
// lot's watcher count.
func (s *Service) Watch(ctx context.Context, u domain.User, auctionID int64) (int, error) {
	if err := mayAct(u); err != nil {
		return 0, err
	}
	count := 0
	err := s.out.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
		lot, err := s.lockLot(tx, auctionID)
		if err != nil {
			return nil, err
		}
		if lot.SellerID == u.ID {
			return nil, ErrOwnLot
		}
		var have int64
		if err := tx.Raw("SELECT count(*) FROM watchlist WHERE user_id = ? AND auction_id = ?", u.ID, auctionID).Scan(&have).Error; err != nil {
			return nil, err
		}
		if have > 0 {
			count, err = s.countTx(tx, auctionID)
			return nil, err
		}
		if lot.Status != string(domain.StatusOpen) && lot.Status != string(domain.StatusScheduled) {
			return nil, ErrEnded
		}
		var mine int64
		if err := tx.Raw("SELECT count(*) FROM watchlist WHERE user_id = ?", u.ID).Scan(&mine).Error; err != nil {
			return nil, err
		}
		if mine >= int64(s.opts.MaxPerUser) {
			return nil, domain.Errorf(domain.CodeConflict, errTooMany, s.opts.MaxPerUser)
		}
		if err := tx.Exec("INSERT INTO watchlist (user_id, auction_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			u.ID, auctionID, s.now()).Error; err != nil {
			return nil, err
		}
		if count, err = s.countTx(tx, auctionID); err != nil {
			return nil, err
		}
		return []domain.Event{s.watchersEvent(lot, count)}, nil
	})
	return count, err
}

// Unwatch takes a lot off u's watchlist and tells its seller the new count
// while the lot runs. Unwatching a lot not watched changes nothing.
func (s *Service) Unwatch(ctx context.Context, u domain.User, auctionID int64) (int, error) {
	if u.ID == 0 {
		return 0, domain.ErrUnauthorized
	}
	count := 0
	err := s.out.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
		lot, err := s.lockLot(tx, auctionID)
		if err != nil {
			return nil, err
		}
		res := tx.Exec("DELETE FROM watchlist WHERE user_id = ? AND auction_id = ?", u.ID, auctionID)
		if res.Error != nil {
			return nil, res.Error
		}
		if count, err = s.countTx(tx, auctionID); err != nil || res.RowsAffected == 0 {
			return nil, err
		}
		if lot.Status != string(domain.StatusOpen) && lot.Status != string(domain.StatusScheduled) {
			return nil, nil
		}
		return []domain.Event{s.watchersEvent(lot, count)}, nil
	})
	return count, err
}

// lotRow is what a watch needs to know of the lot.
type lotRow struct {
	ID       int64
	SellerID int64
	Title    string
	Status   string
	Currency string
	Seq      int64
	EndsAt   time.Time
}

// lockLot reads the lot and, on PostgreSQL, takes the lot's watch lock for
// the transaction. The lock is advisory: it never waits on bids, which
// hold the auction's row lock.
func (s *Service) lockLot(tx *gorm.DB, auctionID int64) (lotRow, error) {
	if s.pg {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?, ?)", watchLockSpace, int32(uint32(auctionID))).Error; err != nil {
			return lotRow{}, err
		}
	}
	var lot lotRow
	if err := tx.Raw("SELECT id, seller_id, title, status, currency, seq, ends_at FROM auctions WHERE id = ?", auctionID).Scan(&lot).Error; err != nil {
		return lot, err
	}
	if lot.ID == 0 {
		return lot, domain.ErrAuctionNotFound
	}
	return lot, nil
}

func (s *Service) countTx(tx *gorm.DB, auctionID int64) (int, error) {
	var n int64
	err := tx.Raw("SELECT count(*) FROM watchlist WHERE auction_id = ?", auctionID).Scan(&n).Error
	return int(n), err
}

// watchersEvent tells the seller a lot's watcher count. It carries no
// auction state beyond the title, status and end: clients must not redraw
// prices from it.
func (s *Service) watchersEvent(lot lotRow, count int) domain.Event {
	n := count
	return domain.Event{Type: domain.EventWatchers, AuctionID: lot.ID, UserID: lot.SellerID, Title: lot.Title,
		Status: domain.Status(lot.Status), Currency: lot.Currency, Seq: lot.Seq, EndsAt: lot.EndsAt.UTC(),
		Watchers: &n, CommittedAt: s.now()}
}

// IDs returns the ids of the lots u watches, most recently watched first.
func (s *Service) IDs(ctx context.Context, userID int64) ([]domain.WatchEntry, error) {
	var rows []domain.WatchEntry
	err := s.db.WithContext(ctx).Raw(`SELECT auction_id, created_at AS watched_at FROM watchlist WHERE user_id = ?
		ORDER BY created_at DESC, auction_id DESC LIMIT ?`, userID, s.opts.MaxPerUser).Scan(&rows).Error
	for i := range rows {
		rows[i].WatchedAt = rows[i].WatchedAt.UTC()
	}
	return rows, err
}

// Watching reports which of ids the user watches.
func (s *Service) Watching(ctx context.Context, userID int64, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if userID == 0 || len(ids) == 0 {
		return out, nil
	}
	var got []int64
	err := s.db.WithContext(ctx).Raw("SELECT auction_id FROM watchlist WHERE user_id = ? AND auction_id IN ?", userID, ids).Scan(&got).Error
	for _, id := range got {
		out[id] = true
	}
	return out, err
}

// Counts returns the number of watchers of each of ids (absent: none).
func (s *Service) Counts(ctx context.Context, ids []int64) (map[int64]int, error) {
	out := map[int64]int{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		AuctionID int64
		N         int
	}
	err := s.db.WithContext(ctx).Raw("SELECT auction_id, count(*) AS n FROM watchlist WHERE auction_id IN ? GROUP BY auction_id", ids).Scan(&rows).Error
	for _, r := range rows {
		out[r.AuctionID] = r.N
	}
	return out, err
}

func mayAct(u domain.User) error {
	switch {
	case u.ID == 0:
		return domain.ErrUnauthorized
	case u.Suspended:
		return domain.ErrSuspended
	}
	return nil
}
