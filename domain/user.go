package domain

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on account fields.
const (
	MinPasswordRunes = 8
	// MaxPasswordBytes is bcrypt's input limit: longer passwords would be
	// silently truncated, so they are refused instead.
	MaxPasswordBytes = 72
	MaxNameRunes     = 80
	MaxEmailBytes    = 254
)

// ValidateRegistration reports every problem with a new account at once.
// email and name are expected trimmed.
func ValidateRegistration(email, password, name string) error {
	fields := map[string]string{}
	if !validEmail(email) || CheckText(email, EmailText) != nil {
		fields["email"] = "Enter an email address such as name@example.com."
	}
	switch {
	case utf8.RuneCountInString(password) < MinPasswordRunes:
		fields["password"] = "Use at least 8 characters."
	case len(password) > MaxPasswordBytes:
		fields["password"] = "Use at most 72 bytes (about 72 plain letters)."
	}
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		fields["name"] = "Enter your name."
	case n > MaxNameRunes:
		fields["name"] = "Keep your name to 80 characters."
	default:
		if msg := TextProblem(name, NameText); msg != "" {
			fields["name"] = msg
		}
	}
	return FieldErrors(fields)
}

// validEmail accepts a bare address (no display name) of plausible shape.
func validEmail(s string) bool {
	if s == "" || len(s) > MaxEmailBytes {
		return false
	}
	// Invisible characters would let two addresses look the same.
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) }) >= 0 {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}

// User is an account. Any user may both sell and bid.
type User struct {
	ID        int64
	Email     string
	Name      string
	Admin     bool
	Suspended bool
	// EmailVerified is set once the user followed the verification link
	// (or was created verified: `gavel user create`, the demo accounts).
	EmailVerified bool
	// TimeZone is an IANA name ("Europe/Paris") that email times are shown
	// in; "" means UTC.
	TimeZone string
	// AuthVersion changes whenever the password does; a session started
	// under another version is no longer valid, and a reset link signed
	// for another version is spent.
	AuthVersion int64
	CreatedAt   time.Time
}

// AuditEntry is one append-only record of an administrator's action.
type AuditEntry struct {
	ID        int64     `json:"id"`
	ActorID   int64     `json:"actor_id"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"` // "cancel_auction", "cancel_bid", "suspend_user", "unsuspend_user"
	TargetID  int64     `json:"target_id"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}
