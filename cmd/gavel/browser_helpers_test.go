package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// requireChromium skips the test when there is no browser, or fails it in
// CI, where a skipped browser test would be a green build that tested
// nothing.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return
	}
	msg := "no Chromium at " + chromiumPath + ": apt-get install -y chromium"
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// tab is one person's browser tab. Each tab has its own cookie jar: either
// its own Chromium process with its own profile directory, or its own
// browser context (an incognito-like profile) in another tab's process.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu       sync.Mutex
	problems []string // console errors, uncaught exceptions, CSP violations
	seen     int      // problems already reported by checkConsole
}

// startBrowser starts a headless Chromium with a fresh profile (chromedp
// makes a temporary --user-data-dir per allocator and removes it on exit)
// and opens one tab in it. The browser is closed when the test ends.
func startBrowser(t *testing.T, name string, width, height int) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		// The network here is closed: Chromium's own background calls
		// would only fail and log.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		// Money and times are formatted in the browser's locale.
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(width, height),
	)
	ctx, stop := launchChromium(t, name, opts)
	b := newTab(t, name, ctx, stop)
	b.do("viewport", 10*time.Second, chromedp.EmulateViewport(int64(width), int64(height)))
	return b
}

// chromiumStarts is how many times launchChromium tries to start the
// browser. CI once saw Chromium exit within a second of its launch (its
// crash handler ran; nothing else was printed) while the 16 other browser
// tests of the same run started it fine: a crash of the browser process on
// a loaded machine, not something the page under test could cause. Only
// that failure is retried, and every retry is logged with the browser's
// output.
const chromiumStarts = 3

// launchChromium starts Chromium and returns a context for its first tab
// and the function that closes both.
func launchChromium(t *testing.T, name string, opts []chromedp.ExecAllocatorOption) (context.Context, func()) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		// The first Do starts the browser and ties its life to ctx, so it
		// must not carry a timeout (chromedp API example 21).
		err := chromedp.Do(ctx)
		if err == nil {
			return ctx, func() { cancel(); cancelAlloc() }
		}
		cancel()
		cancelAlloc()
		if attempt == chromiumStarts || !strings.Contains(err.Error(), "chrome failed to start") {
			t.Fatalf("%s: start Chromium (attempt %d of %d): %v", name, attempt, chromiumStarts, err)
		}
		t.Logf("%s: Chromium exited as it started (attempt %d of %d), starting it again: %v", name, attempt, chromiumStarts, err)
		time.Sleep(time.Second)
	}
}

// newProfile opens a tab in a new browser context of b's Chromium: a
// separate cookie jar, storage and SharedWorker scope, without the cost of
// another browser process.
func (b *tab) newProfile(name string, width, height int) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		b.t.Fatalf("%s: open a browser context: %v", name, err)
	}
	nb := newTab(b.t, name, ctx, cancel)
	nb.do("viewport", 10*time.Second, chromedp.EmulateViewport(int64(width), int64(height)))
	return nb
}

func newTab(t *testing.T, name string, ctx context.Context, closeTab func()) *tab {
	b := &tab{t: t, name: name, ctx: ctx}
	messages := chromedp.Console(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == "assert" || m.IsException() || m.Source == "security" {
				where := m.URL
				if where != "" {
					where = " (" + where + ":" + strconv.FormatInt(m.Line+1, 10) + ")"
				}
				b.mu.Lock()
				b.problems = append(b.problems, string(m.Type)+": "+m.Text+where)
				b.mu.Unlock()
			}
		}
	})
	t.Cleanup(func() {
		closeTab()
		wg.Wait()
	})
	// Registered last, so it runs first: the tab is still open.
	t.Cleanup(func() {
		if t.Failed() {
			b.saveFailureScreenshot()
		}
	})
	return b
}

// failureDir is where failing runs leave their screenshots: a directory
// that outlives the test, unlike t.TempDir.
var failureDir = sync.OnceValues(func() (string, error) {
	if d := os.Getenv("GAVEL_SCREENSHOT_DIR"); d != "" {
		return d, os.MkdirAll(d, 0o755)
	}
	return os.MkdirTemp("", "gavel-browser-")
})

func (b *tab) saveFailureScreenshot() {
	dir, err := failureDir()
	if err != nil {
		b.t.Logf("%s: no screenshot directory: %v", b.name, err)
		return
	}
	path := filepath.Join(dir, b.t.Name()+"-"+b.name+".png")
	if err := b.saveScreenshot(path); err != nil {
		b.t.Logf("%s: screenshot: %v", b.name, err)
		return
	}
	url, _ := b.evalErr(`location.href`)
	b.t.Logf("%s: screenshot of %s saved to %s", b.name, url, path)
}

// saveScreenshot writes a PNG of the whole page.
func (b *tab) saveScreenshot(path string) error {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// do runs actions with a deadline and fails the test on error.
func (b *tab) do(step string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, step, err)
	}
}

// open navigates to url and waits until sel is visible. The deadline is
// generous: the machine that runs the tests is shared and often loaded.
func (b *tab) open(url, sel string) {
	b.t.Helper()
	b.do("open "+url, 60*time.Second, chromedp.Navigate(url), chromedp.WaitVisible(sel))
}

// evalErr evaluates a JavaScript expression and returns its value as JSON.
func (b *tab) evalErr(expr string) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	return string(raw), err
}

// str evaluates a JavaScript expression that yields a string.
func (b *tab) str(expr string) string {
	b.t.Helper()
	raw, err := b.evalErr(expr)
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, expr, err)
	}
	var s string
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		b.t.Fatalf("%s: %s gave %s, not a string", b.name, expr, raw)
	}
	return s
}

// text returns the textContent of the element with the given id, trimmed.
func (b *tab) text(id string) string {
	b.t.Helper()
	return b.str(`(document.getElementById(` + jsString(id) + `) || {textContent: '<no #` + id + `>'}).textContent.trim()`)
}

// waitFor polls the JavaScript condition cond every 25 ms until it is true
// and returns how long that took. On timeout it fails the test with what
// show (an expression describing the current state) evaluates to.
// Evaluation errors count as "not yet": a navigation may be replacing the
// page's JavaScript context.
func (b *tab) waitFor(step, cond, show string, timeout time.Duration) time.Duration {
	b.t.Helper()
	took, ok := b.poll(cond, timeout)
	if !ok {
		state, err := b.evalErr(show)
		if err != nil {
			state = "(" + err.Error() + ")"
		}
		b.t.Fatalf("%s: %s: not within %v; now %s", b.name, step, timeout, state)
	}
	return took
}

func (b *tab) poll(cond string, timeout time.Duration) (time.Duration, bool) {
	start := time.Now()
	expr := `!!(function () { try { return (` + cond + `); } catch (e) { return false; } })()`
	for {
		if v, err := b.evalErr(expr); err == nil && v == "true" {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// fill sets a form field as typing would: the value, then an input event,
// so the page's scripts see a user edit.
func (b *tab) fill(id, value string) {
	b.t.Helper()
	got := b.str(`(function () { var el = document.getElementById(` + jsString(id) + `);
		el.value = ` + jsString(value) + `; el.dispatchEvent(new Event('input', {bubbles: true})); return el.value; })()`)
	if got != value {
		b.t.Fatalf("%s: #%s took %q as %q", b.name, id, value, got)
	}
}

// checkConsole fails the test for each console error, uncaught exception
// or CSP violation the tab logged since the last check.
func (b *tab) checkConsole(step string) {
	b.t.Helper()
	b.mu.Lock()
	fresh := b.problems[b.seen:]
	b.seen = len(b.problems)
	b.mu.Unlock()
	for _, p := range fresh {
		b.t.Errorf("%s: %s: %s", b.name, step, p)
	}
}

// expectCSPReported checks that checkConsole would see a CSP violation, by
// causing one (an inline script, which script-src 'self' refuses), then
// forgets it.
func (b *tab) expectCSPReported() {
	b.t.Helper()
	b.str(`(function () { var s = document.createElement('script'); s.textContent = 'window.__inline = 1';
		document.body.appendChild(s); s.remove(); return String(window.__inline); })()`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		found := false
		for _, p := range b.problems[b.seen:] {
			found = found || strings.Contains(p, "Content Security Policy")
		}
		if found {
			b.seen = len(b.problems)
		}
		b.mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: a blocked inline script was not reported; console errors and CSP violations would go unseen", b.name)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// checkNoHorizontalScroll fails the test when the page is wider than the
// viewport, naming the elements that stick out.
func (b *tab) checkNoHorizontalScroll(step string) {
	b.t.Helper()
	got := b.str(`(function () {
		var root = document.documentElement, w = root.clientWidth;
		if (root.scrollWidth <= w && document.body.scrollWidth <= w) { return ''; }
		var out = [];
		document.querySelectorAll('body *').forEach(function (el) {
			var r = el.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 0.5 && out.length < 5) {
				out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
					(el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') +
					' right=' + Math.round(r.right));
			}
		});
		return 'scrollWidth ' + root.scrollWidth + ' > clientWidth ' + w + '; ' + out.join(', ');
	})()`)
	if got != "" {
		b.t.Errorf("%s: %s: horizontal scroll at %s wide: %s", b.name, step, b.str(`String(window.innerWidth)`), got)
	}
}

// countdownSeconds reads #countdown ("mm:ss" or "h:mm:ss") as seconds; ok
// is false for any other text ("Ending…", "Ended").
func (b *tab) countdownSeconds() (secs int, text string, ok bool) {
	b.t.Helper()
	text = b.text("countdown")
	total := 0
	for _, part := range strings.Split(text, ":") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return 0, text, false
		}
		total = total*60 + n
	}
	return total, text, strings.Contains(text, ":")
}

// fillEndsAt sets the sell form's end. datetime-local holds the seller's
// local time; sell.js turns it into UTC on submit. Seconds keep the tests
// short and exact.
func (b *tab) fillEndsAt(at time.Time) {
	b.t.Helper()
	if got := b.str(`(function (ms) {
		var d = new Date(ms), p = function (n) { return (n < 10 ? '0' : '') + n; };
		var el = document.getElementById('ends_at');
		el.value = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' +
			p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
		el.dispatchEvent(new Event('input', {bubbles: true}));
		return new Date(el.value).getTime() === ms ? 'ok' : el.value;
	})(` + strconv.FormatInt(at.UnixMilli(), 10) + `)`); got != "ok" {
		b.t.Fatalf("%s: #ends_at holds %q, not %s", b.name, got, at)
	}
}

// endsAt reads the end time the countdown counts to.
func (b *tab) endsAt() time.Time {
	b.t.Helper()
	s := b.str(`document.getElementById('countdown').dataset.endsAt`)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		b.t.Fatalf("%s: #countdown data-ends-at %q: %v", b.name, s, err)
	}
	return at
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// browserLogBuffer collects the node's log, which goroutines write while the
// test reads it.
type browserLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *browserLogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *browserLogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// sinceStart formats a duration for the test log.
func sinceStart(t0 time.Time) string { return fmt.Sprintf("%.2fs", time.Since(t0).Seconds()) }
