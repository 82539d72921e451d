package database

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm/logger"
)

// expectedErrors is GORM's logger minus the errors callers expect and
// answer themselves: a unique violation is how "that email is taken" is
// found out, a 409 for the client and nothing an operator should be paged
// about. Slow queries are still reported.
type expectedErrors struct{ logger.Interface }

func (l expectedErrors) LogMode(level logger.LogLevel) logger.Interface {
	return expectedErrors{l.Interface.LogMode(level)}
}

func (l expectedErrors) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if IsUniqueViolation(err) {
		// Still traced, so a slow insert is reported, but not as an error.
		err = nil
	}
	l.Interface.Trace(ctx, begin, fc, err)
}

// IsUniqueViolation reports a unique-constraint violation on either
// database.
func IsUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
