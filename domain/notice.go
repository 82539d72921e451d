package domain

import (
	"time"
	"unicode/utf8"
)

// NoticeKind names one kind of email Gavel sends.
type NoticeKind string

// The kinds of notice. Verification, password reset and the suspension
// notices are about the account itself and cannot be turned off; the rest
// are optional, on by default, and each has a one-click unsubscribe.
const (
	NoticeOutbid       NoticeKind = "outbid"
	NoticeWon          NoticeKind = "won"
	NoticeSold         NoticeKind = "sold"   // to the seller: the lot sold
	NoticeUnsold       NoticeKind = "unsold" // to the seller: the lot closed unsold
	NoticeEndingSoon   NoticeKind = "ending_soon"
	NoticeBidCancelled NoticeKind = "bid_cancelled"
	NoticeSuspended    NoticeKind = "suspended"
	NoticeReinstated   NoticeKind = "reinstated"
	NoticeVerify       NoticeKind = "verify"
	NoticeReset        NoticeKind = "reset"
)

// NoticeKinds lists every kind, optional ones first, in the order the
// preferences page shows them.
func NoticeKinds() []NoticeKind {
	return []NoticeKind{NoticeOutbid, NoticeEndingSoon, NoticeWon, NoticeSold, NoticeUnsold, NoticeBidCancelled,
		NoticeSuspended, NoticeReinstated, NoticeVerify, NoticeReset}
}

// Valid reports whether k is one of NoticeKinds.
func (k NoticeKind) Valid() bool {
	for _, v := range NoticeKinds() {
		if v == k {
			return true
		}
	}
	return false
}

// Optional reports whether a user may turn notices of kind k off.
func (k NoticeKind) Optional() bool {
	switch k {
	case NoticeOutbid, NoticeWon, NoticeSold, NoticeUnsold, NoticeEndingSoon, NoticeBidCancelled:
		return true
	}
	return false
}

// Label is how the preferences page names kind k.
func (k NoticeKind) Label() string {
	switch k {
	case NoticeOutbid:
		return "Someone outbid me (at most one per lot every 10 minutes)"
	case NoticeEndingSoon:
		return "A lot I watch ends soon"
	case NoticeWon:
		return "I won a lot"
	case NoticeSold:
		return "A lot I sell was sold"
	case NoticeUnsold:
		return "A lot I sell closed unsold"
	case NoticeBidCancelled:
		return "An administrator struck one of my bids"
	case NoticeSuspended:
		return "My account was suspended"
	case NoticeReinstated:
		return "My account was reinstated"
	case NoticeVerify:
		return "Email address verification"
	case NoticeReset:
		return "Password reset links"
	}
	return string(k)
}

// NoticePref is one kind of notice and whether a user receives it.
type NoticePref struct {
	Kind     NoticeKind `json:"kind"`
	Label    string     `json:"label"`
	Enabled  bool       `json:"enabled"`
	Optional bool       `json:"optional"` // false: cannot be turned off
}

// NoticePrefs are a user's email preferences.
type NoticePrefs struct {
	TimeZone string       `json:"time_zone"`
	Kinds    []NoticePref `json:"kinds"`
}

// NoticePrefsUpdate changes some preferences; nil fields stay as they are.
type NoticePrefsUpdate struct {
	TimeZone *string
	Enabled  map[NoticeKind]bool
}

// MaxTimeZoneBytes bounds an IANA time zone name ("America/Argentina/ComodRivadavia" is 32).
const MaxTimeZoneBytes = 64

// CheckTimeZoneName checks the shape of an IANA time zone name; whether the
// zone exists is for the caller's time zone database to say.
func CheckTimeZoneName(tz string) error {
	if tz == "" || len(tz) > MaxTimeZoneBytes || !utf8.ValidString(tz) {
		return Invalid("time_zone", "Choose a time zone such as Europe/Paris or UTC.")
	}
	for _, r := range tz {
		ok := r == '/' || r == '_' || r == '-' || r == '+' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return Invalid("time_zone", "Choose a time zone such as Europe/Paris or UTC.")
		}
	}
	return nil
}

// MailMessage is one email as the development mailbox keeps it, or one
// notice's delivery record for administrators.
type MailMessage struct {
	ID        int64     `json:"id"`
	MessageID string    `json:"message_id"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Kind      string    `json:"kind"`
	Headers   string    `json:"headers,omitempty"` // the header block as sent
	Text      string    `json:"text,omitempty"`
	HTML      string    `json:"html,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// MailFailure is a notice the mail server refused for good (a 5xx), for
// administrators.
type MailFailure struct {
	ID        int64      `json:"id"`
	UserID    int64      `json:"user_id"`
	Kind      NoticeKind `json:"kind"`
	Status    string     `json:"status"` // "failed", or "pending" while retrying
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error"`
	CreatedAt time.Time  `json:"created_at"`
}

// Sentinels of the email flows.
var (
	ErrNotVerified  = &Error{Code: CodeForbidden, Message: "Verify your email address first: follow the link we emailed you, or ask for a new one."}
	ErrTokenInvalid = &Error{Code: CodeInvalid, Message: "This link is not valid. Copy the whole link from the email, or ask for a new one."}
	ErrTokenExpired = &Error{Code: CodeGone, Message: "This link has expired. Ask for a new one."}
	ErrTokenUsed    = &Error{Code: CodeGone, Message: "This link was already used. Ask for a new one if you need it."}
)
