package bidding

import (
	"context"
	"errors"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// bcryptCost is bcrypt's default; logins are rate-limited, so a higher cost
// buys little and costs every honest login.
const bcryptCost = bcrypt.DefaultCost

// dummyHash is compared against when the email is unknown, so that a login
// takes as long whether or not the account exists.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("gavel-timing-equalizer"), bcryptCost)

// Register creates a user whose email address is not yet verified: while
// Options.RequireVerifiedEmail is set they may watch but not bid or sell.
func (s *Service) Register(ctx context.Context, email, password, name string) (domain.User, error) {
	return s.createUser(ctx, email, password, name, false, false)
}

// CreateUser creates a verified user; admin marks an administrator (gavel
// user create --admin, the demo accounts).
func (s *Service) CreateUser(ctx context.Context, email, password, name string, admin bool) (domain.User, error) {
	return s.createUser(ctx, email, password, name, admin, true)
}

func (s *Service) createUser(ctx context.Context, email, password, name string, admin, verified bool) (domain.User, error) {
	email = strings.TrimSpace(email)
	name = strings.TrimSpace(name)
	if err := domain.ValidateRegistration(email, password, name); err != nil {
		return domain.User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.opts.PasswordCost)
	if err != nil {
		return domain.User{}, err
	}
	now := s.now()
	row := userRow{Email: email, Name: name, PasswordHash: string(hash), Admin: admin, TimeZone: "UTC", CreatedAt: now}
	if verified {
		row.EmailVerifiedAt = &now
	}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		if uniqueViolation(err) {
			return domain.User{}, domain.ErrEmailTaken
		}
		return domain.User{}, err
	}
	return row.toDomain(), nil
}

// Authenticate checks an email and password. The error never says which of
// the two was wrong.
func (s *Service) Authenticate(ctx context.Context, email, password string) (domain.User, error) {
	var row userRow
	err := s.db.WithContext(ctx).Where("lower(email) = lower(?)", strings.TrimSpace(email)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return domain.User{}, domain.ErrBadCredentials
	}
	if err != nil {
		return domain.User{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(row.PasswordHash), []byte(password)) != nil {
		return domain.User{}, domain.ErrBadCredentials
	}
	return row.toDomain(), nil
}

// UserByID returns one user.
func (s *Service) UserByID(ctx context.Context, id int64) (domain.User, error) {
	now := s.now()
	if u, ok := s.users.Get(id, now); ok {
		return u, nil
	}
	var row userRow
	err := s.db.WithContext(ctx).Take(&row, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.User{}, domain.ErrUserNotFound
	}
	if err != nil {
		return domain.User{}, err
	}
	u := row.toDomain()
	s.users.Put(id, u, now, time.Time{})
	return u, nil
}

// Users lists users, newest first.
func (s *Service) Users(ctx context.Context, limit int) ([]domain.User, error) {
	var rows []userRow
	if err := s.db.WithContext(ctx).Order("id DESC").Limit(clampLimit(limit, 100, 1000)).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.User, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

func clampLimit(limit, def, max int) int {
	if limit <= 0 {
		return def
	}
	if limit > max {
		return max
	}
	return limit
}
