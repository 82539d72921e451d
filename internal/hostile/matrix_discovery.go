package hostile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// newCategory creates a top-level category as the admin and returns its
// id and slug.
func (w *world) newCategory(ctx context.Context) (int64, string, error) {
	name := "Matrix " + randomTag()
	resp, err := w.expect(ctx, w.actors["admin"], request{Method: "POST", Path: "/api/v1/admin/categories", Body: fill(`{"name": "%s"}`, name)}, 201)
	if err != nil {
		return 0, "", err
	}
	var c struct {
		ID   int64  `json:"id"`
		Slug string `json:"slug"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &c); err != nil || c.ID == 0 {
		return 0, "", fmt.Errorf("new category: %q", resp.Body)
	}
	return c.ID, c.Slug, nil
}

// onFreshCategory acts on a new category; the path has one %d (its id)
// or one %s (its slug).
func onFreshCategory(method, path, body string, bySlug bool) builder {
	return func(ctx context.Context, w *world, _ *actor) (request, error) {
		id, slug, err := w.newCategory(ctx)
		p := fmt.Sprintf(path, id)
		if bySlug {
			p = fmt.Sprintf(path, slug)
		}
		// A renamed category takes a slug from its name: each its own.
		b := strings.ReplaceAll(body, "Matrix+renamed", "Matrix+renamed+"+randomTag())
		b = strings.ReplaceAll(b, `"Matrix renamed"`, `"Matrix renamed `+randomTag()+`"`)
		return request{Method: method, Path: p, Body: b, ContentType: typeOf(b)}, err
	}
}

// newCategoryBody is a category with a name of its own each time.
func newCategoryBody(method, path string, asForm bool) builder {
	return func(_ context.Context, w *world, _ *actor) (request, error) {
		body := fill(`{"name": "%s"}`, "Matrix "+randomTag())
		if asForm {
			body = form("name", "Matrix "+randomTag())
		}
		return request{Method: method, Path: path, Body: body, ContentType: typeOf(body)}, nil
	}
}

// discoveryCases are the routes of categories, search and watchlists.
func discoveryCases() []caseSpec {
	return []caseSpec{
		{route: "GET /api/v1/categories", want: public, build: get("/api/v1/categories")},
		{route: "GET /api/v1/search", want: public, build: get("/api/v1/search?q=lot")},
		{route: "GET /search", want: public, build: get("/search?q=lot")},
		{route: "GET /categories", want: public, build: get("/categories")},
		{route: "GET /categories/:slug", want: public, build: onFreshCategory("GET", "/categories/%s", "", true)},

		{route: "GET /api/v1/me/watchlist", want: userAPI, build: get("/api/v1/me/watchlist")},
		{route: "PUT /api/v1/me/watchlist/:id", want: "anon=401 seller,suspended=403 *=200", build: onFreshAuction("PUT", "/api/v1/me/watchlist/%d", "", "")},
		{route: "DELETE /api/v1/me/watchlist/:id", want: userAPI, build: onFreshAuction("DELETE", "/api/v1/me/watchlist/%d", "", "")},
		{route: "POST /me/watchlist/:id", want: "anon=303 seller,suspended=403 *=303", build: onFreshAuction("POST", "/me/watchlist/%d", "", form("action", "watch", "next", "/"))},
		{route: "GET /me/watching", want: userPage, build: get("/me/watching")},
		{route: "GET /api/v1/auctions/:id/watchers", want: "anon=401 seller,admin=200 *=403", build: get("/api/v1/auctions/{A}/watchers")},

		{route: "GET /admin/categories", want: adminPage, build: get("/admin/categories")},
		{route: "POST /admin/categories", want: "anon=303 admin=303 *=403", build: newCategoryBody("POST", "/admin/categories", true)},
		{route: "POST /admin/categories/:id", want: "anon=303 admin=303 *=403", build: onFreshCategory("POST", "/admin/categories/%d", form("name", "Matrix renamed", "position", "1"), false)},
		{route: "POST /admin/categories/:id/delete", want: "anon=303 admin=303 *=403", build: onFreshCategory("POST", "/admin/categories/%d/delete", "", false)},
		{route: "POST /api/v1/admin/categories", want: "anon=401 admin=201 *=403", build: newCategoryBody("POST", "/api/v1/admin/categories", false)},
		{route: "PATCH /api/v1/admin/categories/:id", want: adminAPI, build: onFreshCategory("PATCH", "/api/v1/admin/categories/%d", `{"name": "Matrix renamed"}`, false)},
		{route: "DELETE /api/v1/admin/categories/:id", want: "anon=401 admin=204 *=403", build: onFreshCategory("DELETE", "/api/v1/admin/categories/%d", "", false)},
	}
}
