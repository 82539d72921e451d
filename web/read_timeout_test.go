package web

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A request whose body stalls past the read timeout gets a 408 the API's
// way, although fasthttp has cleared the request (and its path) by then.
func TestStalledBodyAnswersProblemJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.App().Server().ReadTimeout = 300 * time.Millisecond
	base := e.listen()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = conn.Write([]byte("POST /api/v1/auctions/1/bids HTTP/1.1\r\nHost: gavel.test\r\n" +
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"amount\":"))
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status = %d, want 408", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p struct{ Code, Detail string }
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.Code != "request_timeout" || p.Detail != readTimeoutMessage {
		t.Errorf("problem = %+v", p)
	}
}
