// Package sessionstore keeps scs sessions in the sessions table, through
// GORM, on PostgreSQL or SQLite. The table comes from the migrations; this
// package never creates it.
package sessionstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/alexedwards/scs/v2"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/internal/groupread"
	"github.com/gavel-auctions/gavel/internal/outage"
	"github.com/gavel-auctions/gavel/internal/ttlcache"
)

// DefaultCleanupInterval is how often StartCleanup deletes expired rows by
// default. Expired rows are already invisible to Find, so this only bounds
// the table's growth.
const DefaultCleanupInterval = 5 * time.Minute

// Store is an scs.Store and scs.CtxStore on the sessions table.
type Store struct {
	db  *gorm.DB
	log *slog.Logger
	now func() time.Time
	// cache keeps found sessions briefly (nil: every Find reads the
	// database); this node's commits and deletes update it at once, and
	// another node's logout shows here within its TTL.
	cache *ttlcache.Cache[string, []byte]
	// reads batches the lookups of sessions the cache does not hold: the
	// requests and stream set-ups that miss together share one query.
	reads *groupread.Reader[string, []byte]
	// readDone, if set, runs between a batched read's query and filling
	// the cache from it: tests race a logout there.
	readDone func()
}

var (
	_ scs.Store    = (*Store)(nil)
	_ scs.CtxStore = (*Store)(nil)
)

// An Option tunes New.
type Option func(*Store)

// WithLogger makes cleanup failures visible; without it they are dropped
// (the next round retries anyway).
func WithLogger(log *slog.Logger) Option {
	return func(s *Store) { s.log = log }
}

// WithReadCache caches found sessions for ttl, holding at most max, so a
// client sending many requests (a bidding storm) does not cost a database
// read each.
func WithReadCache(ttl time.Duration, max int) Option {
	return func(s *Store) { s.cache = ttlcache.New[string, []byte](ttl, max) }
}

// New returns a store on db, whose schema must be migrated.
func New(db *gorm.DB, opts ...Option) *Store {
	s := &Store{db: db, log: slog.New(slog.DiscardHandler), now: time.Now}
	s.reads = groupread.New(s.readSessions, groupread.Options{})
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Times go in and are compared in UTC. On PostgreSQL that changes nothing;
// on SQLite, where the driver stores times as text, one zone makes text
// order equal time order.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// FindCtx returns the data of an unexpired session. A missing or expired
// token is found=false with no error, as scs expects. Lookups that miss
// the cache at the same time are read together (readSessions).
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if data, ok, refresh := s.cache.Lookup(token, s.now()); ok {
		if refresh {
			// Read it again in the background, with the next batch, so
			// that a session in use never expires under its requests.
			s.reads.Refresh(token)
		}
		return data, true, nil
	}
	data, found, err := s.reads.Get(ctx, token)
	if err != nil {
		// A row's error surfaces at Scan, past GORM's error translation.
		return nil, false, fmt.Errorf("find session: %w", outage.DB(err))
	}
	return data, found, nil
}

// readSessions reads the unexpired sessions among tokens in one query and
// caches them. Misses are not cached: unknown tokens must not fill the
// cache. A session this node deleted or rewrote while the query was in
// flight is not cached from it (ttlcache's fences), so a logout racing a
// batched read cannot bring the session back.
func (s *Store) readSessions(ctx context.Context, tokens []string) (map[string][]byte, error) {
	began := s.cache.Begin()
	now := s.now()
	type row struct {
		Token  string
		Data   []byte
		Expiry time.Time
	}
	var rows []row
	err := s.db.WithContext(ctx).
		Raw("SELECT token, data, expiry FROM sessions WHERE token IN ? AND expiry > ?", tokens, utc(now)).
		Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	if s.readDone != nil {
		s.readDone()
	}
	out := make(map[string][]byte, len(rows))
	for _, r := range rows {
		if r.Data == nil {
			r.Data = []byte{}
		}
		out[r.Token] = r.Data
		s.cache.Fill(r.Token, r.Data, began, now, r.Expiry)
	}
	for _, t := range tokens {
		if _, ok := out[t]; !ok {
			// Deleted or expired meanwhile (a logout on another node): a
			// refresh must not leave it cached.
			s.cache.Miss(t, began)
		}
	}
	return out, nil
}

// CommitCtx inserts or replaces a session. The upsert is one statement, so
// two requests committing the same session cannot both insert.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if b == nil {
		b = []byte{} // the column is NOT NULL
	}
	err := s.db.WithContext(ctx).Exec(
		`INSERT INTO sessions (token, data, expiry) VALUES (?, ?, ?)
		 ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
		token, b, utc(expiry)).Error
	if err != nil {
		s.cache.Forget(token)
		return fmt.Errorf("commit session: %w", err)
	}
	s.cache.Put(token, b, s.now(), expiry)
	return nil
}

// DeleteCtx removes a session; a missing token is not an error. The cache
// forgets it before the delete, so this node stops serving it at once, and
// again after, so that no read which overlapped the delete caches it anew.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	s.cache.Forget(token)
	err := s.db.WithContext(ctx).Exec("DELETE FROM sessions WHERE token = ?", token).Error
	s.cache.Forget(token)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Find is FindCtx without a context; scs calls FindCtx.
func (s *Store) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a context; scs calls CommitCtx.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a context; scs calls DeleteCtx.
func (s *Store) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// deleteChunk bounds the rows one cleanup statement deletes, so that each
// stays well inside the database's statement timeout however many
// sessions expired.
const deleteChunk = 5000

// DeleteExpired removes every expired session and returns how many.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	var total int64
	for {
		res := s.db.WithContext(ctx).Exec(
			"DELETE FROM sessions WHERE token IN (SELECT token FROM sessions WHERE expiry <= ? LIMIT ?)", utc(s.now()), deleteChunk)
		if res.Error != nil {
			return total, fmt.Errorf("delete expired sessions: %w", res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < deleteChunk {
			return total, nil
		}
	}
}

// RunCleanup deletes expired sessions every interval
// (DefaultCleanupInterval when interval <= 0) until ctx ends, then returns.
// Failures are logged and retried at the next tick.
func (s *Store) RunCleanup(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultCleanupInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Every replica runs this; the deletes are idempotent, so
			// overlapping runs cost a little work and nothing else.
			n, err := s.DeleteExpired(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("session cleanup failed", "err", err)
			case n > 0:
				s.log.Debug("expired sessions deleted", "count", n)
			}
		}
	}
}

// StartCleanup runs RunCleanup in a goroutine. The returned channel closes
// when it has returned, so shutdown can wait for it before closing the
// database.
func (s *Store) StartCleanup(ctx context.Context, interval time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunCleanup(ctx, interval)
	}()
	return done
}
