package hostile

import (
	"context"
	"fmt"
)

// matrix runs the authorization matrix and keeps its responses for the
// leak scan.
func (r *runner) matrix(ctx context.Context) (int, string, []string) {
	m := runMatrix(ctx, r.w, r.routes)
	for _, c := range m.cells {
		r.seen = append(r.seen, exchange{actor: c.actor, what: c.route, resp: c.resp})
	}
	r.logf("matrix:\n%s", matrixTable(m))
	failures := m.failures()
	return len(m.cells), fmt.Sprintf("%d routes × %d actors, %d mismatches", len(m.cells)/len(actorNames), len(actorNames), len(failures)), failures
}

// leaks scans every response kept so far (the matrix's, the battery's),
// plus each actor's view of the world's auction, page and stream.
func (r *runner) leaks(ctx context.Context) (int, string, []string) {
	n := 0
	for _, name := range actorNames {
		a := r.w.actors[name]
		for _, path := range []string{"/api/v1/auctions/{A}", "/auctions/{A}", "/api/v1/auctions/{A}/bids", "/api/v1/auctions?q=lot", "/?q=lot",
			"/stream/auctions/{A}", "/stream/me", "/api/v1/me", "/me/bids", "/me/listings", "/admin", "/api/v1/admin/users"} {
			resp := a.c.do(ctx, request{Method: "GET", Path: r.w.expand(path), Cookie: a.cookie})
			n++
			r.seen = append(r.seen, exchange{actor: name, what: "GET " + path, resp: resp})
		}
	}
	failures := r.w.scanLeaks(r.seen)
	return n, fmt.Sprintf("%d responses scanned for %d secrets, %d leaks", len(r.seen), len(r.w.secrets()), len(failures)), failures
}
