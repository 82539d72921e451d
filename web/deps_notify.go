package web

import (
	"context"

	"github.com/gavel-auctions/gavel/domain"
)

// Notices is the email capability: verification, password reset,
// preferences, unsubscribe, and the development mailbox. A nil
// Deps.Notices means none of its routes is registered.
type Notices interface {
	// RequestVerification emails u a verification link (rate_limited past
	// the per-address limit).
	RequestVerification(ctx context.Context, u domain.User) error
	Verify(ctx context.Context, token string) (domain.User, error)
	// RequestPasswordReset answers nil whether or not the address has an
	// account.
	RequestPasswordReset(ctx context.Context, email string) error
	CheckResetToken(ctx context.Context, token string) error
	ResetPassword(ctx context.Context, token, password string) (domain.User, error)
	Prefs(ctx context.Context, u domain.User) (domain.NoticePrefs, error)
	SetPrefs(ctx context.Context, u domain.User, upd domain.NoticePrefsUpdate) (domain.NoticePrefs, error)
	Unsubscribe(ctx context.Context, token string) (domain.User, domain.NoticeKind, error)
	Mailbox(ctx context.Context, limit int) ([]domain.MailMessage, error)
	MailMessage(ctx context.Context, id int64) (domain.MailMessage, error)
	Problems(ctx context.Context, limit int) ([]domain.MailFailure, error)
	// VerificationRequired says whether unverified users may not bid or
	// sell; DevMailbox whether mail goes to the development mailbox.
	VerificationRequired() bool
	DevMailbox() bool
}

// Reinstater lifts suspensions (admins only). A nil Deps.Reinstater means
// its routes are not registered.
type Reinstater interface {
	UnsuspendUser(ctx context.Context, admin domain.User, userID int64, reason string) error
}
