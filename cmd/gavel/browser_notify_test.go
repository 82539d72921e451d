package main

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestBrowserEmailFlows, in real browsers against a node with the
// development mailbox and verification required: a newcomer registers and
// cannot bid; an administrator finds the verification email at
// /admin/mail; the newcomer follows its link and bids. Then the newcomer
// resets their password through the emailed link, which a second use
// refuses.
func TestBrowserEmailFlows(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test")
	}
	requireChromium(t)
	cfg := config.Default()
	cfg.Addr = freeAddr(t)
	cfg.DataDir, cfg.DatabaseURL, cfg.Demo, cfg.NodeName = t.TempDir(), testpg.URL(t), config.DemoOff, "browser-mail"
	cfg.Mail.PublicURL = "http://" + cfg.Addr
	required := true
	cfg.Mail.RequireVerified = &required
	logs := &browserLogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	n, err := startNode(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("start node: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		_ = n.shutdown(context.Background())
		if t.Failed() {
			t.Logf("node log:\n%s", logs)
		}
	})
	base := n.URL()
	ctx := context.Background()
	const adminEmail, adminPassword = "ada@example.com", "ada-admin-password"
	if err := createUser(ctx, cfg, log, adminEmail, adminPassword, "Ada Admin", true); err != nil {
		t.Fatal(err)
	}
	seller, err := n.svc.CreateUser(ctx, "sam@example.com", "sam-password", "Sam", false)
	if err != nil {
		t.Fatal(err)
	}
	lot, err := n.svc.CreateAuction(ctx, seller, domain.AuctionInput{Title: "Walnut box", Currency: "EUR", StartPrice: 1000, EndsAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	lotURL := base + "/auctions/" + strconv.FormatInt(lot.ID, 10)

	admin := startBrowser(t, "admin", 1280, 900)
	nina := admin.newProfile("newcomer", 1280, 900)
	admin.open(base+"/login?next=/admin/mail", "#login-form")
	admin.fill("email", adminEmail)
	admin.fill("password", adminPassword)
	admin.do("log in", 15*time.Second, chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#mailbox-heading")))

	// Registered but unverified: the page says so, and a bid is refused.
	nina.register(base, "Nina", "nina@example.com", "nina-password", "/", "#verify-notice")
	nina.checkA11y("home with the verification notice")
	nina.open(lotURL, "#bid-form")
	nina.waitFor("banner on the auction page", `document.getElementById('verify-notice').textContent.indexOf('Verify your email address to bid') >= 0`,
		`document.getElementById('verify-notice') && document.getElementById('verify-notice').textContent`, 5*time.Second)
	nina.fill("bid-amount", "10.00")
	nina.do("unverified bid", 10*time.Second, chromedp.Click(chromedp.CSS("#bid-submit")))
	nina.waitFor("unverified bid refused", `document.getElementById('bid-result').textContent.indexOf('Verify your email address first') >= 0`,
		`document.getElementById('bid-result').textContent`, 10*time.Second)
	nina.expectConsole("unverified bid", "403")

	// The administrator opens the verification email in the mailbox.
	link := admin.mailLink("nina@example.com", "verify", base)
	nina.open(link, "#verify-result")
	nina.checkA11y("verified")
	if ok := nina.str(`document.getElementById('verify-result').dataset.ok`); ok != "true" {
		t.Fatalf("verification page: %s", nina.text("verify-result"))
	}
	nina.open(lotURL, "#bid-form")
	if nina.str(`String(document.getElementById('verify-notice') === null)`) != "true" {
		t.Error("the banner is still shown after verification")
	}
	nina.waitLive()
	nina.bid("10.00")
	nina.checkConsole("verified and bid")

	// Password reset, through the emailed link, once.
	nina.do("log out", 10*time.Second, chromedp.Click(chromedp.CSS(".nav-account button")), chromedp.WaitVisible(chromedp.CSS("a[href='/login']")))
	nina.open(base+"/login", "#forgot-link")
	nina.do("forgot", 10*time.Second, chromedp.Click(chromedp.CSS("#forgot-link")), chromedp.WaitVisible(chromedp.CSS("#forgot-form")))
	nina.checkA11y("forgot password")
	nina.fill("email", "nina@example.com")
	nina.do("ask for a reset", 10*time.Second, chromedp.Click(chromedp.CSS("#forgot-submit")), chromedp.WaitVisible(chromedp.CSS("#forgot-sent")))
	reset := admin.mailLink("nina@example.com", "reset", base)
	nina.open(reset, "#reset-form")
	nina.checkA11y("reset form")
	nina.fill("password", "a brand new password")
	nina.do("choose a new password", 10*time.Second, chromedp.Click(chromedp.CSS("#reset-submit")), chromedp.WaitVisible(chromedp.CSS("#reset-done")))
	nina.open(reset, "#form-error")
	if msg := nina.text("form-error"); msg != domain.ErrTokenUsed.Message {
		t.Errorf("second use of the reset link: %q, want %q", msg, domain.ErrTokenUsed.Message)
	}
	nina.expectConsole("spent reset link", "410")
	nina.open(base+"/login", "#login-form")
	nina.fill("email", "nina@example.com")
	nina.fill("password", "a brand new password")
	nina.do("log in with the new password", 15*time.Second, chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#conn-status")))
	nina.checkConsole("after the reset")
	admin.checkConsole("mailbox")
}

// mailLink opens /admin/mail until an email of kind to addr is listed,
// opens it, and returns its first link to the site.
func (b *tab) mailLink(addr, kind, base string) string {
	b.t.Helper()
	row := `document.querySelector('#mailbox tr[data-kind="` + kind + `"]')`
	deadline := time.Now().Add(20 * time.Second)
	for {
		b.open(base+"/admin/mail", "#mailbox-heading")
		if b.str(`String(`+row+` !== null && `+row+`.textContent.indexOf(`+jsString(addr)+`) >= 0)`) == "true" {
			break
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no %s email to %s in the mailbox", kind, addr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.checkA11y("mailbox")
	b.do("open the "+kind+" email", 10*time.Second, chromedp.Click(chromedp.CSS(`#mailbox tr[data-kind="`+kind+`"] a`)), chromedp.WaitVisible(chromedp.CSS("#mail-links")))
	b.checkA11y("an email in the mailbox")
	return b.str(`document.querySelector('#mail-links a[href^="` + base + `"]').href`)
}

// expectConsole forgets the console errors logged since the last check,
// which a refused request causes on purpose, and fails if none mentions
// want (the status the step expected).
func (b *tab) expectConsole(step, want string) {
	b.t.Helper()
	time.Sleep(100 * time.Millisecond) // the console event trails the answer
	b.mu.Lock()
	fresh := b.problems[b.seen:]
	b.seen = len(b.problems)
	b.mu.Unlock()
	for _, p := range fresh {
		if strings.Contains(p, want) {
			return
		}
	}
	b.t.Errorf("%s: %s: expected a console error with %s, got %q", b.name, step, want, fresh)
}
