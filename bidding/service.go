// Package bidding is Gavel's domain service: it owns every transaction that
// changes an auction, commits each change together with its events in an
// outbox, relays committed events to NATS, and runs the auction lifecycle.
package bidding

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/groupread"
	"github.com/gavel-auctions/gavel/internal/ttlcache"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// Options tune a Service. Zero values take the defaults.
type Options struct {
	// Now is the server clock; it is always read in UTC.
	Now func() time.Time
	// MaxBatch bounds how many queued bids commit together.
	MaxBatch int
	// BatchTimeout bounds one batch transaction (default 5s), so that a
	// database that is down or paused fails its bids with 503 instead of
	// holding them. It is not tied to any one caller's context because a
	// batch serves many callers.
	BatchTimeout time.Duration
	// Shards is the number of bid queues; each auction belongs to one.
	// Default 8: enough concurrent commits to keep PostgreSQL's group
	// commit busy, few enough that batches stay large.
	Shards int
	// CloseGrace delays closing an auction past its end so that bids
	// received before the end, still queued behind a commit, are judged
	// first.
	CloseGrace time.Duration
	// Retention is how long published events stay replayable.
	Retention time.Duration
	// PasswordCost is the bcrypt cost; tests lower it to stay fast.
	PasswordCost int
	// HashConcurrency bounds the password hashes running at once (default
	// half of GOMAXPROCS, at least 1); HashWait is how long one waits for
	// a turn before the request is refused as busy (default 2s).
	HashConcurrency int
	HashWait        time.Duration
	// UserCacheTTL keeps users read by UserByID (once per request, for the
	// session's user) for this long; 0 turns the cache off. A suspension on
	// another node shows here within it; bids re-check suspension in their
	// own transaction regardless.
	UserCacheTTL time.Duration
	// RequireVerifiedEmail refuses bids and listings from users whose email
	// address is not verified (they may still watch).
	RequireVerifiedEmail bool
	// DefaultFees returns the fee schedule a seller's new listing in
	// currency gets when it brings none (invoicing keeps the sellers'
	// defaults); nil: listings without fees have none.
	DefaultFees func(ctx context.Context, sellerID int64, currency string) (*domain.Fees, error)
	Logger      *slog.Logger
}

// Service implements accounts, bidding, reads and the realtime log on one
// database, PostgreSQL or SQLite.
type Service struct {
	db *gorm.DB
	pg bool
	// pgx is the pool under db when it is PostgreSQL through pgx: bid
	// batches run on its connections directly (batch_pg.go).
	pgx *sql.DB
	// pipes holds idle *pgPipe between batches so that their parameter
	// buffers, ~100 KB for a large batch, are not grown from nothing every
	// time. Not a sync.Pool: a cascade allocates enough to collect every
	// other batch, and a collection empties a sync.Pool.
	pipes chan *pgPipe
	opts  Options
	log   *slog.Logger

	seqMu    sync.Mutex
	shards   []shard
	inflight sync.WaitGroup
	// draining counts the shards judging or committing bids now (Busy).
	draining atomic.Int32
	// drainEnded is when a shard last stopped judging, in Unix
	// nanoseconds (IdleFor).
	drainEnded atomic.Int64
	// batchesBegun and batchesEnded count the batches that started and
	// finished their transaction, for the relay's yield (yieldToBatches).
	batchesBegun, batchesEnded atomic.Uint64

	// committed wakes the relay after each commit that wrote events, so
	// delivery latency has no polling delay in it.
	committed chan struct{}

	users *ttlcache.Cache[int64, domain.User] // nil unless Options.UserCacheTTL
	hash  *hashGate                           // bounds bcrypt (hashgate.go)

	// stallBatch, if set, runs in a PostgreSQL batch transaction once its
	// auctions are locked: tests pause a node there.
	stallBatch func()
	// userReads batches UserByID's cache misses into one query (userreads.go).
	userReads *groupread.Reader[int64, domain.User]
	// userReadDone, if set, runs between a batched user read's query and
	// caching its rows: tests race a suspension there.
	userReadDone func()
}

// New returns a Service on db (already migrated).
func New(db *gorm.DB, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.BatchTimeout <= 0 {
		opts.BatchTimeout = 5 * time.Second
	}
	if opts.Shards <= 0 {
		opts.Shards = 8
	}
	if opts.CloseGrace <= 0 {
		opts.CloseGrace = 2 * time.Second
	}
	if opts.Retention <= 0 {
		opts.Retention = 24 * time.Hour
	}
	if opts.PasswordCost == 0 {
		opts.PasswordCost = bcryptCost
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HashConcurrency <= 0 {
		opts.HashConcurrency = defaultHashConcurrency()
	}
	if opts.HashWait <= 0 {
		opts.HashWait = defaultHashWait
	}
	s := &Service{
		db:        db,
		pg:        db.Dialector.Name() == "postgres",
		opts:      opts,
		log:       opts.Logger,
		shards:    make([]shard, opts.Shards),
		committed: make(chan struct{}, 1),
		pipes:     make(chan *pgPipe, 8),
		users:     ttlcache.New[int64, domain.User](opts.UserCacheTTL, 100_000),
		hash:      newHashGate(opts.HashConcurrency, opts.HashWait),
	}
	s.userReads = groupread.New(s.readUsers, groupread.Options{})
	if sqlDB, err := db.DB(); s.pg && err == nil {
		if _, ok := sqlDB.Driver().(*stdlib.Driver); ok {
			s.pgx = sqlDB
		}
	}
	return s
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// notifyCommitted wakes the relay without blocking; one pending wake-up is
// enough because the relay drains everything unpublished each time.
func (s *Service) notifyCommitted() {
	select {
	case s.committed <- struct{}{}:
	default:
	}
}

// Committed returns the channel that receives a value after commits that
// wrote events. The relay selects on it.
func (s *Service) Committed() <-chan struct{} { return s.committed }

// Close waits for bids already queued to finish committing.
func (s *Service) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// forUpdate is the row-lock suffix. NO KEY UPDATE, because a plain FOR
// UPDATE also conflicts with the KEY SHARE locks that foreign-key checks
// take when other transactions insert bids referencing the row, and that
// turns concurrent batches into deadlocks. SQLite has no row locks and
// serializes writers with BEGIN IMMEDIATE instead.
func (s *Service) forUpdate() string {
	if s.pg {
		return " FOR NO KEY UPDATE"
	}
	return ""
}
