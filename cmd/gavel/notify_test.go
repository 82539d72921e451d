package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/smtptest"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// freeAddr returns a loopback address nothing listens on, so a node's
// GAVEL_PUBLIC_URL can name its own port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startMailNode starts a node with SMTP pointed at an in-process server,
// so verification is required, as in production.
func startMailNode(t *testing.T) (*node, *smtptest.Server) {
	t.Helper()
	srv, err := smtptest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	cfg := config.Default()
	cfg.Addr = freeAddr(t)
	cfg.DataDir, cfg.DatabaseURL, cfg.Demo, cfg.NodeName = t.TempDir(), testpg.URL(t), config.DemoOff, "mail-test"
	cfg.Mail.PublicURL = "http://" + cfg.Addr
	cfg.Mail.SMTPURL = "smtp://" + srv.Addr()
	cfg.Mail.SMTPTLS = config.SMTPNoTLS
	cfg.Mail.From = "Gavel Test <auctions@gavel.test>"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := startNode(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.shutdown(context.Background()) })
	return n, srv
}

func newJarClient(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// mailTo waits for the newest message of kind to addr and returns its
// text with the link that starts with prefix.
func mailTo(t *testing.T, srv *smtptest.Server, addr, kind, prefix string, after int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		msgs := srv.Messages()
		for i := len(msgs) - 1; i >= after; i-- {
			m := msgs[i]
			if len(m.To) == 1 && strings.EqualFold(m.To[0], addr) && m.Header.Get("X-Gavel-Notice") == kind {
				raw := strings.ReplaceAll(strings.ReplaceAll(string(m.Data), "=\r\n", ""), "=3D", "=")
				for _, f := range strings.Fields(raw) {
					if strings.HasPrefix(f, prefix) {
						return strings.TrimRight(f, "\"<>")
					}
				}
				t.Fatalf("%s email to %s has no link %s:\n%s", kind, addr, prefix, raw)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s email to %s", kind, addr)
	return ""
}

func (c *client) get(u string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(u)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEmailFlowsOverHTTP: with SMTP configured a new user may not bid
// until they follow the emailed link; a password reset answers 202 either
// way, works once and ends the user's other sessions; the RFC 8058 POST
// gets through the cross-origin check, and nothing else does.
func TestEmailFlowsOverHTTP(t *testing.T) {
	n, srv := startMailNode(t)
	base := n.URL()
	seller := newJarClient(t)
	seller.json(http.MethodPost, base+"/api/v1/users", map[string]any{"email": "sam@example.com", "password": "correct horse", "name": "Sam"}, http.StatusCreated, nil)
	seller.json(http.MethodPost, base+"/api/v1/session", map[string]any{"email": "sam@example.com", "password": "correct horse"}, http.StatusOK, nil)
	ends := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	listing := map[string]any{"title": "Clock", "currency": "EUR", "start_price": 1000, "ends_at": ends}
	seller.json(http.MethodPost, base+"/api/v1/auctions", listing, http.StatusForbidden, nil)

	verifyLink := mailTo(t, srv, "sam@example.com", "verify", "http://"+strings.TrimPrefix(base, "http://")+"/verify?token=", 0)
	if code, body := seller.get(verifyLink); code != http.StatusOK || !strings.Contains(body, "Your email address is verified") {
		t.Fatalf("following the verification link: %d\n%s", code, body)
	}
	var a struct{ ID int64 }
	waitFor(t, "listing allowed after verification", func() bool {
		return seller.json(http.MethodPost, base+"/api/v1/auctions", listing, 0, &a) == http.StatusCreated
	})

	// Two bidders, verified through the API route this time.
	bidders := []*client{newJarClient(t), newJarClient(t)}
	for i, b := range bidders {
		email := "bidder" + strconv.Itoa(i) + "@example.com"
		b.json(http.MethodPost, base+"/api/v1/users", map[string]any{"email": email, "password": "correct horse", "name": "Bidder"}, http.StatusCreated, nil)
		b.json(http.MethodPost, base+"/api/v1/session", map[string]any{"email": email, "password": "correct horse"}, http.StatusOK, nil)
		link := mailTo(t, srv, email, "verify", base+"/verify?token=", 0)
		u, _ := url.Parse(link)
		b.json(http.MethodPost, base+"/api/v1/users/verify", map[string]any{"token": u.Query().Get("token")}, http.StatusOK, nil)
	}
	bidURL := base + "/api/v1/auctions/" + strconv.FormatInt(a.ID, 10) + "/bids"
	waitFor(t, "first bid", func() bool {
		return bidders[0].json(http.MethodPost, bidURL, map[string]any{"amount": 1000}, 0, nil) == http.StatusCreated
	})
	waitFor(t, "second bid", func() bool {
		return bidders[1].json(http.MethodPost, bidURL, map[string]any{"amount": 1100}, 0, nil) == http.StatusCreated
	})

	// The outbid email's List-Unsubscribe URL takes a cross-site POST (it
	// comes from a mail provider); other routes refuse one.
	unsub := mailTo(t, srv, "bidder0@example.com", "outbid", base+"/unsubscribe?token=", 0)
	post := func(u, body string) int {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://mail.provider.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(unsub, "List-Unsubscribe=One-Click"); code != http.StatusOK {
		t.Errorf("RFC 8058 one-click POST: %d, want 200", code)
	}
	if code := post(base+"/api/v1/password-reset", `{"email":"x@example.com"}`); code != http.StatusForbidden {
		t.Errorf("cross-site POST elsewhere: %d, want 403", code)
	}
	var prefs struct {
		Kinds []struct {
			Kind    string
			Enabled bool
		}
	}
	bidders[0].json(http.MethodGet, base+"/api/v1/me/notifications", nil, http.StatusOK, &prefs)
	for _, k := range prefs.Kinds {
		if k.Kind == "outbid" && k.Enabled {
			t.Error("outbid email still on after the one-click unsubscribe")
		}
	}

	// Password reset: 202 whether or not the address exists; the link
	// works once and ends the other sessions.
	anon := newJarClient(t)
	anon.json(http.MethodPost, base+"/api/v1/password-reset", map[string]any{"email": "nobody@example.com"}, http.StatusAccepted, nil)
	before := srv.Count()
	anon.json(http.MethodPost, base+"/api/v1/password-reset", map[string]any{"email": "SAM@example.com"}, http.StatusAccepted, nil)
	link := mailTo(t, srv, "sam@example.com", "reset", base+"/reset?token=", before)
	if code, body := anon.get(link); code != http.StatusOK || !strings.Contains(body, `id="reset-form"`) {
		t.Fatalf("reset page: %d", code)
	}
	u, _ := url.Parse(link)
	tok := u.Query().Get("token")
	anon.json(http.MethodPost, base+"/api/v1/password-reset/confirm", map[string]any{"token": tok, "password": "a fresh password"}, http.StatusNoContent, nil)
	anon.json(http.MethodPost, base+"/api/v1/password-reset/confirm", map[string]any{"token": tok, "password": "another password"}, http.StatusGone, nil)
	waitFor(t, "the seller's old session ended", func() bool {
		return seller.json(http.MethodGet, base+"/api/v1/me", nil, 0, nil) == http.StatusUnauthorized
	})
	anon.json(http.MethodPost, base+"/api/v1/session", map[string]any{"email": "sam@example.com", "password": "a fresh password"}, http.StatusOK, nil)
	anon.json(http.MethodPost, base+"/api/v1/password-reset/confirm", map[string]any{"token": tok[:len(tok)-3] + "abc", "password": "another password"}, http.StatusUnprocessableEntity, nil)

	// Per client IP, reset requests are limited.
	limited := false
	for range 12 {
		if anon.json(http.MethodPost, base+"/api/v1/password-reset", map[string]any{"email": "nobody@example.com"}, 0, nil) == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("12 reset requests from one address were not limited")
	}
}

// waitFor polls cond for up to 20 s: a just-verified user may wait for
// the one-second user cache.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
