package config

import (
	"strings"
	"testing"
)

func TestMailSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		bad      string // substring of the error, "" for none
		require  bool
		tls      string
		host     string
		port     int
		user     string
		fromAddr string
	}{
		{name: "embedded default", require: false, tls: "starttls", fromAddr: "gavel@localhost"},
		{name: "smtp requires verification", env: map[string]string{"GAVEL_SMTP_URL": "smtp://ann:s3cret@mail.example.com:2525"},
			require: true, tls: "starttls", host: "mail.example.com", port: 2525, user: "ann", fromAddr: "gavel@localhost"},
		{name: "smtps implies tls and 465", env: map[string]string{"GAVEL_SMTP_URL": "smtps://mail.example.com", "GAVEL_REQUIRE_VERIFIED_EMAIL": "false"},
			require: false, tls: "tls", host: "mail.example.com", port: 465},
		{name: "override on without smtp", env: map[string]string{"GAVEL_REQUIRE_VERIFIED_EMAIL": "true", "GAVEL_MAIL_FROM": "Auctions <a@example.com>", "GAVEL_SMTP_TLS": "none"},
			require: true, tls: "none", fromAddr: "a@example.com"},
		{name: "bad scheme", env: map[string]string{"GAVEL_SMTP_URL": "http://mail.example.com"}, bad: "GAVEL_SMTP_URL: scheme must be smtp://"},
		{name: "bad tls", env: map[string]string{"GAVEL_SMTP_TLS": "ssl"}, bad: "GAVEL_SMTP_TLS: must be one of"},
		{name: "bad from", env: map[string]string{"GAVEL_MAIL_FROM": "not an address"}, bad: "GAVEL_MAIL_FROM"},
		{name: "bad public url", env: map[string]string{"GAVEL_PUBLIC_URL": "auctions.example.com"}, bad: "GAVEL_PUBLIC_URL"},
		{name: "bad bool", env: map[string]string{"GAVEL_REQUIRE_VERIFIED_EMAIL": "maybe"}, bad: "GAVEL_REQUIRE_VERIFIED_EMAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			err := c.FromEnv(func(k string) string { return tt.env[k] })
			if err == nil {
				err = c.Validate()
			}
			if tt.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tt.bad) {
					t.Fatalf("error %v, want one containing %q", err, tt.bad)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := c.Mail
			if m.VerificationRequired() != tt.require || m.TLSMode() != tt.tls {
				t.Errorf("require %v tls %s, want %v %s", m.VerificationRequired(), m.TLSMode(), tt.require, tt.tls)
			}
			if tt.host != "" {
				host, port, user, _, err := m.SMTPServer()
				if err != nil || host != tt.host || port != tt.port || user != tt.user {
					t.Errorf("server %s %d %s %v", host, port, user, err)
				}
			}
			if tt.fromAddr != "" {
				if a, err := m.FromAddress(); err != nil || a.Address != tt.fromAddr {
					t.Errorf("from %v %v", a, err)
				}
			}
			if strings.Contains(c.String(), "s3cret") {
				t.Errorf("String shows the SMTP password: %s", c.String())
			}
		})
	}
}
