package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

// fakeWatchers answers fixed counts and records what it was asked.
type fakeWatchers struct {
	mu      sync.Mutex
	counts  map[int64]int64
	err     error
	ids     []int64
	exclude int64
}

func (f *fakeWatchers) Watching(_ context.Context, ids []int64, exclude int64) (map[int64]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids, f.exclude = slices.Clone(ids), exclude
	return f.counts, f.err
}

// TestMyWatchers: a seller gets the live watcher counts of their running
// listings (their own pages left out), on the API and on My listings; a
// cluster that does not answer is a 503, never a zero.
func TestMyWatchers(t *testing.T) {
	t.Parallel()
	fw := &fakeWatchers{}
	e := newEnv(t, func(_ *Config, d *Deps) { d.Watchers = fw })
	seller := e.mustUser("sel@example.com", "Sel", false)
	e.mustUser("oth@example.com", "Oth", false)
	sel := e.mustLogin("sel@example.com")
	a, b := e.mustAuction(sel, ""), e.mustAuction(sel, "")
	e.mustAuction(e.mustLogin("oth@example.com"), "") // not the seller's
	fw.counts = map[int64]int64{a: 3}

	m := e.do(req{method: "GET", path: "/api/v1/me/watchers", cookie: sel}).wantStatus(t, http.StatusOK).json(t)
	w, _ := m["watchers"].(map[string]any)
	if len(w) != 1 || w[strconv.FormatInt(a, 10)] != float64(3) {
		t.Errorf("watchers = %v, want {%d: 3}", m, a)
	}
	slices.Sort(fw.ids)
	if !slices.Equal(fw.ids, []int64{a, b}) || fw.exclude != seller.ID {
		t.Errorf("asked for %v excluding %d, want the seller's own running listings %v excluding %d", fw.ids, fw.exclude, []int64{a, b}, seller.ID)
	}
	e.do(req{method: "GET", path: "/api/v1/me/watchers"}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)

	page := string(e.do(req{method: "GET", path: "/me/listings", cookie: sel}).wantStatus(t, http.StatusOK).body)
	if !strings.Contains(page, `<dt>Viewing now</dt><dd class="viewers" data-viewers>3</dd>`) ||
		!strings.Contains(page, `<dt>Viewing now</dt><dd class="viewers" data-viewers>0</dd>`) || !strings.Contains(page, `id="watching-note"`) {
		t.Errorf("My listings lacks the watcher counts (3 and 0) or their explanation:\n%s", page)
	}

	fw.mu.Lock()
	fw.err = errors.New("no realtime node answered")
	fw.mu.Unlock()
	r := e.do(req{method: "GET", path: "/api/v1/me/watchers", cookie: sel})
	r.wantProblem(t, http.StatusServiceUnavailable, domain.CodeUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	page = string(e.do(req{method: "GET", path: "/me/listings", cookie: sel}).wantStatus(t, http.StatusOK).body)
	if !strings.Contains(page, `data-viewers>–</dd>`) {
		t.Error("My listings with counts unavailable should show a dash, not a zero")
	}
}

// TestMyWatchersNotWired: without Watchers, no route and no counts.
func TestMyWatchersNotWired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("sel@example.com", "Sel", false)
	sel := e.mustLogin("sel@example.com")
	e.mustAuction(sel, "")
	e.do(req{method: "GET", path: "/api/v1/me/watchers", cookie: sel}).wantStatus(t, http.StatusNotFound)
	if page := string(e.do(req{method: "GET", path: "/me/listings", cookie: sel}).body); strings.Contains(page, "Viewing now") {
		t.Error("My listings shows watcher counts it cannot get")
	}
}
