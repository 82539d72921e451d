package notify

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// queueAccountNotice records a verification or reset email carrying t,
// unless the user already had limit of that kind within window.
func (s *Service) queueAccountNotice(ctx context.Context, u domain.User, kind domain.NoticeKind, t token, limit int, window time.Duration) (bool, error) {
	now := s.now()
	n, err := s.st.countSince(ctx, u.ID, kind, now.Add(-window))
	if err != nil {
		return false, err
	}
	if n >= int64(limit) {
		return false, nil
	}
	payload, err := json.Marshal(t)
	if err != nil {
		return false, err
	}
	// Each request is its own notice: the key is the request's time.
	key := strconv.FormatInt(now.UnixNano(), 10)
	if _, err := s.st.record(ctx, []notice{{UserID: u.ID, Kind: kind, Key: key, Payload: string(payload), At: now}}, now); err != nil {
		return false, err
	}
	s.poke()
	return true, nil
}

// RequestVerification emails u a link that verifies their address. It is
// limited per address; past the limit it answers rate_limited.
func (s *Service) RequestVerification(ctx context.Context, u domain.User) error {
	if u.EmailVerified {
		return domain.Errorf(domain.CodeConflict, "Your email address is already verified.")
	}
	t := token{Purpose: purposeVerify, UserID: u.ID, Expires: s.now().Add(s.cfg.VerifyTTL), Extra: strings.ToLower(u.Email)}
	ok, err := s.queueAccountNotice(ctx, u, domain.NoticeVerify, t, s.cfg.VerifyLimit, s.cfg.VerifyWindow)
	if err != nil {
		return err
	}
	if !ok {
		return &domain.Error{Code: domain.CodeRateLimited, Message: "We sent you several verification emails recently. Check your inbox and spam folder, or try again in a few minutes.",
			Extra: map[string]any{"retry_after": int(s.cfg.VerifyWindow / time.Second)}}
	}
	return nil
}

// Verify follows a verification link. A link for an address the user has
// since verified just confirms it again.
func (s *Service) Verify(ctx context.Context, tok string) (domain.User, error) {
	t, err := verify(s.key, tok, purposeVerify, s.now())
	if err != nil {
		return domain.User{}, err
	}
	u, err := s.users.MarkEmailVerified(ctx, t.UserID, t.Extra)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.User{}, domain.ErrTokenInvalid
	}
	return u, err
}

// RequestPasswordReset emails a reset link to the account with this
// address, if there is one. It answers the same either way, and past the
// per-address limit it quietly sends nothing, so that neither the answer
// nor its timing tells whether the address has an account.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email = strings.TrimSpace(email)
	if email == "" || len(email) > domain.MaxEmailBytes || domain.CheckText(email, domain.EmailText) != nil {
		return domain.Invalid("email", "Enter the email address of your account.")
	}
	u, err := s.users.UserByEmail(ctx, email)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	t := token{Purpose: purposeReset, UserID: u.ID, Version: u.AuthVersion, Expires: s.now().Add(s.cfg.ResetTTL)}
	_, err = s.queueAccountNotice(ctx, u, domain.NoticeReset, t, s.cfg.ResetLimit, s.cfg.ResetWindow)
	return err
}

// CheckResetToken says whether a reset link can still be used, so the page
// can say so before the user types a new password.
func (s *Service) CheckResetToken(ctx context.Context, tok string) error {
	t, err := verify(s.key, tok, purposeReset, s.now())
	if err != nil {
		return err
	}
	u, err := s.users.UserByID(ctx, t.UserID)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeNotFound {
			return domain.ErrTokenInvalid
		}
		return err
	}
	if u.AuthVersion != t.Version {
		return domain.ErrTokenUsed
	}
	return nil
}

// ResetPassword follows a reset link: it sets the new password once, and
// ends every session of the user (their AuthVersion moves on).
func (s *Service) ResetPassword(ctx context.Context, tok, password string) (domain.User, error) {
	t, err := verify(s.key, tok, purposeReset, s.now())
	if err != nil {
		return domain.User{}, err
	}
	u, err := s.users.ResetPassword(ctx, t.UserID, t.Version, password)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.User{}, domain.ErrTokenInvalid
	}
	return u, err
}

// Prefs returns a user's email preferences.
func (s *Service) Prefs(ctx context.Context, u domain.User) (domain.NoticePrefs, error) {
	set, err := s.st.prefs(ctx, u.ID)
	if err != nil {
		return domain.NoticePrefs{}, err
	}
	tz := u.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	out := domain.NoticePrefs{TimeZone: tz}
	for _, k := range domain.NoticeKinds() {
		on, ok := set[k]
		if !ok || !k.Optional() {
			on = true
		}
		out.Kinds = append(out.Kinds, domain.NoticePref{Kind: k, Label: k.Label(), Enabled: on, Optional: k.Optional()})
	}
	return out, nil
}

// SetPrefs changes a user's preferences. Turning off a kind that cannot be
// turned off is refused, and so is an unknown time zone.
func (s *Service) SetPrefs(ctx context.Context, u domain.User, upd domain.NoticePrefsUpdate) (domain.NoticePrefs, error) {
	fields := map[string]string{}
	if upd.TimeZone != nil {
		tz := strings.TrimSpace(*upd.TimeZone)
		if err := domain.CheckTimeZoneName(tz); err != nil {
			fields["time_zone"] = domain.ErrorMessage(err)
		} else if _, err := time.LoadLocation(tz); err != nil {
			fields["time_zone"] = "Unknown time zone " + strconv.Quote(tz) + ": use an IANA name such as Europe/Paris."
		}
		upd.TimeZone = &tz
	}
	for k, on := range upd.Enabled {
		switch {
		case !k.Valid():
			fields["kinds."+truncate(string(k), 40)] = "Unknown kind of email."
		case !k.Optional() && !on:
			fields["kinds."+string(k)] = "This email is about your account and cannot be turned off."
		}
	}
	if err := domain.FieldErrors(fields); err != nil {
		return domain.NoticePrefs{}, err
	}
	if upd.TimeZone != nil {
		if err := s.users.SetTimeZone(ctx, u.ID, *upd.TimeZone); err != nil {
			return domain.NoticePrefs{}, err
		}
		u.TimeZone = *upd.TimeZone
	}
	for k, on := range upd.Enabled {
		if k.Optional() {
			if err := s.st.setPref(ctx, u.ID, k, on); err != nil {
				return domain.NoticePrefs{}, err
			}
		}
	}
	return s.Prefs(ctx, u)
}

// Unsubscribe follows a signed unsubscribe link (the footer's, or the
// List-Unsubscribe one-click POST): it turns off that one kind for that
// one user. Doing it twice is harmless.
func (s *Service) Unsubscribe(ctx context.Context, tok string) (domain.User, domain.NoticeKind, error) {
	t, err := verify(s.key, tok, purposeUnsub, s.now())
	if err != nil {
		return domain.User{}, "", err
	}
	k := domain.NoticeKind(t.Extra)
	if !k.Optional() {
		return domain.User{}, "", domain.ErrTokenInvalid
	}
	u, err := s.users.UserByID(ctx, t.UserID)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeNotFound {
			return domain.User{}, "", domain.ErrTokenInvalid
		}
		return domain.User{}, "", err
	}
	return u, k, s.st.setPref(ctx, u.ID, k, false)
}

// UnsubscribeToken is the token of a user's unsubscribe link for kind.
func (s *Service) UnsubscribeToken(userID int64, kind domain.NoticeKind) string {
	return s.sign(token{Purpose: purposeUnsub, UserID: userID, Extra: string(kind)})
}

// Mailbox lists the development mailbox, newest first, without bodies.
func (s *Service) Mailbox(ctx context.Context, limit int) ([]domain.MailMessage, error) {
	return s.st.mailbox(ctx, clamp(limit, 100, 1000))
}

// MailMessage returns one message of the development mailbox, whole.
func (s *Service) MailMessage(ctx context.Context, id int64) (domain.MailMessage, error) {
	return s.st.mail(ctx, id)
}

// Problems lists notices the mail server refused for good, and those
// still being retried after a failure, newest first.
func (s *Service) Problems(ctx context.Context, limit int) ([]domain.MailFailure, error) {
	return s.st.problems(ctx, clamp(limit, 100, 1000))
}

func clamp(v, def, max int) int {
	if v <= 0 {
		return def
	}
	return min(v, max)
}
