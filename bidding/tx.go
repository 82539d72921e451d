package bidding

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/internal/outage"
)

// maxTxAttempts bounds retries of transactions that failed only because of
// concurrency (serialization failure, deadlock, SQLite busy).
const maxTxAttempts = 6

// inTx runs fn in one transaction, retrying it when the database reports a
// conflict that a retry resolves. fn must not call the network: it may run
// several times, and it holds row locks while it runs. A database that is
// down, restarting or stalled fails it with an unavailable error.
func (s *Service) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return retryTx(ctx, func() error { return s.db.WithContext(ctx).Transaction(fn) })
}

// retryTx runs attempt, a whole transaction, until it succeeds, fails for
// a reason a retry cannot fix, or has failed maxTxAttempts times. Errors of
// a database that is unavailable (BEGIN and COMMIT fail outside GORM's
// callbacks) come back as outage errors.
func retryTx(ctx context.Context, attempt func() error) error {
	return outage.DB(retryAttempts(ctx, attempt))
}

func retryAttempts(ctx context.Context, attempt func() error) error {
	var err error
	for n := range maxTxAttempts {
		err = attempt()
		if err == nil || !retryable(err) {
			return err
		}
		// Back off a little so the winner of the conflict can finish.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(n+1) * 3 * time.Millisecond):
		}
	}
	return err
}

func retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// 40001 serialization_failure, 40P01 deadlock_detected
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// uniqueViolation reports a unique-constraint error on either dialect.
func uniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// foreignKeyViolation reports a foreign-key error on either dialect.
func foreignKeyViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23503"
	}
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}
