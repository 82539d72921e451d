package hostile

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The authorization matrix: every route of `gavel routes` × every actor,
// each with its expected status. A route the node serves that has no case
// here fails the suite, so a new route cannot be forgotten: add its case
// to cases (matrix_cases.go) with the answer each actor should get.

// caseSpec is one route's case.
type caseSpec struct {
	route string // "METHOD /path/:pattern", as gavel routes prints it
	// want lists the expected statuses: "anon=401 seller,admin=200 *=403";
	// alternatives with |, such as "200|303".
	want string
	// build returns the request a sends; it may create what the request
	// acts on (a fresh auction to cancel, a user to suspend).
	build func(ctx context.Context, w *world, a *actor) (request, error)
	// session marks requests that end or replace a's session: they run on
	// a throwaway session so that a keeps its own.
	session bool
}

// expected returns the statuses spec allows for actor.
func (c caseSpec) expected(actor string) []int {
	var fallback []int
	for _, term := range strings.Fields(c.want) {
		names, codes, _ := strings.Cut(term, "=")
		var out []int
		for _, s := range strings.Split(codes, "|") {
			n, _ := strconv.Atoi(s)
			out = append(out, n)
		}
		for _, n := range strings.Split(names, ",") {
			if n == actor {
				return out
			}
			if n == "*" {
				fallback = out
			}
		}
	}
	return fallback
}

// cell is one route × actor result.
type cell struct {
	route, actor string
	want         []int
	got          int
	err          error
	resp         response
}

func (c cell) ok() bool { return c.err == nil && slices.Contains(c.want, c.got) }

// matrixResult is the whole matrix.
type matrixResult struct {
	cells     []cell
	uncovered []string // routes served with no case
	stale     []string // cases for routes not served
}

func (m matrixResult) failures() []string {
	var out []string
	for _, r := range m.uncovered {
		out = append(out, "route without a case in internal/hostile/matrix_cases.go: "+r+" (add the answer each actor should get)")
	}
	for _, r := range m.stale {
		out = append(out, "case for a route the node does not serve: "+r)
	}
	for _, c := range m.cells {
		if !c.ok() {
			msg := fmt.Sprintf("%s as %s: got %d, want %v", c.route, c.actor, c.got, c.want)
			if c.err != nil {
				msg += ": " + c.err.Error()
			} else {
				msg += fmt.Sprintf(" (%.200s)", strings.TrimSpace(c.resp.Body))
			}
			out = append(out, msg)
		}
	}
	return out
}

// runMatrix sends every case as every actor. Responses are kept for the
// leak scan.
func runMatrix(ctx context.Context, w *world, routes []Route) matrixResult {
	var res matrixResult
	byRoute := map[string]caseSpec{}
	for _, c := range cases() {
		byRoute[c.route] = c
	}
	served := map[string]bool{}
	for _, r := range routes {
		served[r.String()] = true
		if _, ok := byRoute[r.String()]; !ok {
			res.uncovered = append(res.uncovered, r.String())
		}
	}
	var keys []string
	for k := range byRoute {
		keys = append(keys, k)
		if !served[k] {
			res.stale = append(res.stale, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := byRoute[k]
		if !served[k] {
			continue
		}
		for _, name := range actorNames {
			res.cells = append(res.cells, runCell(ctx, w, c, w.actors[name]))
		}
	}
	return res
}

func runCell(ctx context.Context, w *world, c caseSpec, a *actor) cell {
	out := cell{route: c.route, actor: a.name, want: c.expected(a.name)}
	r, err := c.build(ctx, w, a)
	if err != nil {
		out.err = fmt.Errorf("prepare: %w", err)
		return out
	}
	if r.Cookie == "" && a.cookie != "" {
		r.Cookie = a.cookie
		if c.session {
			if r.Cookie, err = w.session(ctx, a); err != nil {
				out.err = fmt.Errorf("throwaway session: %w", err)
				return out
			}
		}
	}
	out.resp = a.c.do(ctx, r)
	out.got, out.err = out.resp.Status, out.resp.Err
	if a.cookie != "" && out.err == nil {
		// Only the session routes may end a session, and those ran on a
		// throwaway one.
		if me := a.c.do(ctx, request{Method: "GET", Path: "/api/v1/me", Cookie: a.cookie}); me.Status != 200 {
			out.err = fmt.Errorf("it ended %s's session (GET /api/v1/me: %d)", a.name, me.Status)
			_ = w.login(ctx, a)
		}
	}
	return out
}

// matrixTable renders the matrix: one row per route, one column per actor.
func matrixTable(m matrixResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| route |")
	for _, a := range actorNames {
		fmt.Fprintf(&b, " %s |", a)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(actorNames)) + "\n")
	for i := 0; i < len(m.cells); i += len(actorNames) {
		fmt.Fprintf(&b, "| `%s` |", m.cells[i].route)
		for _, c := range m.cells[i : i+len(actorNames)] {
			mark := ""
			if !c.ok() {
				mark = " ✗"
			}
			fmt.Fprintf(&b, " %d%s |", c.got, mark)
		}
		b.WriteString("\n")
	}
	return b.String()
}
