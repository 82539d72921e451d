// Package outage turns the errors of a dependency that is down, restarting,
// paused or overloaded (PostgreSQL, SQLite's lock, NATS) into the domain's
// "unavailable" error, so that the web layer answers 503 with Retry-After
// and a message a person can act on instead of a 500. Stores call it where
// driver errors surface, as STYLE.md asks: the store translates driver
// errors.
//
// The translated error keeps its cause (errors.Is and errors.As still see
// the driver error, so retry logic keyed on SQLSTATE keeps working), and its
// Error text includes the cause for logs; only the domain message reaches a
// client.
package outage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/domain"
)

// Dependency names, as problem documents and /readyz show them.
const (
	Database = "database"
	NATS     = "nats"
)

// RetryAfter is the Retry-After, in seconds, of a dependency failure: long
// enough for a restart or a failover to finish, short enough that a person
// retrying by hand does not wait for nothing.
const RetryAfter = 2

// Messages a person reads. Each says that nothing acknowledged was lost,
// because that is the first thing a bidder wants to know.
const (
	msgDown = "The %s is not answering right now; nothing was lost. Please try again in a few seconds."
	msgBusy = "The %s is too busy to answer right now; nothing was lost. Please try again in a moment."
)

// Error is a dependency failure: a *domain.Error with code unavailable,
// wrapping the driver error that caused it.
type Error struct {
	public *domain.Error
	cause  error
}

// Error includes the cause, for logs; clients see only the domain message.
func (e *Error) Error() string {
	if e.cause == nil {
		return e.public.Error()
	}
	return e.public.Error() + " (" + e.cause.Error() + ")"
}

// Unwrap exposes the domain error first, so errors.As finds it before any
// *domain.Error the cause might hold, and then the cause.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.public}
	}
	return []error{e.public, e.cause}
}

// Dependency returns which dependency failed.
func (e *Error) Dependency() string {
	d, _ := e.public.Extra["dependency"].(string)
	return d
}

// New returns an unavailable error about dependency with message, wrapping
// cause (which may be nil).
func New(dependency, message string, cause error) *Error {
	return &Error{
		public: &domain.Error{
			Code:    domain.CodeUnavailable,
			Message: message,
			Extra:   map[string]any{"retry_after": RetryAfter, "dependency": dependency},
		},
		cause: cause,
	}
}

// DB translates err from PostgreSQL or SQLite: a dependency failure becomes
// an *Error, anything else (including *domain.Error) is returned as is.
func DB(err error) error {
	return classify(Database, err, dbKind)
}

// Bus translates err from NATS the same way.
func Bus(err error) error {
	return classify(NATS, err, busKind)
}

type kind uint8

const (
	kindNone kind = iota
	kindDown      // unreachable, restarting, timed out
	kindBusy      // answering, but refusing work for now
)

func classify(dep string, err error, of func(error) kind) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*domain.Error](err); ok {
		return err
	}
	msg := msgDown
	switch of(err) {
	case kindNone:
		return err
	case kindBusy:
		msg = msgBusy
	}
	return New(dep, strings.Replace(msg, "%s", dep, 1), err)
}

// IsDB reports whether err is a database failure that waiting may cure,
// as opposed to a bug or bad input. Start-up retries on these.
func IsDB(err error) bool { return dbKind(err) != kindNone }

func dbKind(err error) kind {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgKind(pe.Code)
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return kindDown
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.ErrUnexpectedEOF),
		pgconn.Timeout(err),
		netFailure(err):
		return kindDown
	}
	// SQLite has one writer; glebarez's driver reports a lock held past
	// busy_timeout only as text.
	if s := err.Error(); strings.Contains(s, "SQLITE_BUSY") || strings.Contains(s, "database is locked") {
		return kindBusy
	}
	return kindNone
}

// pgKind classifies a SQLSTATE. Integrity, syntax and data errors are bugs
// or bad input, never a reason to tell a person to come back later.
func pgKind(code string) kind {
	switch {
	case strings.HasPrefix(code, "08"): // connection exception
		return kindDown
	case strings.HasPrefix(code, "53"): // insufficient resources (too many connections, disk full, out of memory)
		return kindBusy
	case strings.HasPrefix(code, "58"): // system error (I/O)
		return kindDown
	}
	switch code {
	case "57P01", "57P02", "57P03", // admin shutdown, crash shutdown, cannot connect now
		"57014", // query_canceled: statement_timeout or a cancel request
		"25P03": // idle_in_transaction_session_timeout: this session was a stalled one
		return kindDown
	case "55P03", // lock_not_available: lock_timeout
		"40001", "40P01": // serialization failure, deadlock, past their retries
		return kindBusy
	}
	return kindNone
}

func busKind(err error) kind {
	switch {
	case errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrNoServers),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, context.DeadlineExceeded),
		netFailure(err):
		return kindDown
	case errors.Is(err, jetstream.ErrTooManyStalledMsgs):
		return kindBusy
	}
	return kindNone
}

// netFailure reports a network-level failure: a refused, reset or timed
// out connection.
func netFailure(err error) bool {
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, syscall.ETIMEDOUT,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
