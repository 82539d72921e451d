package web

import (
	"cmp"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Route is one route the server answers, as `gavel routes` prints it for
// tools that must cover every route (the hostile-client suite's
// authorization matrix), so that a new route cannot be left out.
type Route struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// BodyLimit is the most body bytes the route accepts.
	BodyLimit int `json:"body_limit"`
}

// Routes lists the server's routes, sorted by path then method. The HEAD
// routes Fiber adds beside every GET are left out.
func (s *Server) Routes() []Route {
	var out []Route
	seen := map[string]bool{}
	for _, r := range s.app.GetRoutes(true) {
		if r.Method == fiber.MethodHead {
			continue
		}
		key := r.Method + " " + r.Path
		if seen[key] {
			continue
		}
		seen[key] = true
		limit, upload := s.uploadLimit(r.Method, r.Path)
		if !upload {
			limit = s.cfg.BodyLimit
		}
		out = append(out, Route{Method: r.Method, Path: r.Path, BodyLimit: limit})
	}
	slices.SortFunc(out, func(a, b Route) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Method, b.Method))
	})
	return out
}
