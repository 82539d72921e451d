package notify

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func TestTokens(t *testing.T) {
	t.Parallel()
	key, other := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	good := token{Purpose: purposeReset, UserID: 42, Version: 3, Expires: now.Add(time.Hour)}
	s := sign(key, good)
	p64, m64, _ := strings.Cut(s, ".")
	forged := sign(key, token{Purpose: purposeUnsub, UserID: 43, Extra: "outbid"})
	fp64, _, _ := strings.Cut(forged, ".")
	tests := []struct {
		name    string
		tok     string
		purpose string
		at      time.Time
		want    error
	}{
		{"valid", s, purposeReset, now, nil},
		{"expired", s, purposeReset, now.Add(time.Hour), domain.ErrTokenExpired},
		{"another purpose", s, purposeVerify, now, domain.ErrTokenInvalid},
		{"another key", sign(other, good), purposeReset, now, domain.ErrTokenInvalid},
		{"payload of another token", fp64 + "." + m64, purposeUnsub, now, domain.ErrTokenInvalid},
		{"mac cut short", p64 + "." + m64[:10], purposeReset, now, domain.ErrTokenInvalid},
		{"no mac", p64, purposeReset, now, domain.ErrTokenInvalid},
		{"empty", "", purposeReset, now, domain.ErrTokenInvalid},
		{"junk", "!!!.???", purposeReset, now, domain.ErrTokenInvalid},
		{"huge", strings.Repeat("a", 5000), purposeReset, now, domain.ErrTokenInvalid},
	}
	for _, tt := range tests {
		got, err := verify(key, tt.tok, tt.purpose, tt.at)
		if err != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		if tt.want == nil && (got.UserID != 42 || got.Version != 3 || !got.Expires.Equal(good.Expires)) {
			t.Errorf("%s: decoded %+v", tt.name, got)
		}
	}
	// Changing one character of the payload anywhere breaks the MAC.
	for i := range len(p64) {
		b := []byte(p64)
		b[i] ^= 1
		if _, err := verify(key, string(b)+"."+m64, purposeReset, now); err == nil {
			t.Fatalf("flipping byte %d of the payload went unnoticed", i)
		}
	}
}

// mailboxToken returns the token of the newest mailbox message of kind for
// to, following its link as a person would copy it.
func mailboxToken(t *testing.T, n *Service, to string, kind domain.NoticeKind, path string) string {
	t.Helper()
	var tok string
	waitUntil(t, string(kind)+" email in the mailbox", 20*time.Second, func() bool {
		list, err := n.Mailbox(context.Background(), 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range list {
			if m.To == to && m.Kind == string(kind) {
				full, err := n.MailMessage(context.Background(), m.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(full.Headers, "Message-ID: <") || !strings.Contains(full.HTML, "<html") {
					t.Fatalf("stored message lacks headers or HTML: %+v", full)
				}
				link := linkAfter(t, full.Text, "https://gavel.example"+path+"?token=")
				u, _ := url.Parse(link)
				tok = u.Query().Get("token")
				return true
			}
		}
		return false
	})
	return tok
}

// TestAccountFlows runs verification and password reset through the
// development mailbox, on SQLite (the embedded default) and PostgreSQL.
func TestAccountFlows(t *testing.T) {
	for name, db := range map[string]func(*testing.T) *world{
		"sqlite":   func(t *testing.T) *world { return mustWorld(t, mustSQLite(t)) },
		"postgres": func(t *testing.T) *world { return mustWorld(t, pgDB(t)) },
	} {
		t.Run(name, func(t *testing.T) {
			w := db(t)
			ctx := context.Background()
			n := w.startNotifier(nil, testConfig(w))
			u, err := w.svc.Register(ctx, "Nina@Example.com", "correct horse", "Nina")
			if err != nil {
				t.Fatal(err)
			}
			if err := n.RequestVerification(ctx, u); err != nil {
				t.Fatal(err)
			}
			tok := mailboxToken(t, n.Service, u.Email, domain.NoticeVerify, "/verify")
			v, err := n.Verify(ctx, tok)
			if err != nil || !v.EmailVerified || v.ID != u.ID {
				t.Fatalf("verify: %+v %v", v, err)
			}
			if _, err := n.Verify(ctx, tok); err != nil {
				t.Errorf("following the link again: %v", err)
			}
			if err := n.RequestVerification(ctx, v); domain.ErrorCode(err) != domain.CodeConflict {
				t.Errorf("verification for a verified user: %v", err)
			}

			// Reset: the same answer for an unknown address, a link that
			// works once, and a per-address limit that sends nothing more
			// without saying so.
			if err := n.RequestPasswordReset(ctx, "nobody@example.com"); err != nil {
				t.Errorf("reset for an unknown address: %v", err)
			}
			if err := n.RequestPasswordReset(ctx, "nina@example.com"); err != nil {
				t.Fatal(err)
			}
			tok = mailboxToken(t, n.Service, u.Email, domain.NoticeReset, "/reset")
			if err := n.CheckResetToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if _, err := n.ResetPassword(ctx, tok, "brand new secret"); err != nil {
				t.Fatal(err)
			}
			if _, err := n.ResetPassword(ctx, tok, "another secret"); err != domain.ErrTokenUsed {
				t.Errorf("second use: %v, want ErrTokenUsed", err)
			}
			if err := n.CheckResetToken(ctx, tok); err != domain.ErrTokenUsed {
				t.Errorf("check after use: %v", err)
			}
			if _, err := w.svc.Authenticate(ctx, u.Email, "brand new secret"); err != nil {
				t.Errorf("log in with the new password: %v", err)
			}
			w.clock.add(2 * time.Hour)
			for range 5 {
				if err := n.RequestPasswordReset(ctx, u.Email); err != nil {
					t.Fatal(err)
				}
			}
			var resets int64
			w.db.Raw("SELECT COUNT(*) FROM notifications WHERE user_id = ? AND kind = 'reset'", u.ID).Scan(&resets)
			if resets != 1+3 {
				t.Errorf("%d reset notices, want 4 (1, then 3 per hour)", resets)
			}
			w.clock.add(time.Hour)
			if _, err := n.ResetPassword(ctx, tok, "yet another"); err != domain.ErrTokenExpired {
				t.Errorf("expired link: %v", err)
			}

			// Preferences: optional kinds toggle, account kinds do not, and
			// the time zone must exist.
			off := false
			tz := "Europe/Paris"
			p, err := n.SetPrefs(ctx, v, domain.NoticePrefsUpdate{TimeZone: &tz, Enabled: map[domain.NoticeKind]bool{domain.NoticeWon: off}})
			if err != nil || p.TimeZone != tz {
				t.Fatalf("set prefs: %+v %v", p, err)
			}
			for _, k := range p.Kinds {
				if k.Enabled != (k.Kind != domain.NoticeWon) {
					t.Errorf("%s enabled=%v", k.Kind, k.Enabled)
				}
			}
			bad := "Mars/Olympus"
			if _, err := n.SetPrefs(ctx, v, domain.NoticePrefsUpdate{TimeZone: &bad}); domain.ErrorCode(err) != domain.CodeInvalid {
				t.Errorf("unknown zone: %v", err)
			}
			if _, err := n.SetPrefs(ctx, v, domain.NoticePrefsUpdate{Enabled: map[domain.NoticeKind]bool{domain.NoticeReset: false}}); domain.ErrorCode(err) != domain.CodeInvalid {
				t.Errorf("turning reset off: %v", err)
			}
			// A turned-off kind is not recorded.
			got, err := n.HandleEvents(ctx, []domain.Event{{ID: "x", Type: domain.EventWon, UserID: v.ID, AuctionID: 1, CommittedAt: w.clock.now()}})
			if err != nil || got != 0 {
				t.Errorf("won email for a user who turned it off: %d %v", got, err)
			}
		})
	}
}
