package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored for the tests only (testdata/axe): the
// Chromium tests inject it into the pages they visit; it is never served.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeViolation is one failed axe rule, as checkA11y reports it.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// a11yRun starts axe on the current page (injecting it once per document)
// and leaves its serious and critical violations in window.__axeResult.
const a11yRun = `(function () {
	window.__axeDone = false;
	window.__axeResult = '';
	axe.run(document, { resultTypes: ['violations'] }).then(function (r) {
		window.__axeResult = JSON.stringify(r.violations.filter(function (v) {
			return v.impact === 'serious' || v.impact === 'critical';
		}).map(function (v) {
			return { id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(function (n) {
				return n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\s+/g, ' ');
			}) };
		}));
		window.__axeDone = true;
	}, function (e) {
		window.__axeResult = 'axe failed: ' + e;
		window.__axeDone = true;
	});
	return 'started';
})()`

// checkA11y runs axe-core on the page as it is now and fails the test for
// every serious or critical violation (WCAG 2 A/AA and axe's best
// practices).
func (b *tab) checkA11y(step string) {
	b.t.Helper()
	url := b.str(`location.pathname + location.search`)
	for _, v := range b.a11yViolations(step) {
		b.t.Errorf("%s: %s (%s): accessibility: %s [%s, %s]\n\t%s", b.name, step, url, v.Help, v.ID, v.Impact, strings.Join(v.Nodes, "\n\t"))
	}
}

// a11yViolations returns the serious and critical axe violations of the
// page as it is now.
func (b *tab) a11yViolations(step string) []axeViolation {
	b.t.Helper()
	// A loaded machine takes its time parsing 650 KB of script and
	// walking a large page: these evaluations get a minute.
	eval := func(what, expr string) {
		ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
		defer cancel()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr)); err != nil {
			b.t.Fatalf("%s: %s: %s: %v", b.name, step, what, err)
		}
	}
	if b.str(`typeof axe`) != "object" {
		// Runtime.evaluate is not bound by the page's CSP, so this works on
		// pages whose script-src allows only their own files.
		eval("inject axe-core", axeSource+";'loaded'")
	}
	eval("start axe", a11yRun)
	b.waitFor("axe on "+step, `window.__axeDone === true`, `String(window.__axeDone)`, 60*time.Second)
	raw := b.str(`window.__axeResult`)
	if strings.HasPrefix(raw, "axe failed") {
		b.t.Fatalf("%s: %s: %s", b.name, step, raw)
	}
	var found []axeViolation
	if err := json.Unmarshal([]byte(raw), &found); err != nil {
		b.t.Fatalf("%s: %s: axe result %q: %v", b.name, step, raw, err)
	}
	return found
}

// TestCheckA11yFindsViolations: the check reports a page with serious
// violations, so a clean run means something.
func TestCheckA11yFindsViolations(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-browser test")
	}
	requireChromium(t)
	b := startBrowser(t, "axe", 800, 600)
	b.str(`(function () {
		document.open();
		document.write('<!DOCTYPE html><html><head><title>x</title></head><body><main><img src="data:,"><input type="text"><a href="/x"></a></main></body></html>');
		document.close();
		return 'ok';
	})()`)
	got := map[string]bool{}
	for _, v := range b.a11yViolations("a page with an unlabelled image, input and link") {
		got[v.ID] = true
	}
	for _, want := range []string{"image-alt", "label", "link-name", "html-has-lang"} {
		if !got[want] {
			t.Errorf("axe did not report %s; it reported %v", want, got)
		}
	}
}
