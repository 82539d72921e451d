package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// The auction under test ends auctionLength after it is listed. Its first
// bids must come before the soft-close window opens, and the late bid lands
// lateBidBeforeEnd before the end, which moves the end to softClose after
// that bid.
const (
	auctionLength    = 32 * time.Second
	softClose        = 12 * time.Second
	lateBidBeforeEnd = 4 * time.Second
	// liveWithin is how soon another viewer must see a bid.
	liveWithin = time.Second
)

// startBrowserNode starts a node as `gavel serve` would: PostgreSQL,
// embedded NATS, every role, no demo data.
func startBrowserNode(t *testing.T) (*node, config.Config, *slog.Logger) {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.Role = config.RoleAll
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = testpg.URL(t)
	cfg.NATSURL = ""
	cfg.Demo = config.DemoOff
	cfg.NodeName = "browser-test"
	logs := &browserLogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := startNode(ctx, cfg, log)
	if err != nil {
		t.Fatalf("start node: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := n.shutdown(ctx); err != nil {
			t.Errorf("node shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("node log:\n%s", logs)
		}
	})
	return n, cfg, log
}

// register creates an account through /register and waits for the page it
// goes on to.
func (b *tab) register(base, name, email, password, next, wantSel string) {
	b.t.Helper()
	b.open(base+"/register?next="+next, "#register-form")
	b.fill("name", name)
	b.fill("email", email)
	b.fill("password", password)
	b.submit("register "+email, "#register-submit", "/register", wantSel, 15*time.Second)
}

// submit clicks a form's submit button and waits, within timeout in all,
// until the tab has left the form's page at path and shows sel. Waiting
// for sel alone is not enough when the form's own page has it too (#main):
// it would match before the POST is answered, and the next navigation
// would abort the POST.
func (b *tab) submit(step, button, path, sel string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	b.do(step, timeout, chromedp.Click(chromedp.CSS(button)))
	b.waitFor(step+": leave "+path, `location.pathname !== '`+path+`' && document.readyState !== 'loading'`,
		`location.href + ' ' + document.getElementById('main').innerText.slice(0, 300)`, time.Until(deadline))
	b.do(step+": "+sel, max(time.Until(deadline), time.Millisecond), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// bid places a bid through the page's form and waits for its receipt.
func (b *tab) bid(amount string) time.Time {
	b.t.Helper()
	b.fill("bid-amount", amount)
	at := time.Now()
	b.do("bid "+amount, 10*time.Second, chromedp.Click(chromedp.CSS("#bid-submit")))
	b.waitFor("bid "+amount+" accepted",
		`document.getElementById('bid-result').dataset.kind === 'ok' && document.getElementById('bid-result').textContent.indexOf('Bid placed') >= 0`,
		`document.getElementById('bid-result').textContent + ' ' + document.getElementById('bid-amount-error').textContent`, 10*time.Second)
	return at
}

// waitLive waits for the page's stream to be open.
func (b *tab) waitLive() {
	b.t.Helper()
	b.waitFor("stream live", `document.getElementById('conn-status').dataset.state === 'live'`,
		`document.getElementById('conn-status').dataset.state`, 10*time.Second)
}

// shows is the condition that the auction page shows price (minor units,
// and its text in major units) and bid count.
func showsPrice(minor int64, major string, bids int) string {
	return `document.querySelector('#price .money').dataset.amount === '` + strconv.FormatInt(minor, 10) + `' &&
		document.getElementById('price').textContent.indexOf(` + jsString(major) + `) >= 0 &&
		document.getElementById('bid-count').textContent.trim() === '` + strconv.Itoa(bids) + `'`
}

const priceState = `'price ' + document.getElementById('price').textContent.trim() + ', bids ' +
	document.getElementById('bid-count').textContent.trim() + ', leader ' + document.getElementById('leader').textContent.trim()`

// TestBrowserAuction runs one auction end to end in real browsers against
// a real node: a seller lists it through the form, bidders A and B bid
// against each other in separate browsers, a late bid extends it, it
// closes, and an administrator watches it on the monitor, strikes a bid
// from the seller's next listing, then suspends the seller, which cancels
// that listing on B's page.
func TestBrowserAuction(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test of about a minute")
	}
	requireChromium(t)
	start := time.Now()
	n, cfg, log := startBrowserNode(t)
	base := n.URL()
	const adminEmail, adminPassword = "ada@example.com", "ada-admin-password"
	if err := createUser(context.Background(), cfg, log, adminEmail, adminPassword, "Ada Admin", true); err != nil {
		t.Fatalf("create admin: %v", err)
	}

	t.Logf("%s: node up at %s", sinceStart(start), base)
	staff := startBrowser(t, "seller", 1280, 900)
	alice := startBrowser(t, "bidder-a", 1280, 1000)
	bob := startBrowser(t, "bidder-b", 375, 812) // a phone
	tabs := []*tab{staff, alice, bob}
	checkConsoles := func(step string) {
		t.Helper()
		for _, b := range tabs {
			b.checkConsole(step)
		}
	}
	t.Logf("%s: node and browsers up", sinceStart(start))

	staff.open(base+"/register", "#register-form")
	staff.expectCSPReported()
	staff.checkA11y("register")
	alice.register(base, "Alice", "alice@example.com", "alice-password", "/", "#conn-status")
	bob.register(base, "Bob", "bob@example.com", "bob-password", "/", "#conn-status")

	// 1. The seller lists the item through /sell.
	staff.register(base, "Sam Seller", "sam@example.com", "sam-password", "/sell", "#sell-form")
	staff.checkA11y("sell form")
	const title = "Brass telescope, 1890s"
	staff.fill("title", title)
	staff.fill("description", "Three-draw brass telescope with its leather case.")
	staff.fill("currency", "EUR")
	staff.fill("start_price", "10.00")
	staff.fill("increment", "1.00")
	staff.fill("soft_close_seconds", strconv.Itoa(int(softClose/time.Second)))
	wantEnd := time.Now().Add(auctionLength).Truncate(time.Second)
	staff.fillEndsAt(wantEnd)
	staff.do("list the item", 15*time.Second, chromedp.Click(chromedp.CSS("#sell-submit")), chromedp.WaitVisible(chromedp.CSS("#auction")))
	id := staff.str(`document.getElementById('auction').dataset.auctionId`)
	if got := staff.text("title"); got != title {
		t.Errorf("seller: listing title %q, want %q", got, title)
	}
	endsAt := staff.endsAt()
	if d := endsAt.Sub(wantEnd); d < -time.Second || d > time.Second {
		t.Fatalf("seller: the listing ends at %s, the form said %s", endsAt, wantEnd)
	}
	auctionURL := base + "/auctions/" + id
	t.Logf("%s: step 1: auction %s listed, ends %s, soft close %v", sinceStart(start), id, endsAt.Format(time.TimeOnly), softClose)

	// 2. Bidders A and B open its page.
	for _, b := range []*tab{alice, bob} {
		b.open(auctionURL, "#bid-form")
		b.waitLive()
		if got := b.text("title"); got != title {
			t.Errorf("%s: title %q, want %q", b.name, got, title)
		}
		b.waitFor("opening state", showsPrice(1000, "10.00", 0), priceState, 5*time.Second)
		b.waitFor("countdown visible", `document.getElementById('countdown').offsetParent !== null`,
			`document.getElementById('countdown').outerHTML`, 5*time.Second)
	}
	bob.checkNoHorizontalScroll("auction page")
	if left := time.Until(endsAt.Add(-softClose)); left < 10*time.Second {
		t.Fatalf("the first bids must come before the soft-close window, which opens in %v: setup was too slow", left)
	}
	t.Logf("%s: step 2: both bidders on %s", sinceStart(start), auctionURL)

	// 3. A bids; B sees the new price and bid count within a second,
	// without a reload.
	bob.str(`(window.__sameDocument = 'yes')`)
	clicked := alice.bid("12.00")
	bob.waitFor("A's bid shown live", showsPrice(1200, "12.00", 1), priceState, 10*time.Second)
	if d := time.Since(clicked); d > liveWithin {
		t.Errorf("bidder-b: saw A's bid %v after A clicked, want within %v", d.Round(time.Millisecond), liveWithin)
	} else {
		t.Logf("%s: step 3: B saw A's bid %v after A clicked", sinceStart(start), d.Round(time.Millisecond))
	}
	if got := bob.str(`String(window.__sameDocument)`); got != "yes" {
		t.Errorf("bidder-b: the page reloaded (marker %q)", got)
	}
	aliasA := bob.text("leader")
	if aliasA == "" || aliasA == "No bids yet" {
		t.Fatalf("bidder-b: #leader %q after A's bid", aliasA)
	}
	// A's page learns that A leads from a refetch after the receipt; B bids
	// only after that, as a person would.
	alice.waitFor("leading status",
		`document.getElementById('your-status').dataset.kind === 'leading'`,
		`document.getElementById('your-status').outerHTML`, 5*time.Second)

	// 4. B outbids A; A is told.
	bob.bid("15.00")
	alice.waitFor("B's bid shown live", showsPrice(1500, "15.00", 2), priceState, 5*time.Second)
	alice.waitFor("outbid status",
		`document.getElementById('your-status').dataset.kind === 'outbid' && /outbid/i.test(document.getElementById('your-status').textContent)`,
		`document.getElementById('your-status').outerHTML`, 5*time.Second)
	alice.waitFor("outbid toast",
		`!document.getElementById('toast').hidden && /outbid/i.test(document.querySelector('#toast .toast-text').textContent)`,
		`document.getElementById('toast').outerHTML`, 5*time.Second)
	aliasB := alice.text("leader")
	if aliasB == aliasA || aliasB == "" {
		t.Errorf("bidder-a: leader %q after B outbid %q", aliasB, aliasA)
	}
	bob.checkNoHorizontalScroll("after two bids")
	t.Logf("%s: step 4: A (%s) saw that B (%s) outbid them", sinceStart(start), aliasA, aliasB)

	// 5. The countdown runs down.
	for _, b := range []*tab{alice, bob} {
		s1, text1, ok := b.countdownSeconds()
		if !ok {
			t.Fatalf("%s: #countdown reads %q", b.name, text1)
		}
		b.waitFor("countdown ticks", `document.getElementById('countdown').textContent.trim() !== `+jsString(text1),
			`document.getElementById('countdown').textContent`, 3*time.Second)
		s2, text2, ok := b.countdownSeconds()
		if !ok || s2 >= s1 || s1-s2 > 3 {
			t.Errorf("%s: countdown went from %q to %q, want it to go down by a second or two", b.name, text1, text2)
		}
		if want := int(time.Until(endsAt).Seconds()); s2 < want-2 || s2 > want+2 {
			t.Errorf("%s: countdown %q, but the auction ends in %ds", b.name, text2, want)
		}
	}
	t.Logf("%s: step 5: countdowns running", sinceStart(start))
	checkConsoles("before the soft-close window")

	// 8, first half: the administrator watches the auction and its bids.
	admin := staff.newProfile("admin", 1280, 900)
	tabs = append(tabs, admin)
	admin.open(base+"/login?next=/admin", "#login-form")
	admin.fill("email", adminEmail)
	admin.fill("password", adminPassword)
	admin.do("log in", 15*time.Second, chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#admin-auctions")))
	admin.waitLive()
	row := `document.querySelector('#admin-auctions tr[data-auction-id="` + id + `"]')`
	rowState := `(` + row + ` || {outerHTML: 'no row for auction ` + id + `'}).outerHTML`
	admin.waitFor("auction row with its bids", row+` !== null && `+row+`.querySelector('.bid-count').textContent.trim() === '2'`, rowState, 5*time.Second)
	if got := admin.str(row + `.querySelector('.title').textContent`); !strings.Contains(got, title) {
		t.Errorf("admin: row title %q, want %q", got, title)
	}
	t.Logf("%s: step 8: admin monitor shows auction %s with 2 bids", sinceStart(start), id)

	// 6. A bid inside the soft-close window moves the end on both pages.
	if left := time.Until(endsAt.Add(-softClose)); left < 0 {
		t.Fatalf("steps 2 to 5 ran %v into the soft-close window: the machine is too slow for this test's timing", -left)
	}
	for _, b := range []*tab{alice, bob} {
		if b.str(`String(document.getElementById('extended-notice').hidden)`) != "true" {
			t.Errorf("%s: #extended-notice shown before any late bid: %q", b.name, b.text("extended-notice"))
		}
		if got := b.endsAt(); !got.Equal(endsAt) {
			t.Errorf("%s: the end moved to %s before the soft-close window (bids outside it must not extend)", b.name, got)
		}
	}
	time.Sleep(time.Until(endsAt.Add(-lateBidBeforeEnd)))
	late := alice.bid("20.00")
	if late.Before(endsAt.Add(-softClose)) || !late.Before(endsAt) {
		t.Fatalf("the late bid at %s is not inside the window %s–%s", late, endsAt.Add(-softClose), endsAt)
	}
	var newEnd time.Time
	for _, b := range []*tab{alice, bob} {
		b.waitFor("A's late bid shown", showsPrice(2000, "20.00", 3), priceState, 5*time.Second)
		b.waitFor("extended notice",
			`!document.getElementById('extended-notice').hidden && /extended/i.test(document.getElementById('extended-notice').textContent)`,
			`document.getElementById('extended-notice').outerHTML`, 5*time.Second)
		got := b.endsAt()
		if !got.After(endsAt) {
			t.Errorf("%s: the end is %s after a late bid, want later than %s", b.name, got, endsAt)
		}
		if !newEnd.IsZero() && !got.Equal(newEnd) {
			t.Errorf("%s: ends at %s, the other page says %s", b.name, got, newEnd)
		}
		newEnd = got
		// The countdown now shows more time than was left at the bid.
		b.waitFor("countdown moved back up",
			`(function () { var p = document.getElementById('countdown').textContent.trim().split(':');
				return p.length === 2 && Number(p[0]) * 60 + Number(p[1]) > `+strconv.Itoa(int(lateBidBeforeEnd/time.Second))+`; })()`,
			`document.getElementById('countdown').textContent`, 3*time.Second)
	}
	if want := late.Add(softClose); newEnd.Sub(want) < -time.Second || newEnd.Sub(want) > 3*time.Second {
		t.Errorf("the late bid at %s moved the end to %s, want about %s", late.Format(time.TimeOnly), newEnd, want)
	}
	bob.checkNoHorizontalScroll("extended")
	t.Logf("%s: step 6: late bid moved the end from %s to %s on both pages", sinceStart(start), endsAt.Format(time.TimeOnly), newEnd.Format(time.TimeOnly))

	alice.waitFor("leading again", `document.getElementById('your-status').dataset.kind === 'leading'`,
		`document.getElementById('your-status').outerHTML`, 5*time.Second)
	bob.waitFor("outbid status",
		`document.getElementById('your-status').dataset.kind === 'outbid' && /outbid/i.test(document.getElementById('your-status').textContent)`,
		`document.getElementById('your-status').outerHTML`, 5*time.Second)
	admin.waitFor("late bid on the monitor", row+`.querySelector('.bid-count').textContent.trim() === '3'`, rowState, 5*time.Second)
	// The monitor's feed names the person behind each alias (#12).
	for _, entry := range []string{"price #" + id + ": " + aliasA + " (Alice, alice@example.com) bid ", "extended #" + id + ": now ends "} {
		admin.waitFor("feed entry "+entry,
			`Array.prototype.some.call(document.querySelectorAll('#admin-feed li'), function (li) { return li.textContent.indexOf(`+jsString(entry)+`) >= 0; })`,
			`document.getElementById('admin-feed').textContent`, 5*time.Second)
	}
	if dir := os.Getenv("GAVEL_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		alice.do("scroll to top", 5*time.Second, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
		for name, b := range map[string]*tab{"auction.png": alice, "admin.png": admin} {
			if err := b.saveScreenshot(filepath.Join(dir, name)); err != nil {
				t.Errorf("screenshot %s: %v", name, err)
			}
		}
		t.Logf("screenshots in %s", dir)
	}
	checkConsoles("soft close")

	// 7. The auction closes and both pages show the result.
	wantResult := "Sold to " + aliasA + " for "
	for _, b := range []*tab{alice, bob} {
		b.waitFor("result", `!document.getElementById('result').hidden && document.getElementById('result').textContent.indexOf(`+
			jsString(wantResult)+`) >= 0 && document.getElementById('result').textContent.indexOf('20.00') >= 0`,
			`document.getElementById('result').outerHTML + ' status ' + document.getElementById('auction').dataset.status`,
			time.Until(newEnd)+10*time.Second)
		b.waitFor("countdown ended", `document.getElementById('countdown').textContent.trim() === 'Ended'`,
			`document.getElementById('countdown').textContent`, 3*time.Second)
	}
	if late := time.Since(newEnd); late > 5*time.Second {
		t.Errorf("the result appeared %v after the end", late.Round(time.Millisecond))
	}
	bob.checkNoHorizontalScroll("closed")
	bob.checkA11y("closed auction, phone")
	alice.checkA11y("closed auction, winner")
	admin.checkA11y("admin monitor")
	t.Logf("%s: step 7: both pages show %q", sinceStart(start), alice.text("result"))
	checkConsoles("closed")

	// 8, second half: the seller lists another item, and the administrator
	// suspends them through the monitor's form while Bob watches it: the
	// listing is cancelled on his page, with a reason that names no one.
	staff.open(base+"/sell", "#sell-form")
	staff.fill("title", "Oak writing slope")
	staff.fill("description", "Campaign writing slope with brass corners.")
	staff.fill("currency", "EUR")
	staff.fill("start_price", "40.00")
	staff.fillEndsAt(time.Now().Add(time.Hour).Truncate(time.Second))
	staff.do("list a second item", 15*time.Second, chromedp.Click(chromedp.CSS("#sell-submit")), chromedp.WaitVisible(chromedp.CSS("#auction")))
	second := staff.str(`document.getElementById('auction').dataset.auctionId`)
	bob.open(base+"/auctions/"+second, "#bid-form")
	bob.waitLive()
	bob.bid("40.00")

	// The administrator strikes a bid from the listing's page: the form of
	// a bid that arrived live is built by auction.js, the same as the ones
	// the page was served with. Bob's page recomputes without it.
	admin.open(base+"/auctions/"+second, "#bid-history")
	admin.waitLive()
	admin.checkA11y("auction page, admin")
	alice.open(base+"/auctions/"+second, "#bid-form")
	alice.waitLive()
	alice.bid("41.00")
	forms := `document.querySelectorAll('#bid-history li[data-bid-id] .bid-strike form').length`
	admin.waitFor("a cancel form on each bid, the live one too", forms+` === 2`, `document.getElementById('bid-history').outerHTML`, 5*time.Second)
	struck := admin.str(`document.querySelector('#bid-history li').dataset.bidId`)
	bidRow := `#bid-history li[data-bid-id="` + struck + `"]`
	admin.do("open the cancel form", 5*time.Second, chromedp.Click(chromedp.CSS(bidRow+` .bid-strike summary`)))
	admin.fill("strike-reason-"+struck, "Bidder asked: wrong item")
	admin.do("cancel the bid", 15*time.Second, chromedp.Click(chromedp.CSS(bidRow+` .bid-strike button`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := admin.str(`document.querySelector('.flash').textContent`); !strings.Contains(got, "Bid #"+struck+" was cancelled") {
		t.Errorf("admin: flash %q after cancelling bid %s", got, struck)
	}
	for _, b := range []*tab{alice, bob} {
		b.waitFor("the struck bid gone", showsPrice(4000, "40.00", 1)+` && document.querySelectorAll('#bid-history li').length === 1 &&
			document.querySelector('#bid-history li[data-bid-id="`+struck+`"]') === null`,
			priceState+` + ' ' + document.getElementById('bid-history').outerHTML`, 5*time.Second)
	}
	t.Logf("%s: step 8: the admin struck bid %s; both pages recomputed", sinceStart(start), struck)
	admin.open(base+"/admin", "#suspend-form")
	admin.waitLive()

	if got := admin.str(`(function () {
		var sel = document.getElementById('suspend-user');
		var opt = Array.prototype.find.call(sel.options, function (o) { return o.textContent.indexOf('sam@example.com') >= 0; });
		if (!opt) { return 'no option for sam@example.com'; }
		sel.value = opt.value;
		return 'ok';
	})()`); got != "ok" {
		t.Fatalf("admin: %s", got)
	}
	admin.fill("suspend-reason", "Listing stolen goods")
	admin.do("suspend the seller", 15*time.Second, chromedp.Click(chromedp.CSS("#suspend-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#admin-auctions")))
	admin.waitFor("seller shown suspended", `Array.prototype.some.call(document.querySelectorAll('tr[data-user-id]'), function (tr) {
		return tr.textContent.indexOf('sam@example.com') >= 0 && tr.textContent.indexOf('suspended') >= 0; })`,
		`document.querySelector('#users-heading').parentNode.textContent`, 5*time.Second)
	wantCancel := "This auction was cancelled. Reason: The seller's account was suspended."
	bob.waitFor("cancelled by the suspension", `!document.getElementById('result').hidden && document.getElementById('result').textContent.trim() === `+jsString(wantCancel)+
		` && document.getElementById('auction').dataset.status === 'cancelled' && document.getElementById('bid-form').hidden`,
		`document.getElementById('result').outerHTML + ' status ' + document.getElementById('auction').dataset.status`, 5*time.Second)
	bob.checkA11y("cancelled auction")
	admin.checkA11y("admin monitor after a suspension")
	if got := bob.text("result"); strings.Contains(got, "stolen") {
		t.Errorf("bidder: the admin's reason leaked to the auction page: %q", got)
	}
	t.Logf("%s: step 8: suspending the seller cancelled auction %s on Bob's page", sinceStart(start), second)
	checkConsoles("seller suspended")
}
