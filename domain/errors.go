// Package domain holds Gavel's types, auction rules and errors. It imports
// the standard library only, so every other package can depend on it and
// nothing in it depends on storage, transport or framework choices.
package domain

import (
	"errors"
	"fmt"
)

// Code classifies an Error. The web layer maps each code to one HTTP status
// in a single table (web/errors.go).
type Code string

// The error codes. Keep this list short: each one is a distinct reaction a
// client can take.
const (
	CodeInvalid      Code = "invalid"      // 422: fix the input
	CodeNotFound     Code = "not_found"    // 404
	CodeConflict     Code = "conflict"     // 409: state moved on, e.g. bid below min_next_bid
	CodeForbidden    Code = "forbidden"    // 403
	CodeUnauthorized Code = "unauthorized" // 401
	CodeGone         Code = "gone"         // 410: auction closed or cancelled
	CodeRateLimited  Code = "rate_limited" // 429
	CodeUnavailable  Code = "unavailable"  // 503: try again later / elsewhere
	CodeInternal     Code = "internal"     // 500: logged, never shown in detail
)

// Error is a business error whose Message is safe to show to a person.
type Error struct {
	Code    Code
	Message string
	// Fields maps an input field name to a message about it, for forms and
	// for problem+json "errors".
	Fields map[string]string
	// Extra carries machine-readable members added to problem+json, such as
	// "min_next_bid" on a bid that was too low.
	Extra map[string]any
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is makes errors.Is match any *Error with the same code, so callers can test
// against the sentinels below even when the message differs.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Errorf builds an *Error with a formatted, user-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the user-safe message of err; internal errors get a
// generic message so that no internals leak.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	return "An internal error occurred. Please try again."
}

// Sentinels for errors.Is. Their messages are what a person reads.
var (
	ErrNotFound        = &Error{Code: CodeNotFound, Message: "Not found."}
	ErrAuctionNotFound = &Error{Code: CodeNotFound, Message: "No such auction."}
	ErrUserNotFound    = &Error{Code: CodeNotFound, Message: "No such user."}
	ErrBidNotFound     = &Error{Code: CodeNotFound, Message: "No such bid on this auction."}
	ErrBidCancelled    = &Error{Code: CodeConflict, Message: "This bid was already cancelled."}
	ErrAuctionClosed   = &Error{Code: CodeGone, Message: "This auction has ended."}
	ErrAuctionCanceled = &Error{Code: CodeGone, Message: "This auction was cancelled."}
	ErrNotOpen         = &Error{Code: CodeConflict, Message: "This auction has not started yet."}
	ErrOwnAuction      = &Error{Code: CodeForbidden, Message: "You cannot bid on your own auction."}
	ErrSuspended       = &Error{Code: CodeForbidden, Message: "Your account is suspended."}
	ErrNotAdmin        = &Error{Code: CodeForbidden, Message: "Only administrators may do this."}
	ErrNotSeller       = &Error{Code: CodeForbidden, Message: "Only the seller may do this."}
	ErrHasBids         = &Error{Code: CodeConflict, Message: "This auction already has bids, so it can no longer be changed."}
	ErrUnauthorized    = &Error{Code: CodeUnauthorized, Message: "Please log in."}
	ErrBadCredentials  = &Error{Code: CodeUnauthorized, Message: "Wrong email or password."}
	ErrEmailTaken      = &Error{Code: CodeConflict, Message: "That email cannot be registered. If it is yours, log in instead."}
	ErrBuyNowGone      = &Error{Code: CodeConflict, Message: "Buy-it-now is no longer available on this auction."}
	ErrIdempotencyKey  = &Error{Code: CodeInvalid, Message: "This Idempotency-Key was already used for a different request."}
)

// Invalid returns a CodeInvalid error for one field.
func Invalid(field, message string) *Error {
	return &Error{Code: CodeInvalid, Message: message, Fields: map[string]string{field: message}}
}

// FieldErrors turns per-field messages into one invalid *Error, nil when
// there are none. With a single field its message is the summary, since it
// says exactly what to fix.
func FieldErrors(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	msg := "Please correct the highlighted fields."
	if len(fields) == 1 {
		for _, m := range fields {
			msg = m
		}
	}
	return &Error{Code: CodeInvalid, Message: msg, Fields: fields}
}
