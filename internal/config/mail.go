package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
)

// SMTP TLS modes (GAVEL_SMTP_TLS).
const (
	SMTPStartTLS = "starttls" // STARTTLS, required (the default)
	SMTPTLS      = "tls"      // implicit TLS, as smtps:// implies
	SMTPNoTLS    = "none"     // a local relay or a development catcher
)

// Mail is the email settings (docs/EMAIL.md).
type Mail struct {
	PublicURL string // GAVEL_PUBLIC_URL: links in email start with it
	SMTPURL   string // GAVEL_SMTP_URL: smtp://user:pass@host:587; empty: development mailbox
	From      string // GAVEL_MAIL_FROM
	SMTPTLS   string // GAVEL_SMTP_TLS; empty: starttls, or tls for smtps://
	// RequireVerified is GAVEL_REQUIRE_VERIFIED_EMAIL; nil means the
	// default: required when SMTP is configured.
	RequireVerified *bool
}

// DefaultPublicURL and DefaultMailFrom are the defaults of the embedded setup.
const (
	DefaultPublicURL = "http://localhost:8080"
	DefaultMailFrom  = "Gavel <gavel@localhost>"
)

// VerificationRequired resolves GAVEL_REQUIRE_VERIFIED_EMAIL's default.
func (m Mail) VerificationRequired() bool {
	if m.RequireVerified != nil {
		return *m.RequireVerified
	}
	return m.SMTPURL != ""
}

// TLSMode is the effective GAVEL_SMTP_TLS.
func (m Mail) TLSMode() string {
	if m.SMTPTLS != "" {
		return m.SMTPTLS
	}
	if u, err := url.Parse(m.SMTPURL); err == nil && strings.EqualFold(u.Scheme, "smtps") {
		return SMTPTLS
	}
	return SMTPStartTLS
}

// FromAddress parses GAVEL_MAIL_FROM.
func (m Mail) FromAddress() (*mail.Address, error) {
	from := m.From
	if from == "" {
		from = DefaultMailFrom
	}
	a, err := mail.ParseAddress(from)
	if err != nil || strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("must be an address such as \"Gavel <auctions@example.com>\" (got %q)", from)
	}
	return a, nil
}

// SMTPServer returns the host, port and credentials of GAVEL_SMTP_URL.
func (m Mail) SMTPServer() (host string, port int, user, pass string, err error) {
	u, err := url.Parse(m.SMTPURL)
	if err != nil {
		return "", 0, "", "", errors.New("not a valid URL")
	}
	if s := strings.ToLower(u.Scheme); s != "smtp" && s != "smtps" {
		return "", 0, "", "", fmt.Errorf("scheme must be smtp:// or smtps:// (got %q)", u.Scheme)
	}
	host = u.Hostname()
	if host == "" {
		return "", 0, "", "", errors.New("URL has no host")
	}
	port = 587
	if strings.EqualFold(u.Scheme, "smtps") || m.SMTPTLS == SMTPTLS {
		port = 465
	}
	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port <= 0 || port > 65535 {
			return "", 0, "", "", fmt.Errorf("port must be a number from 1 to 65535 (got %q)", p)
		}
	}
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	return host, port, user, pass, nil
}

// mailSettings are the rows of the settings table for email.
func mailSettings() []settingRow {
	return []settingRow{
		{Setting{"GAVEL_PUBLIC_URL", "", DefaultPublicURL, "where users reach Gavel; links in email start with it"},
			func(c *Config, v string) error { c.Mail.PublicURL = strings.TrimSpace(v); return nil }},
		{Setting{"GAVEL_SMTP_URL", "", "(empty: development mailbox at /admin/mail)", "SMTP server, smtp://user:pass@host:587 or smtps://…"},
			func(c *Config, v string) error { c.Mail.SMTPURL = strings.TrimSpace(v); return nil }},
		{Setting{"GAVEL_SMTP_TLS", "", "starttls", "starttls (required), tls (implicit, as smtps://) or none"},
			func(c *Config, v string) error {
				switch m := strings.ToLower(strings.TrimSpace(v)); m {
				case SMTPStartTLS, SMTPTLS, SMTPNoTLS:
					c.Mail.SMTPTLS = m
					return nil
				}
				return fmt.Errorf("must be one of starttls, tls, none (got %q)", v)
			}},
		{Setting{"GAVEL_MAIL_FROM", "", DefaultMailFrom, "sender of every email"},
			func(c *Config, v string) error { c.Mail.From = strings.TrimSpace(v); return nil }},
		{Setting{"GAVEL_REQUIRE_VERIFIED_EMAIL", "", "(true with SMTP, false without)", "refuse bids and listings until the user verified their address"},
			func(c *Config, v string) error {
				b, err := strconv.ParseBool(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("must be true or false (got %q)", v)
				}
				c.Mail.RequireVerified = &b
				return nil
			}},
	}
}

// validate reports bad email settings through bad.
func (m Mail) validate(bad func(key, format string, args ...any)) {
	if m.PublicURL != "" {
		u, err := url.Parse(m.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad("GAVEL_PUBLIC_URL", "must be an http:// or https:// URL such as https://auctions.example.com (got %q)", m.PublicURL)
		}
	}
	if m.SMTPURL != "" {
		if _, _, _, _, err := m.SMTPServer(); err != nil {
			bad("GAVEL_SMTP_URL", "%v", err)
		}
	}
	if _, err := m.FromAddress(); err != nil {
		bad("GAVEL_MAIL_FROM", "%v", err)
	}
}

// logAttrs prints the email settings, one per variable, the SMTP password
// masked.
func (m Mail) logAttrs() []slog.Attr {
	public := m.PublicURL
	if public == "" {
		public = DefaultPublicURL
	}
	smtp := "(development mailbox)"
	if m.SMTPURL != "" {
		smtp = MaskURL(m.SMTPURL, false)
	}
	from := m.From
	if from == "" {
		from = DefaultMailFrom
	}
	return []slog.Attr{slog.String("public_url", public), slog.String("smtp_url", smtp), slog.String("smtp_tls", m.TLSMode()),
		slog.String("mail_from", from), slog.Bool("require_verified_email", m.VerificationRequired())}
}
