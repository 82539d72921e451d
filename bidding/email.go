package bidding

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// mayTrade refuses an unverified user when verification is required. A
// user's verification only ever goes from unset to set, so the user as the
// caller read it (at most UserCacheTTL old) can only refuse wrongly for that
// long after verifying, never admit wrongly.
func (s *Service) mayTrade(u domain.User) error {
	if s.opts.RequireVerifiedEmail && !u.EmailVerified {
		return domain.ErrNotVerified
	}
	return nil
}

// UserByEmail returns the user with this address (any case). Text no
// address can hold is no user, without asking the database.
func (s *Service) UserByEmail(ctx context.Context, email string) (domain.User, error) {
	email = strings.TrimSpace(email)
	if domain.CheckText(email, domain.EmailText) != nil {
		return domain.User{}, domain.ErrUserNotFound
	}
	var row userRow
	err := s.db.WithContext(ctx).Where("lower(email) = lower(?)", email).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.User{}, domain.ErrUserNotFound
	}
	if err != nil {
		return domain.User{}, err
	}
	return row.toDomain(), nil
}

// MarkEmailVerified records that the user proved they read mail sent to
// email. It does nothing for an address the user no longer has, and is
// idempotent: verifying twice keeps the first time.
func (s *Service) MarkEmailVerified(ctx context.Context, userID int64, email string) (domain.User, error) {
	now := s.now()
	err := s.db.WithContext(ctx).Model(&userRow{}).
		Where("id = ? AND lower(email) = lower(?) AND email_verified_at IS NULL", userID, email).
		Update("email_verified_at", now).Error
	if err != nil {
		return domain.User{}, err
	}
	s.users.Forget(userID)
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return u, err
	}
	if !strings.EqualFold(u.Email, email) {
		return domain.User{}, domain.ErrTokenInvalid
	}
	return u, nil
}

// ResetPassword sets a new password if the user's AuthVersion is still
// authVersion, and moves it on, which ends every session of the user and
// spends every reset link signed for the old version.
func (s *Service) ResetPassword(ctx context.Context, userID, authVersion int64, password string) (domain.User, error) {
	switch {
	case len([]rune(password)) < domain.MinPasswordRunes:
		return domain.User{}, domain.Invalid("password", "Use at least 8 characters.")
	case len(password) > domain.MaxPasswordBytes:
		return domain.User{}, domain.Invalid("password", "Use at most 72 bytes (about 72 plain letters).")
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return domain.User{}, err
	}
	res := s.db.WithContext(ctx).Model(&userRow{}).Where("id = ? AND auth_version = ?", userID, authVersion).
		Updates(map[string]any{"password_hash": string(hash), "auth_version": gorm.Expr("auth_version + 1")})
	if res.Error != nil {
		return domain.User{}, res.Error
	}
	s.users.Forget(userID)
	if res.RowsAffected == 0 {
		if _, err := s.UserByID(ctx, userID); err != nil {
			return domain.User{}, err
		}
		return domain.User{}, domain.ErrTokenUsed
	}
	return s.UserByID(ctx, userID)
}

// SetTimeZone stores the IANA time zone the user's email is written in;
// the caller checks that the zone exists.
func (s *Service) SetTimeZone(ctx context.Context, userID int64, tz string) error {
	if err := domain.CheckTimeZoneName(tz); err != nil {
		return err
	}
	res := s.db.WithContext(ctx).Model(&userRow{}).Where("id = ?", userID).Update("time_zone", tz)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return domain.ErrUserNotFound
	}
	s.users.Forget(userID)
	return nil
}

// UnsuspendUser lifts a suspension: the user may act again, and is told by
// a reinstated event. What the suspension voided and cancelled stays so;
// the audit log records the reinstatement with its reason.
func (s *Service) UnsuspendUser(ctx context.Context, admin domain.User, userID int64, reason string) error {
	if !admin.Admin || admin.Suspended {
		return domain.ErrNotAdmin
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		var row userRow
		if err := tx.Raw("SELECT * FROM users WHERE id = ?"+s.forUpdate(), userID).Scan(&row).Error; err != nil {
			return err
		}
		switch {
		case row.ID == 0:
			return domain.ErrUserNotFound
		case !row.Suspended:
			return domain.Errorf(domain.CodeConflict, "User #%d is not suspended.", userID)
		}
		if err := tx.Model(&userRow{}).Where("id = ?", userID).Update("suspended", false).Error; err != nil {
			return err
		}
		now := s.now()
		if err := tx.Create(&auditRow{ActorID: admin.ID, Action: "unsuspend_user", TargetID: userID, Reason: reason, CreatedAt: now}).Error; err != nil {
			return err
		}
		return s.writeEvents(tx, []domain.Event{{Type: domain.EventReinstated, UserID: userID, Reason: reason, CommittedAt: now}})
	})
	if err != nil {
		return err
	}
	s.users.Forget(userID)
	s.notifyCommitted()
	return nil
}

// bidCancelledEvent tells the bidder of a struck bid which bid and why,
// with the auction's state after the recomputation.
func bidCancelledEvent(a domain.Auction, bid bidRow, reason string, now time.Time) domain.Event {
	e := domain.StateEvent(domain.EventBidCancelled, a, now)
	e.UserID, e.BidID, e.BidAmount, e.Reason = bid.BidderID, bid.ID, bid.Amount, reason
	return e
}
