package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gavel-auctions/gavel/category"
	"github.com/gavel-auctions/gavel/domain"
)

// TestBrowserDiscovery finds lots in a real browser and watches one: the
// search finds a lot by a word of its description, the category filter
// narrows the results, and watching a lot that ends in 70 s brings the
// one-minute reminder (the default GAVEL_REMINDERS, a real threshold
// crossing) as a toast, and its closing notice as a toast on another page.
func TestBrowserDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test of about half a minute")
	}
	requireChromium(t)
	start := time.Now()
	n, cfg, log := startBrowserNode(t)
	base := n.URL()
	ctx := context.Background()
	if err := createUser(ctx, cfg, log, "sam@example.com", "sam-password", "Sam Seller", false); err != nil {
		t.Fatal(err)
	}
	seller, err := n.svc.Authenticate(ctx, "sam@example.com", "sam-password")
	if err != nil {
		t.Fatal(err)
	}
	cats := category.New(n.db, category.Options{})
	categoryID := func(slug string) *int64 {
		c, err := cats.BySlug(ctx, slug)
		if err != nil {
			t.Fatalf("category %s: %v", slug, err)
		}
		return &c.ID
	}
	list := func(title, desc, slug string, d time.Duration) domain.Auction {
		t.Helper()
		a, err := n.svc.CreateAuction(ctx, seller, domain.AuctionInput{Title: title, Description: desc, Currency: "EUR",
			StartPrice: 1000, EndsAt: time.Now().Add(d), CategoryID: categoryID(slug)})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	clock := list("Carriage clock", "French, with a tourbillon escapement and its travelling case.", "clocks", time.Hour)
	painting := list("Harbour at dusk", "Oil on canvas, gilt frame.", "paintings", time.Hour)
	print := list("Harbour map", "Engraved chart of the harbour, 1820.", "maps", time.Hour)

	b := startBrowser(t, "bidder", 1280, 900)
	b.register(base, "Bea", "bea@example.com", "bea-password", "/search", "#search-form")
	b.waitLive()
	card := func(a domain.Auction) string {
		return `document.querySelector('#auction-list .auction-card[data-auction-id="` + strconv.FormatInt(a.ID, 10) + `"]')`
	}
	results := `Array.from(document.querySelectorAll('#auction-list .auction-card[data-auction-id]')).map(function (e) { return e.dataset.auctionId; }).join(',') || document.body.innerText.slice(0, 300)`

	// 1. A word of the description finds the lot (and only it).
	b.fill("s-q", "tourbillon")
	b.do("search", 15*time.Second, chromedp.Click(chromedp.CSS("#search-submit")), chromedp.WaitVisible(chromedp.CSS("#auction-list")))
	b.waitFor("the clock found by its description", card(clock)+` !== null && document.querySelectorAll('#auction-list .auction-card[data-auction-id]').length === 1`, results, 10*time.Second)
	b.waitLive()
	// The results are live: another bidder's bid moves the card's price.
	if err := createUser(ctx, cfg, log, "olga@example.com", "olga-password", "Olga", false); err != nil {
		t.Fatal(err)
	}
	olga, err := n.svc.Authenticate(ctx, "olga@example.com", "olga-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.PlaceBid(ctx, olga, clock.ID, domain.BidInput{Amount: 1700}); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the card's price moves", card(clock)+`.querySelector('.price .money').dataset.amount === '1700' && `+
		card(clock)+`.querySelector('.bid-count').textContent.trim() === '1'`, card(clock)+`.outerHTML`, 10*time.Second)
	t.Logf("%s: step 1: found by a word of its description, and its price moves live", sinceStart(start))

	// 2. The category filter: "harbour" matches a painting and a map; the
	// Art category (which includes Paintings) keeps the painting only.
	b.fill("s-q", "harbour")
	b.str(`(function () { var s = document.getElementById('s-category'); s.value = 'art'; s.dispatchEvent(new Event('change', {bubbles: true})); return s.value; })()`)
	b.do("filter by category", 15*time.Second, chromedp.Click(chromedp.CSS("#search-submit")), chromedp.WaitVisible(chromedp.CSS("#auction-list")))
	b.waitFor("only the painting", card(painting)+` !== null && `+card(print)+` === null && document.querySelectorAll('#auction-list .auction-card[data-auction-id]').length === 1`, results, 10*time.Second)
	b.checkConsole("search")
	b.checkBasicA11y("search results")
	t.Logf("%s: step 2: filtered by category", sinceStart(start))

	// The seller follows the painting's watcher count on My listings while
	// the bidder watches it from its card in the results.
	sam := b.newProfile("seller", 1280, 900)
	sam.open(base+"/login?next=/me/listings", "#login-form")
	sam.fill("email", "sam@example.com")
	sam.fill("password", "sam-password")
	sam.do("log in", 15*time.Second, chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#conn-status")))
	sam.waitLive()
	watchers := `document.querySelector('[data-watchers-for="` + strconv.FormatInt(painting.ID, 10) + `"]')`
	sam.waitFor("no watchers yet", watchers+` !== null && `+watchers+`.textContent.trim() === '0'`, `document.body.innerText.slice(0, 400)`, 10*time.Second)
	b.do("watch from the card", 10*time.Second, chromedp.Click(chromedp.CSS(`#auction-list .auction-card[data-auction-id="`+strconv.FormatInt(painting.ID, 10)+`"] .watch-button`)))
	b.waitFor("the card's button says watching", card(painting)+`.querySelector('.watch-button').dataset.watching === 'true'`,
		card(painting)+`.outerHTML`, 10*time.Second)
	sam.waitFor("the seller sees one watcher, live", watchers+`.textContent.trim() === '1'`, watchers+`.outerHTML`, 10*time.Second)
	sam.checkConsole("my listings")
	t.Logf("%s: step 2: watched from a card; the seller's count moved live", sinceStart(start))

	// 3. Watch a lot that ends in 70 s, from its page; the one-minute
	// reminder arrives as a toast about ten seconds later.
	soon := list("Pocket watch", "Silver hunter case.", "pocket-watches", 70*time.Second)
	listed := time.Now()
	b.open(base+"/auctions/"+strconv.FormatInt(soon.ID, 10), ".watch-form")
	b.waitLive()
	b.do("watch", 10*time.Second, chromedp.Click(chromedp.CSS(".watch-form .watch-button")))
	b.waitFor("watching", `document.querySelector('.watch-form .watch-button').dataset.watching === 'true'`,
		`document.querySelector('.watch-form').outerHTML`, 10*time.Second)
	if d := time.Since(listed); d > 9*time.Second {
		t.Fatalf("watching took %v after listing: the one-minute threshold may have passed first", d)
	}
	t.Logf("%s: step 3: watching a lot that ends in 70 s", sinceStart(start))
	b.waitFor("one-minute reminder toast",
		`!document.getElementById('toast').hidden && /Pocket watch/.test(document.querySelector('#toast .toast-text').textContent) && /ends in/.test(document.querySelector('#toast .toast-text').textContent)`,
		`document.getElementById('toast').outerHTML`, 45*time.Second)
	got := b.str(`document.querySelector('#toast .toast-text').textContent`)
	if at := time.Since(listed); at < 9*time.Second {
		t.Errorf("the reminder came %v after listing, before the one-minute threshold", at)
	}
	t.Logf("%s: step 3: toast %q, %v after listing", sinceStart(start), got, time.Since(listed).Round(100*time.Millisecond))
	evs, err := n.svc.After(ctx, domain.UserChannel(userID(t, n, "bea@example.com")), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	reminders := 0
	for _, e := range evs {
		if e.Type == domain.EventEndingSoon {
			reminders++
			if e.ThresholdSeconds != 60 || e.AuctionID != soon.ID {
				t.Errorf("reminder: %+v", e)
			}
		}
	}
	if reminders != 1 {
		t.Errorf("%d ending_soon events, want the one-minute reminder only", reminders)
	}
	b.checkConsole("watching")
	b.checkBasicA11y("auction page")

	// 4. On another page, the closing notice arrives as a toast when the
	// watched lot ends (unsold: nobody bid).
	b.open(base+"/me/watching", "#auction-list")
	b.waitLive()
	b.waitFor("closing notice toast",
		`!document.getElementById('toast').hidden && /Pocket watch/.test(document.querySelector('#toast .toast-text').textContent) && /has ended without selling/.test(document.querySelector('#toast .toast-text').textContent)`,
		`document.getElementById('toast').outerHTML`, 90*time.Second)
	if at := time.Since(listed); at < 69*time.Second {
		t.Errorf("the closing notice came %v after listing, before the lot's end", at)
	}
	t.Logf("%s: step 4: closing notice toast on /me/watching, %v after listing", sinceStart(start), time.Since(listed).Round(100*time.Millisecond))
	b.checkConsole("closing notice")
	for _, path := range []string{"/me/watching", "/categories", "/categories/art"} {
		b.open(base+path, "main")
		b.checkBasicA11y(path)
	}
}

// checkBasicA11y fails the test for the accessibility faults a page can
// have without any tool to find them: form controls without a label,
// buttons and links without an accessible name, duplicate ids, images
// without alt text, and aria-describedby pointing nowhere.
func (b *tab) checkBasicA11y(step string) {
	b.t.Helper()
	got := b.str(`(function () {
		var bad = [];
		var name = function (el) { return (el.getAttribute('aria-label') || el.textContent || el.value || '').trim(); };
		document.querySelectorAll('input, select, textarea').forEach(function (el) {
			if (el.type === 'hidden' || el.type === 'submit') { return; }
			var labelled = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.closest('label') || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
			if (!labelled) { bad.push('unlabelled ' + el.tagName.toLowerCase() + '#' + el.id + '[name=' + el.name + ']'); }
		});
		document.querySelectorAll('button, a[href]').forEach(function (el) {
			if (!name(el)) { bad.push('nameless ' + el.tagName.toLowerCase() + ' ' + el.outerHTML.slice(0, 80)); }
		});
		var ids = {};
		document.querySelectorAll('[id]').forEach(function (el) {
			if (ids[el.id]) { bad.push('duplicate id ' + el.id); }
			ids[el.id] = true;
		});
		document.querySelectorAll('img:not([alt])').forEach(function (el) { bad.push('img without alt ' + el.src); });
		document.querySelectorAll('[aria-describedby]').forEach(function (el) {
			el.getAttribute('aria-describedby').split(/\s+/).forEach(function (id) {
				if (id && !document.getElementById(id)) { bad.push(el.id + ' described by missing #' + id); }
			});
		});
		if (!document.documentElement.lang) { bad.push('no lang'); }
		if (document.querySelectorAll('h1').length !== 1) { bad.push(document.querySelectorAll('h1').length + ' h1 elements'); }
		return bad.join('; ');
	})()`)
	if got != "" {
		b.t.Errorf("%s: %s: accessibility: %s", b.name, step, got)
	}
}

func userID(t *testing.T, n *node, email string) int64 {
	t.Helper()
	var id int64
	if err := n.db.Raw("SELECT id FROM users WHERE email = ?", email).Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("user %s: %d %v", email, id, err)
	}
	return id
}
