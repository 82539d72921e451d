// Package invoicing is what happens after the hammer: it issues invoices
// for lots that closed sold, numbers them per seller without gaps, records
// the buyer's delivery or collection choice and the seller's payment and
// fulfilment steps, cancels invoices with credit notes, offers lots after
// close, and builds sellers' statements. docs/INVOICING.md describes the
// rules.
//
// It owns its tables (migration 00009) and reads the auctions, bids and
// users tables, which the bidding service writes. Every change commits
// with its personal events through an Outbox (the bidding service's
// Transact), so buyers and sellers see it live on /stream/me.
package invoicing

import (
	"context"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// Outbox commits a change and its events in one transaction. fn may run
// more than once (retries), so it must only use tx.
type Outbox interface {
	Transact(ctx context.Context, fn func(tx *gorm.DB) ([]domain.Event, error)) error
}

// Config tunes a Service. Zero values take the defaults.
type Config struct {
	// Now is the server clock, read in UTC.
	Now func() time.Time
	// CommissionBPS is the platform's default commission on hammer prices
	// until an admin sets one (platform_settings).
	CommissionBPS int64
	// Interval is how often Run settles closed lots, expires offers and
	// flags overdue invoices; default 1 s.
	Interval time.Duration
	// Payments takes payments; default ManualPayments (the seller marks
	// bank transfers paid).
	Payments PaymentProvider
	Logger   *slog.Logger
}

// Service is invoicing on one database, PostgreSQL or SQLite.
type Service struct {
	db       *gorm.DB
	out      Outbox
	cfg      Config
	log      *slog.Logger
	pg       bool
	hasSales bool // auctions.sale_id exists (sales, issue #14)
}

// New returns a Service on db (migrated), committing through out.
func New(db *gorm.DB, out Outbox, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Payments == nil {
		cfg.Payments = ManualPayments{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{
		db: db, out: out, cfg: cfg, log: cfg.Logger,
		pg:       db.Dialector.Name() == "postgres",
		hasSales: db.Migrator().HasColumn("auctions", "sale_id"),
	}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// forUpdate is the row-lock suffix: NO KEY UPDATE, as bidding takes it,
// so that inserts whose foreign keys point at the row (an offer at its
// auction, lines at their invoice) do not wait on it. SQLite serializes
// writers instead.
func (s *Service) forUpdate() string {
	if s.pg {
		return " FOR NO KEY UPDATE"
	}
	return ""
}

// Run settles closed lots, expires offers and flags overdue invoices every
// Interval until ctx ends. Every API node may run it: each change claims
// its rows in its own transaction, so it happens once.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := s.Settle(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("invoicing: settling closed lots failed; will retry", "err", err)
		}
		if _, err := s.ExpireOffers(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("invoicing: expiring offers failed; will retry", "err", err)
		}
		if _, err := s.FlagOverdue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("invoicing: flagging overdue invoices failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// audit appends an entry to the audit log in tx.
func audit(tx *gorm.DB, actor int64, action string, target int64, reason string, now time.Time) error {
	return tx.Exec("INSERT INTO audit_log (actor_id, action, target_id, reason, created_at) VALUES (?, ?, ?, ?, ?)",
		actor, action, target, reason, now).Error
}

// errNothing ends a transaction that found its work already done by
// another node; callers treat it as success.
var errNothing = &domain.Error{Code: domain.CodeConflict, Message: "already done"}
