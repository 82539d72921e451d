package bidding

import (
	"context"
	"errors"
	"strings"

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
	hash, err := s.hashPassword(ctx, password)
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
// the two was wrong, and every password (empty, wrong, or for an unknown
// email) costs one bcrypt comparison through the hashing gate, so neither
// the time taken nor the load caused tells them apart. An email that is
// not even text is refused before the database sees it.
func (s *Service) Authenticate(ctx context.Context, email, password string) (domain.User, error) {
	email = strings.TrimSpace(email)
	if domain.CheckText(email, domain.EmailText) != nil {
		return domain.User{}, domain.ErrBadCredentials
	}
	var row userRow
	err := s.db.WithContext(ctx).Where("lower(email) = lower(?)", email).Take(&row).Error
	hash := []byte(row.PasswordHash)
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		hash = dummyHash
	case err != nil:
		return domain.User{}, err
	}
	var mismatch error
	if err := s.hash.run(ctx, func() { mismatch = bcrypt.CompareHashAndPassword(hash, []byte(password)) }); err != nil {
		return domain.User{}, err
	}
	if mismatch != nil || row.ID == 0 {
		return domain.User{}, domain.ErrBadCredentials
	}
	return row.toDomain(), nil
}

// hashPassword hashes a new password through the hashing gate.
func (s *Service) hashPassword(ctx context.Context, password string) ([]byte, error) {
	var hash []byte
	var herr error
	if err := s.hash.run(ctx, func() { hash, herr = bcrypt.GenerateFromPassword([]byte(password), s.opts.PasswordCost) }); err != nil {
		return nil, err
	}
	return hash, herr
}

// UserByID returns one user.
func (s *Service) UserByID(ctx context.Context, id int64) (domain.User, error) {
	now := s.now()
	if u, ok, refresh := s.users.Lookup(id, now); ok {
		if refresh {
			s.userReads.Refresh(id) // in the background, with the next batch
		}
		return u, nil
	}
	u, found, err := s.userReads.Get(ctx, id)
	if err != nil {
		return domain.User{}, err
	}
	if !found {
		return domain.User{}, domain.ErrUserNotFound
	}
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
