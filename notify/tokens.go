package notify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// Purposes of signed links. The purpose is inside the signed payload, so
// a link made for one purpose never works for another.
const (
	purposeVerify = "verify"
	purposeReset  = "reset"
	purposeUnsub  = "unsub"
)

// token is what a signed link carries. Version is the user's AuthVersion
// for a reset (the link is spent once the password changes); Extra is the
// address for a verification and the notice kind for an unsubscribe.
type token struct {
	Purpose string
	UserID  int64
	Version int64
	Expires time.Time // zero: never
	Extra   string
}

// macBytes is the length of the truncated HMAC-SHA256: 128 bits.
const macBytes = 16

// maxTokenBytes bounds what is parsed; a real token is under 200 bytes.
const maxTokenBytes = 1024

var b64 = base64.RawURLEncoding

// sign encodes t and appends its MAC under key.
func sign(key []byte, t token) string {
	var exp int64
	if !t.Expires.IsZero() {
		exp = t.Expires.Unix()
	}
	payload := strings.Join([]string{t.Purpose, strconv.FormatInt(t.UserID, 10), strconv.FormatInt(t.Version, 10),
		strconv.FormatInt(exp, 10), t.Extra}, "\n")
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(m.Sum(nil)[:macBytes])
}

// verify checks s's MAC and purpose and returns the token; an expired
// token is refused with ErrTokenExpired, anything else wrong with
// ErrTokenInvalid.
func verify(key []byte, s, purpose string, now time.Time) (token, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxTokenBytes {
		return token{}, domain.ErrTokenInvalid
	}
	p64, m64, ok := strings.Cut(s, ".")
	if !ok {
		return token{}, domain.ErrTokenInvalid
	}
	payload, err1 := b64.DecodeString(p64)
	mac, err2 := b64.DecodeString(m64)
	if err1 != nil || err2 != nil || len(mac) != macBytes {
		return token{}, domain.ErrTokenInvalid
	}
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	if !hmac.Equal(mac, m.Sum(nil)[:macBytes]) {
		return token{}, domain.ErrTokenInvalid
	}
	parts := bytes.SplitN(payload, []byte("\n"), 5)
	if len(parts) != 5 || string(parts[0]) != purpose {
		return token{}, domain.ErrTokenInvalid
	}
	uid, err1 := strconv.ParseInt(string(parts[1]), 10, 64)
	ver, err2 := strconv.ParseInt(string(parts[2]), 10, 64)
	exp, err3 := strconv.ParseInt(string(parts[3]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || uid <= 0 {
		return token{}, domain.ErrTokenInvalid
	}
	t := token{Purpose: purpose, UserID: uid, Version: ver, Extra: string(parts[4])}
	if exp != 0 {
		t.Expires = time.Unix(exp, 0).UTC()
		if !now.Before(t.Expires) {
			return t, domain.ErrTokenExpired
		}
	}
	return t, nil
}
