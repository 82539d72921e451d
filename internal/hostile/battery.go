package hostile

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The bad-input battery reads docs/API.md for every documented endpoint
// and the request body each documents, then sends each of them broken in
// every way a hostile or careless client would: fields missing, of the
// wrong type, huge, NUL, invalid UTF-8, bidirectional overrides, injection
// strings; bodies truncated, nested ten thousand deep, duplicated, in the
// wrong encoding; ids and query parameters out of range. Every answer must
// be a 2xx, 3xx or 4xx: a 5xx or a dropped connection is a failure.

// endpoint is one documented route and its example body.
type endpoint struct {
	method, path string
	body         map[string]any // nil: no body documented
}

var (
	endpointRe = regexp.MustCompile("`(GET|POST|PATCH|PUT|DELETE) (/[^`\\s?]*)[^`]*`")
	inlineRe   = regexp.MustCompile("`(\\{[^`]*\\})`")
	fieldRe    = regexp.MustCompile(`"([a-z_]+)"`)
)

// readAPIDoc finds docs/API.md above the working directory.
func readAPIDoc() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "docs", "API.md"))
		if err == nil {
			return string(b), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("docs/API.md not found above the working directory")
		}
		dir = parent
	}
}

// parseEndpoints reads the endpoints of docs/API.md: headings and list
// items that name a route, with the first JSON example of a heading's
// section (for methods with a body) or an inline {…} beside a list item.
func parseEndpoints(doc string) []endpoint {
	byKey := map[string]*endpoint{}
	var order []string
	lines := strings.Split(doc, "\n")
	for i, line := range lines {
		m := endpointRe.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(m[2], "/metrics") {
			continue
		}
		heading := strings.HasPrefix(line, "### ")
		bullet := strings.HasPrefix(strings.TrimSpace(line), "- ") || strings.HasPrefix(line, "| ")
		if !heading && !bullet {
			continue
		}
		key := m[1] + " " + m[2]
		e, ok := byKey[key]
		if !ok {
			e = &endpoint{method: m[1], path: m[2]}
			byKey[key] = e
			order = append(order, key)
		}
		if e.body != nil || m[1] == "GET" {
			continue
		}
		if heading {
			e.body = sectionJSON(lines[i+1:])
		}
		if e.body == nil {
			if in := inlineRe.FindStringSubmatch(line); in != nil {
				e.body = inlineBody(in[1])
			}
		}
	}
	out := make([]endpoint, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out
}

// sectionJSON returns the first ```json object before the next heading.
func sectionJSON(lines []string) map[string]any {
	for i, l := range lines {
		if strings.HasPrefix(l, "#") {
			return nil
		}
		if strings.TrimSpace(l) != "```json" {
			continue
		}
		var b strings.Builder
		for _, l := range lines[i+1:] {
			if strings.HasPrefix(l, "```") {
				break
			}
			b.WriteString(l + "\n")
		}
		var m map[string]any
		if json.Unmarshal([]byte(b.String()), &m) == nil {
			return m
		}
		return nil
	}
	return nil
}

// inlineBody reads {"reason": "…"} or the shorthand {"token","password"}.
func inlineBody(s string) map[string]any {
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) == nil {
		return m
	}
	m = map[string]any{}
	for _, f := range fieldRe.FindAllStringSubmatch(s, -1) {
		m[f[1]] = "x"
	}
	return m
}

// hostileValues replace one field at a time.
var hostileValues = []any{
	nil, true, false, 0, -1, 1.5, 1e308, -9223372036854775808.0, json.Number("9223372036854775808"), json.Number("1e400"),
	"", " ", "\x00", "a\x00b", "\u202eevil", "\u200b\u200b", "\u2066x\u2069", "\x1b[31m", "line\nbreak", "\t",
	strings.Repeat("a", 10_001), strings.Repeat("é", 70_000), "<script>alert(1)</script>", "' OR 1=1 --", "${jndi:ldap://x}",
	"2026-13-45T99:99:99Z", "１２３", " 12 ", "NaN", "-0", "0x10", "1e3", []any{}, []any{1, 2}, map[string]any{}, map[string]any{"$gt": ""},
}

// brokenBodies replace the whole body.
var brokenBodies = []string{
	"", "null", "[]", "{", "}", `{"a":1}`, "{}{}", `{"x":1}garbage`, "\xef\xbb\xbf{}", "\xff\xfe{\x00}\x00",
	strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000), strings.Repeat(`{"a":`, 5_000) + "1" + strings.Repeat("}", 5_000),
	`{"amount": 1e999999}`, `{"title": "\ud800"}`, "{\"title\": \"\xff\xfe\"}", `{"title": "a", "title": "b"}`, "\x00\x00\x00\x00",
}

// wrongTypes are Content-Types a JSON route must refuse.
var wrongTypes = []string{"text/plain", formType, "multipart/form-data; boundary=x", "application/json; charset=latin1", "application/xml", "application/json;;;"}

// badIDs replace a path's ids.
var badIDs = []string{"0", "-1", "99999999999999999999", "abc", "%00", "%ff", "1%3BDROP", "..%2f..%2fetc", "1.5", "%201", "%D9%A1", "1e3", strings.Repeat("9", 400)}

// badQueries are appended to GET endpoints.
var badQueries = []string{"limit=-1", "limit=abc", "limit=99999999999", "limit=%00", "q=%00", "q=%ff%fe", "q=" + strings.Repeat("x", 1000),
	"status=bogus", "status=open,open,open", "seller=me", "seller=-1", "bidder=you", "ids=" + strings.Repeat("1,", 200) + "1", "ids=a,b",
	"ids=-5", "lastEventId=%ff", "lastEventId=" + strings.Repeat("9", 300), "q=%E2%80%AE", "offset=-1", "limit=1&limit=2"}

// batteryRequest is one request of the battery.
type batteryRequest struct {
	r    request
	as   string // actor
	what string
}

// batteryRequests builds the battery for w from the documented endpoints.
func (w *world) batteryRequests(eps []endpoint, auction, bid int64) []batteryRequest {
	ids := strings.NewReplacer("{id}", fmt.Sprint(auction), "{bid_id}", fmt.Sprint(bid))
	actors := []string{"bidder", "admin", "anon", "seller"}
	var out []batteryRequest
	add := func(as string, r request, what string) {
		out = append(out, batteryRequest{r: r, as: as, what: what})
	}
	for i, e := range eps {
		path := ids.Replace(e.path)
		as := actors[i%len(actors)]
		if strings.Contains(e.path, "/admin") {
			as = "admin"
		}
		name := e.method + " " + e.path
		if e.body != nil {
			fields := make([]string, 0, len(e.body))
			for f := range e.body {
				fields = append(fields, f)
			}
			sort.Strings(fields)
			for _, f := range fields {
				for j, v := range append([]any{"__missing__"}, hostileValues...) {
					b := cloneBody(e.body)
					if j == 0 {
						delete(b, f)
					} else {
						b[f] = v
					}
					enc, _ := json.Marshal(b)
					add(as, request{Method: e.method, Path: path, Body: string(enc)}, fmt.Sprintf("%s with %s=%.40v", name, f, v))
				}
			}
		}
		if e.method != "GET" {
			for _, b := range brokenBodies {
				add(as, request{Method: e.method, Path: path, Body: b}, fmt.Sprintf("%s with body %.40q", name, b))
			}
			for _, t := range wrongTypes {
				add(as, request{Method: e.method, Path: path, Body: "{}", ContentType: t}, name+" as "+t)
			}
		} else {
			for _, q := range badQueries {
				add(as, request{Method: "GET", Path: path + "?" + q}, fmt.Sprintf("%s?%.60s", name, q))
			}
		}
		if strings.Contains(e.path, "{") {
			for _, id := range badIDs {
				p := strings.NewReplacer("{id}", id, "{bid_id}", id).Replace(e.path)
				add(as, request{Method: e.method, Path: p, Body: bodyOf(e)}, fmt.Sprintf("%s %s", e.method, p))
			}
		}
	}
	// Forms and cookies: the pages read the same text.
	for _, f := range []struct{ path, fields string }{
		{"/login", "email password"}, {"/register", "email password name"}, {"/forgot", "email"},
		{"/sell", "title description currency start_price ends_at"}, {"/auctions/{id}/bid", "amount max_amount"},
		{"/admin/users/suspend", "user_id reason"}, {"/me/notifications", "time_zone"},
	} {
		for _, field := range strings.Fields(f.fields) {
			for _, v := range []string{"%ff", "%00", "%E2%80%AE", strings.Repeat("x", 70_000), "%0d%0aSet-Cookie:x=1", "a%26b%3Dc"} {
				add("bidder", request{Method: "POST", Path: ids.Replace(f.path), Body: field + "=" + v, ContentType: formType}, fmt.Sprintf("POST %s %s=%.30s", f.path, field, v))
			}
		}
	}
	for _, c := range []string{"\xff", "%00", strings.Repeat("A", 43), strings.Repeat("a", 3000), "x;gavel_session=y", "\xc3\x28"} {
		add("anon", request{Method: "GET", Path: "/", Header: map[string]string{"Cookie": "gavel_session=" + c}}, fmt.Sprintf("GET / with cookie %.30q", c))
		add("anon", request{Method: "GET", Path: "/api/v1/me", Header: map[string]string{"Cookie": "gavel_session=" + c}}, fmt.Sprintf("GET /api/v1/me with cookie %.30q", c))
	}
	return out
}

func bodyOf(e endpoint) string {
	if e.body == nil {
		return ""
	}
	b, _ := json.Marshal(e.body)
	return string(b)
}

func cloneBody(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// battery sends the bad-input battery and fails on any 5xx or dropped
// request. Its bids go to an auction of their own, so the leak scan's
// auction keeps its secrets.
func (r *runner) battery(ctx context.Context) (int, string, []string) {
	doc, err := readAPIDoc()
	if err != nil {
		return 0, "docs/API.md not found", []string{err.Error()}
	}
	eps := parseEndpoints(doc)
	auction, err := r.w.newAuction(ctx, `"buy_now_price": 900000`)
	if err != nil {
		return 0, "", []string{err.Error()}
	}
	bid, err := r.w.placeBid(ctx, r.w.actors["rival"], auction, "")
	if err != nil {
		return 0, "", []string{err.Error()}
	}
	all := r.w.batteryRequests(eps, auction, bid)
	if r.o.Short {
		// Every fifth request, at least 300: every endpoint and kind of
		// damage still appears.
		var some []batteryRequest
		for i := 0; i < len(all); i += 5 {
			some = append(some, all[i])
		}
		all = some
	}
	var (
		mu       sync.Mutex
		failures []string
		byClass  = map[int]int{}
		busy     int
		wg       sync.WaitGroup
		next     = make(chan batteryRequest)
	)
	for range 4 {
		wg.Go(func() {
			for br := range next {
				a := r.w.actors[br.as]
				if br.r.Cookie == "" && br.r.Header["Cookie"] == "" {
					br.r.Cookie = a.cookie
				}
				resp, retried := doPolitely(ctx, a.c, br.r)
				mu.Lock()
				busy += retried
				byClass[resp.Status/100]++
				switch {
				case resp.Err != nil:
					failures = append(failures, fmt.Sprintf("%s: %v", br.what, resp.Err))
				case resp.Status >= 500:
					failures = append(failures, fmt.Sprintf("%s: %d %.200s", br.what, resp.Status, resp.Body))
				default:
					r.seen = append(r.seen, exchange{actor: br.as, what: br.what, resp: resp})
				}
				mu.Unlock()
			}
		})
	}
	for _, br := range all {
		next <- br
	}
	close(next)
	wg.Wait()
	summary := fmt.Sprintf("%d documented endpoints; %d×2xx, %d×3xx, %d×4xx, %d×5xx (%d busy 503s retried after their Retry-After)", len(eps), byClass[2], byClass[3], byClass[4], byClass[5], busy)
	return len(all), summary, failures
}

// doPolitely sends req as an honest client would: a 503 with Retry-After
// (the node busy hashing passwords, say, which is the bounded answer to
// overload the node is meant to give) is retried after the time it asks,
// up to five times. Only what comes back then counts.
func doPolitely(ctx context.Context, c *client, req request) (response, int) {
	var retried int
	for {
		resp := c.do(ctx, req)
		after, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.Status != 503 || err != nil || retried == 5 || ctx.Err() != nil {
			return resp, retried
		}
		retried++
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(min(max(after, 1), 5)) * time.Second):
		}
	}
}
