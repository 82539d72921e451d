package web

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

func TestStreamRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("ann@example.com", "Ann", false)
	tok := e.mustLogin("ann@example.com")

	for _, path := range []string{"/stream/auctions/1", "/stream/auctions?ids=1,2", "/stream/me", "/stream/admin"} {
		e.do(req{method: "GET", path: path}).wantProblem(t, http.StatusUnauthorized, domain.CodeUnauthorized)
	}
	e.do(req{method: "GET", path: "/stream/admin", cookie: tok}).wantProblem(t, http.StatusForbidden, domain.CodeForbidden)
	e.do(req{method: "GET", path: "/stream/auctions/abc", cookie: tok}).wantProblem(t, http.StatusNotFound, domain.CodeNotFound)

	many := make([]string, 101)
	for i := range many {
		many[i] = strconv.Itoa(i + 1)
	}
	for _, q := range []string{"", "?ids=", "?ids=a", "?ids=1,,2", "?ids=0", "?ids=-3", "?ids=1.5", "?ids=" + strings.Join(many, ",")} {
		m := e.do(req{method: "GET", path: "/stream/auctions" + q, cookie: tok}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
		if errs, _ := m["errors"].(map[string]any); errs["ids"] == nil {
			t.Errorf("%s: errors = %v", q, m["errors"])
		}
	}
	e.do(req{method: "GET", path: "/stream/me?lastEventId=%01", cookie: tok}).wantProblem(t, http.StatusUnprocessableEntity, domain.CodeInvalid)
	if n := len(e.streams.specs); n != 0 {
		t.Errorf("Streams.Open called %d times for refused requests", n)
	}
}

func TestStreamOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err        error
		status     int
		code       domain.Code
		retryAfter string
	}{
		{&domain.Error{Code: domain.CodeRateLimited, Message: "Too many streams.", Extra: map[string]any{"retry_after": 7}}, 429, domain.CodeRateLimited, "7"},
		{&domain.Error{Code: domain.CodeRateLimited, Message: "Too many streams."}, 429, domain.CodeRateLimited, "1"},
	}
	for _, tt := range tests {
		e := newEnv(t)
		e.streams.err = tt.err
		e.mustUser("ann@example.com", "Ann", false)
		tok := e.mustLogin("ann@example.com")
		r := e.do(req{method: "GET", path: "/stream/auctions/1", cookie: tok})
		r.wantProblem(t, tt.status, tt.code)
		if got := r.header.Get("Retry-After"); got != tt.retryAfter {
			t.Errorf("%v: Retry-After = %q, want %q", tt.err, got, tt.retryAfter)
		}
	}
}

// TestStreamOpenUnavailable: a node that is full or restarting tells the
// browser to come back later (a 503 would stop EventSource for good).
func TestStreamOpenUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.streams.err = &domain.Error{Code: domain.CodeUnavailable, Message: "Node is full."}
	e.mustUser("ann@example.com", "Ann", false)
	r := e.do(req{method: "GET", path: "/stream/auctions/1", cookie: e.mustLogin("ann@example.com")}).wantStatus(t, http.StatusOK)
	sm := streamRetryBody.FindSubmatch(r.body)
	if sm == nil || string(sm[2]) != "Node is full." {
		t.Fatalf("body %q", r.body)
	}
	// The default Retry-After (5s) with jitter: 2.5s to 7.5s.
	if ms, _ := strconv.Atoi(string(sm[1])); ms < 2500 || ms >= 7500 {
		t.Errorf("retry %dms", ms)
	}
}

func TestStreamSpecs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seller := e.mustUser("sel@example.com", "Sel", false)
	root := e.mustUser("root@example.com", "Root", true)
	sel := e.mustLogin("sel@example.com")
	admin := e.mustLogin("root@example.com")
	mine := e.mustAuction(sel, "")
	cancelled := e.mustAuction(sel, "")
	e.do(req{method: "POST", path: auctionPath(cancelled, "/cancel"), cookie: sel}).wantStatus(t, 200)
	e.mustAuction(admin, "") // someone else's

	// app.Test cannot read a hijacked answer (there is none), so these
	// requests time out on the client side; the spec is what matters here.
	open := func(path, cookie string, header map[string]string) domain.StreamSpec {
		t.Helper()
		hr, _ := http.NewRequest("GET", "http://gavel.test"+path, nil)
		hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: cookie})
		for k, v := range header {
			hr.Header.Set(k, v)
		}
		_, _ = e.srv.App().Test(hr, 2000)
		spec, ok := e.streams.lastSpec()
		if !ok {
			t.Fatalf("%s: Streams.Open not called", path)
		}
		return spec
	}

	s := open("/stream/auctions/42", sel, map[string]string{"Last-Event-ID": "42:7"})
	if !slices.Equal(s.AuctionIDs, []int64{42}) || s.UserID != seller.ID || s.Admin || s.Personal || s.All || s.LastEventID != "42:7" {
		t.Errorf("auction stream spec = %+v", s)
	}
	s = open("/stream/auctions?ids=3,1,3,2&lastEventId=3:1,1:9", sel, nil)
	if !slices.Equal(s.AuctionIDs, []int64{3, 1, 2}) || s.LastEventID != "3:1,1:9" {
		t.Errorf("multi stream spec = %+v", s)
	}
	s = open("/stream/auctions?ids=5&lastEventId=q", sel, map[string]string{"Last-Event-ID": "h"})
	if s.LastEventID != "h" {
		t.Errorf("the header must win over the query: %+v", s)
	}
	s = open("/stream/me", sel, nil)
	if !s.Personal || !slices.Equal(s.AuctionIDs, []int64{mine}) || s.All {
		t.Errorf("me stream spec = %+v (own open listing is %d)", s, mine)
	}
	s = open("/stream/admin", admin, nil)
	if !s.All || !s.Admin || s.UserID != root.ID {
		t.Errorf("admin stream spec = %+v", s)
	}
}

func TestStreamHead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("ann@example.com", "Ann", false)
	tok := e.mustLogin("ann@example.com")
	e.do(req{method: "HEAD", path: "/stream/auctions/1", cookie: tok}).wantStatus(t, 200)
	if len(e.streams.specs) != 0 {
		t.Error("HEAD opened a stream")
	}
}

// TestStreamHijack serves a stream over a real connection: the fake
// Streams' serve owns the hijacked connection and writes the whole HTTP
// response itself.
func TestStreamHijack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustUser("ann@example.com", "Ann", false)
	tok := e.mustLogin("ann@example.com")
	served := make(chan struct{})
	e.streams.serve = func(conn net.Conn) {
		defer close(served)
		defer conn.Close()
		_ = conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\r\n"+
			"id: 7:57\nevent: snapshot\ndata: {\"auction_id\":7}\n\n")
	}
	base := e.listen()

	hr, _ := http.NewRequest("GET", base+"/stream/auctions/7", nil)
	hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: tok})
	hr.Header.Set("Last-Event-ID", "7:56")
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("response %d %v", res.StatusCode, res.Header)
	}
	var lines []string
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	want := []string{"id: 7:57", "event: snapshot", `data: {"auction_id":7}`, ""}
	if !slices.Equal(lines, want) {
		t.Errorf("stream = %q, want %q", lines, want)
	}
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("serve never ran")
	}
	if s, _ := e.streams.lastSpec(); s.LastEventID != "7:56" {
		t.Errorf("spec = %+v", s)
	}

	// The node keeps serving ordinary requests.
	res, err = client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	readResp(t, res).wantStatus(t, 200)
}
