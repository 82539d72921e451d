package web

import (
	"slices"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.uploadRoute(fiber.MethodPost, "/api/v1/test-upload/:id", 1<<20, func(c *fiber.Ctx) error { return nil })
	routes := e.srv.Routes()
	for _, want := range []Route{
		{Method: "POST", Path: "/api/v1/users", BodyLimit: DefaultBodyLimit},
		{Method: "GET", Path: "/api/v1/auctions/:id", BodyLimit: DefaultBodyLimit},
		{Method: "GET", Path: "/stream/me", BodyLimit: DefaultBodyLimit},
		{Method: "POST", Path: "/login", BodyLimit: DefaultBodyLimit},
		{Method: "POST", Path: "/api/v1/test-upload/:id", BodyLimit: 1 << 20},
	} {
		if !slices.Contains(routes, want) {
			t.Errorf("Routes() lacks %+v", want)
		}
	}
	seen := map[Route]bool{}
	for i, r := range routes {
		if r.Method == "HEAD" {
			t.Errorf("Routes() lists %s %s: HEAD mirrors GET", r.Method, r.Path)
		}
		if seen[r] {
			t.Errorf("Routes() lists %s %s twice", r.Method, r.Path)
		}
		seen[r] = true
		if i > 0 && routes[i-1].Path > r.Path {
			t.Errorf("Routes() not sorted: %s after %s", r.Path, routes[i-1].Path)
		}
	}
}
