//go:build browser

// A smoke test of the pages in headless Chromium: run with
//
//	go test -tags browser -run TestPagesInBrowser ./web/
//
// It serves the real pages over pgFakeStore and a fake Streams that frames
// SSE itself, and fails on any script error or CSP violation.
package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/gavel-auctions/gavel/domain"
)

// pgFakeStreams serves SSE on the hijacked connection and lets the test
// publish events to the matching streams.
type pgFakeStreams struct {
	mu   sync.Mutex
	subs map[*pgSub]bool
}

type pgSub struct {
	spec domain.StreamSpec
	conn net.Conn
	ch   chan []byte
}

func (f *pgFakeStreams) Open(spec domain.StreamSpec) (func(net.Conn), error) {
	return func(conn net.Conn) {
		if conn == nil {
			return
		}
		defer conn.Close()
		sub := &pgSub{spec: spec, conn: conn, ch: make(chan []byte, 64)}
		f.mu.Lock()
		f.subs[sub] = true
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			delete(f.subs, sub)
			f.mu.Unlock()
		}()
		head := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n: hi\n\n"
		if _, err := conn.Write([]byte(head)); err != nil {
			return
		}
		hb := time.NewTicker(time.Second)
		defer hb.Stop()
		for {
			var frame []byte
			select {
			case frame = <-sub.ch:
			case <-hb.C:
				frame = []byte(": hb\n\n")
			}
			_ = conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
			if _, err := conn.Write(frame); err != nil {
				return
			}
		}
	}, nil
}

// streams counts the open streams whose spec matches.
func (f *pgFakeStreams) streams(match func(domain.StreamSpec) bool) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for s := range f.subs {
		if match(s.spec) {
			n++
		}
	}
	return n
}

// drop closes every open stream, as a restarting node would.
func (f *pgFakeStreams) drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		_ = s.conn.Close()
	}
}

// lastEventIDs returns the resume cursors of the open streams.
func (f *pgFakeStreams) lastEventIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for s := range f.subs {
		out = append(out, s.spec.LastEventID)
	}
	return out
}

func (f *pgFakeStreams) publish(tb testing.TB, e domain.Event) {
	tb.Helper()
	e.ServerTime = time.Now().UTC()
	data, err := json.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	frame := []byte(fmt.Sprintf("id: %s\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data))
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		want := s.spec.All && !e.Type.Personal()
		if e.Type.Personal() {
			want = s.spec.Personal && s.spec.UserID == e.UserID
		} else {
			for _, id := range s.spec.AuctionIDs {
				want = want || id == e.AuctionID
			}
		}
		if want {
			s.ch <- frame
		}
	}
}

func (f *pgFakeStreams) publishRaw(tb testing.TB, typ, data string) {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		if s.spec.All {
			s.ch <- []byte("event: " + typ + "\ndata: " + data + "\n\n")
		}
	}
}

// errorProbe records script errors, console errors and CSP violations; it
// is installed through DevTools, which CSP does not restrict.
const errorProbe = `window.__errors = [];
addEventListener('error', function (e) { window.__errors.push('error: ' + e.message); });
addEventListener('unhandledrejection', function (e) { window.__errors.push('rejection: ' + e.reason); });
document.addEventListener('securitypolicyviolation', function (e) { window.__errors.push('CSP: ' + e.violatedDirective + ' ' + e.blockedURI); });
var __ce = console.error; console.error = function () { window.__errors.push('console: ' + Array.from(arguments).join(' ')); __ce.apply(console, arguments); };`

func TestPagesInBrowser(t *testing.T) {
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Skip("no /usr/bin/chromium")
	}
	h := &pgHarness{tb: t, now: time.Now().UTC()}
	clock := func() time.Time { return time.Now().UTC() }
	h.store = newPgFakeStore(clock)
	h.alice = h.store.addUser("alice@example.com", "alice-password", "Alice", false)
	h.bob = h.store.addUser("bob@example.com", "bob-password", "Bob", false)
	h.admin = h.store.addUser("admin@example.com", "admin-password", "Ada Admin", true)
	streams := &pgFakeStreams{subs: map[*pgSub]bool{}}
	srv, err := New(Config{Role: RoleAll, Now: clock}, Deps{Accounts: h.store, Bidder: h.store, Reader: h.store,
		Streams: streams, Sessions: scs.New(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.App().Listener(ln) }()
	t.Cleanup(func() { _ = srv.App().ShutdownWithTimeout(time.Second) })
	base := "http://" + ln.Addr().String()

	a := h.seedAuction(h.alice, "Brass <telescope>\nwith case", func(in *domain.AuctionInput) { in.BuyNowPrice = 50000 })
	h.seedAuction(h.alice, "Old clock", nil)
	aid := strconv.FormatInt(a.ID, 10)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true), chromedp.WindowSize(375, 800))...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("eval %s: %v", expr, err)
		}
		return v
	}
	shots := os.Getenv("GAVEL_SCREENSHOTS") // a directory, to look at the pages
	checkPage := func(name string) {
		t.Helper()
		if shots != "" {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err == nil {
				err = os.WriteFile(shots+"/"+strings.NewReplacer("/", "_", " ", "_").Replace(name)+".png", png, 0o644)
			}
			if err != nil {
				t.Logf("screenshot %s: %v", name, err)
			}
		}
		if errs := eval(`JSON.stringify(window.__errors || ['probe missing'])`); errs != "[]" {
			t.Errorf("%s: %s", name, errs)
		}
		if w := eval(`String(document.documentElement.scrollWidth)`); w != "375" {
			t.Errorf("%s: page is %spx wide at a 375px viewport", name, w)
		}
	}
	if err := chromedp.Do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: errorProbe})
		return chromedp.Void{}, err
	}); err != nil {
		t.Fatal(err)
	}

	step("viewport", chromedp.EmulateViewport(375, 800))
	step("anonymous home", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#live-note"))
	checkPage("anonymous home")

	step("login", chromedp.Navigate(base+"/login?next=/"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "bob@example.com"), chromedp.SendKeys("#password", "bob-password"),
		chromedp.Click("#login-submit"), chromedp.WaitVisible("#auction-list"),
		chromedp.Poll[chromedp.Void](`document.getElementById('conn-status').dataset.state === 'live'`))
	checkPage("home")

	ev := domain.StateEvent(domain.EventPrice, func() domain.Auction {
		x, _ := h.store.Auction(t.Context(), a.ID)
		x.Seq, x.CurrentPrice, x.BidCount, x.LeaderID, x.LeaderAlias = x.Seq+1, 1234, 1, 99, "Bidder 9"
		return x
	}(), time.Now())
	ev.BidAmount, ev.Bidder = 1234, "Bidder 9"
	streams.publish(t, ev)
	step("live price on home", chromedp.Poll[chromedp.Void](
		`document.querySelector('[data-auction-id="`+aid+`"] .price').textContent.indexOf('12.34') >= 0`))

	step("auction page", chromedp.Navigate(base+"/auctions/"+aid), chromedp.WaitVisible("#bid-form"),
		chromedp.Poll[chromedp.Void](`document.getElementById('conn-status').dataset.state === 'live'`))
	checkPage("auction page")
	if got := eval(`document.getElementById('countdown').textContent`); !strings.Contains(got, ":") {
		t.Errorf("countdown %q", got)
	}
	step("bid", chromedp.SetValue("#bid-amount", "15"), chromedp.Click("#bid-submit"),
		chromedp.Poll[chromedp.Void](`document.getElementById('bid-result').textContent.indexOf('Bid placed') >= 0`))
	step("your status after bid", chromedp.Poll[chromedp.Void](
		`document.getElementById('your-status').textContent.indexOf('highest bidder') >= 0`))
	step("bad bid", chromedp.SetValue("#bid-amount", "1"), chromedp.Click("#bid-submit"),
		chromedp.Poll[chromedp.Void](`document.getElementById('bid-result').dataset.kind === 'error'`))
	// Bob leads, so a lower bid is refused as not raising his maximum.
	if got := eval(`document.getElementById('bid-max-error').textContent`); !strings.Contains(got, "current maximum") {
		t.Errorf("bad bid: %q", got)
	}

	cur, _ := h.store.Auction(t.Context(), a.ID)
	cur.Seq += 5
	old := cur.EndsAt
	cur.EndsAt = cur.EndsAt.Add(2 * time.Minute)
	ext := domain.StateEvent(domain.EventExtended, cur, time.Now())
	ext.PreviousEndsAt = &old
	streams.publish(t, ext)
	step("extended", chromedp.WaitVisible("#extended-notice"))

	// The shared /stream/me worker delivers personal events as toasts.
	step("worker stream", chromedp.Poll[chromedp.Void](`true`))
	deadline := time.Now().Add(5 * time.Second)
	for streams.streams(func(s domain.StreamSpec) bool { return s.Personal && s.UserID == h.bob.ID }) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no /stream/me from the shared worker")
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := domain.StateEvent(domain.EventOutbid, cur, time.Now())
	out.ID, out.UserID, out.UserSeq, out.AuctionID = "u2-1", h.bob.ID, 1, 424242
	out.Title = "Another thing"
	streams.publish(t, out)
	step("toast", chromedp.WaitVisible("#toast"))
	if got := eval(`document.querySelector('#toast .toast-text').textContent`); !strings.Contains(got, "outbid") {
		t.Errorf("toast %q", got)
	}
	checkPage("auction page after events")

	// A dropped stream shows "reconnecting…", then resumes with its cursor.
	streams.drop()
	step("reconnecting", chromedp.Poll[chromedp.Void](`document.getElementById('conn-status').dataset.state !== 'live'`))
	step("live again", chromedp.Poll[chromedp.Void](`document.getElementById('conn-status').dataset.state === 'live'`))
	if ids := strings.Join(streams.lastEventIDs(), ","); !strings.Contains(ids, ext.ID) {
		t.Errorf("resume cursors %q lack %q", ids, ext.ID)
	}

	// My bids: the leading badge flips to outbid when someone else leads.
	step("my bids", chromedp.Navigate(base+"/me/bids"), chromedp.WaitVisible("#auction-list"),
		chromedp.Poll[chromedp.Void](`document.getElementById('conn-status').dataset.state === 'live'`))
	if got := eval(`document.querySelector('[data-auction-id="` + aid + `"] [data-role="you"]').textContent`); got != "Leading" {
		t.Errorf("badge %q", got)
	}
	cur, _ = h.store.Auction(t.Context(), a.ID)
	cur.Seq, cur.CurrentPrice, cur.BidCount, cur.LeaderID, cur.LeaderAlias = cur.Seq+10, 3000, cur.BidCount+1, 77, "Bidder 5"
	over := domain.StateEvent(domain.EventPrice, cur, time.Now())
	over.BidAmount, over.Bidder = 3000, "Bidder 5"
	streams.publish(t, over)
	step("outbid badge", chromedp.Poll[chromedp.Void](
		`document.querySelector('[data-auction-id="`+aid+`"] [data-role="you"]').textContent === 'Outbid'`))
	checkPage("my bids")

	for _, p := range []string{"/me/listings", "/sell"} {
		step(p, chromedp.Navigate(base+p), chromedp.WaitVisible("#main"))
		checkPage(p)
	}

	step("sell", chromedp.Navigate(base+"/sell"), chromedp.WaitVisible("#sell-form"),
		chromedp.SendKeys("#title", "Vase"), chromedp.SetValue("#start_price", "5"),
		chromedp.SetValue("#ends_at", time.Now().Add(3*time.Hour).Format("2006-01-02T15:04")),
		chromedp.Click("#sell-submit"), chromedp.WaitVisible("#auction"))
	if got := eval(`document.getElementById('title').textContent`); got != "Vase" {
		t.Errorf("after selling: title %q", got)
	}

	step("logout", chromedp.Click(`form[action="/logout"] button`), chromedp.WaitVisible("#live-note"))

	// My listings is live over the shared /stream/me.
	step("alice login", chromedp.Navigate(base+"/login?next=/me/listings"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "alice@example.com"), chromedp.SendKeys("#password", "alice-password"),
		chromedp.Click("#login-submit"), chromedp.WaitVisible("#auction-list"),
		chromedp.Poll[chromedp.Void](`document.getElementById('conn-status').dataset.state === 'live'`))
	cur.Seq, cur.CurrentPrice, cur.BidCount = cur.Seq+1, 3500, cur.BidCount+1
	mine := domain.StateEvent(domain.EventPrice, cur, time.Now())
	deadline = time.Now().Add(5 * time.Second)
	for streams.streams(func(s domain.StreamSpec) bool { return s.Personal && s.UserID == h.alice.ID && len(s.AuctionIDs) > 0 }) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no /stream/me with the seller's auctions")
		}
		time.Sleep(50 * time.Millisecond)
	}
	streams.publish(t, mine)
	step("listing live", chromedp.Poll[chromedp.Void](
		`document.querySelector('[data-auction-id="`+aid+`"] .price').textContent.indexOf('35.00') >= 0`))
	checkPage("my listings")
	step("alice logout", chromedp.Click(`form[action="/logout"] button`), chromedp.WaitVisible("#live-note"))
	step("admin login", chromedp.Navigate(base+"/login?next=/admin"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "admin@example.com"), chromedp.SendKeys("#password", "admin-password"),
		chromedp.Click("#login-submit"), chromedp.WaitVisible("#admin-auctions"),
		chromedp.Poll[chromedp.Void](`document.getElementById('conn-status').dataset.state === 'live'`))
	streams.publishRaw(t, "stats", `{"nodes":[{"node":"rt-1","connections":12,"events_per_sec":3.5,"dropped":0,"watchers":{"`+aid+`":7}}]}`)
	streams.publishRaw(t, "stats", `{"nodes":[{"node":"rt-1","connections":14,"events_per_sec":1.5,"dropped":1,"watchers":{"`+aid+`":9}},{"node":"rt-2"}]}`)
	streams.publishRaw(t, "stats", `{"nodes":"garbage"}`)
	step("admin stats (draft shape)", chromedp.Poll[chromedp.Void](
		`document.querySelector('#admin-auctions [data-auction-id="`+aid+`"] .watchers').textContent === '9'`))
	// The realtime package's NodeStats.
	streams.publishRaw(t, "stats", `{"type":"stats","nodes":[{"node":"rt-1","connections":20,"watchers":30,"topics":3,
		"auctions":[{"auction_id":`+aid+`,"watchers":4}],"events_per_second":2.5,"delivered":100,"slow_consumers":2},
		{"node":"rt-2","connections":1,"auctions":[{"auction_id":`+aid+`,"watchers":1}],"events_per_second":0}]}`)
	step("admin stats", chromedp.Poll[chromedp.Void](
		`document.querySelector('#admin-auctions [data-auction-id="`+aid+`"] .watchers').textContent === '5' &&
		 document.querySelectorAll('#node-charts .node-chart polyline').length === 4 &&
		 document.querySelector('#node-charts [data-node="rt-1"] p').textContent.indexOf('2 dropped · 30 watching') > 0`))
	fresh := domain.StateEvent(domain.EventOpened, domain.Auction{ID: 777, Title: "New <b>one</b>", Currency: "JPY",
		StartPrice: 1500, Status: domain.StatusOpen, Seq: 1, EndsAt: time.Now().Add(time.Hour)}, time.Now())
	streams.publish(t, fresh)
	step("admin new row", chromedp.Poll[chromedp.Void](
		`(document.querySelector('#admin-auctions [data-auction-id="777"] .title') || {}).textContent === '#777 New <b>one</b>'`))
	checkPage("admin")
}
