package web

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStreamSetupsBounded: with one set-up slot, a second stream waits
// before its session is read and before Streams.Open until the first
// stream is live (its serve returned), then proceeds.
func TestStreamSetupsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Deps) { c.StreamSetups = 1 })
	e.mustUser("ann@example.com", "Ann", false)
	tok := e.mustLogin("ann@example.com")
	live := make(chan struct{}) // closing it makes the first stream live
	served := make(chan net.Conn, 2)
	e.streams.serve = func(conn net.Conn) {
		served <- conn
		<-live
	}
	base := e.listen()
	opened := func() int {
		e.streams.mu.Lock()
		defer e.streams.mu.Unlock()
		return len(e.streams.specs)
	}
	get := func() {
		hr, _ := http.NewRequest("GET", base+"/stream/auctions/7", nil)
		hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: tok})
		client := &http.Client{Timeout: 20 * time.Second}
		if res, err := client.Do(hr); err == nil {
			_ = res.Body.Close()
		}
	}
	go get()
	var first net.Conn
	select {
	case first = <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("the first stream was never served")
	}
	defer first.Close()
	go get()
	// The second request has had every chance to reach Open; it must not.
	time.Sleep(300 * time.Millisecond)
	if n := opened(); n != 1 {
		t.Fatalf("%d streams opened while the first was still setting up, want 1", n)
	}
	close(live)
	select {
	case c := <-served:
		_ = c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the second stream never got a set-up slot after the first went live")
	}
	if n := opened(); n != 2 {
		t.Fatalf("%d streams opened, want 2", n)
	}
}

// After a burst of stream set-ups, fasthttp's idle workers and the stacks
// they grew must be gone within a few seconds, before the hub gives free
// memory back (#18 point 2), not after fasthttp's default 10s.
func TestIdleWorkersRetireSoon(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if d := e.srv.App().Server().MaxIdleWorkerDuration; d <= 0 || d > 2*time.Second {
		t.Fatalf("MaxIdleWorkerDuration = %s, want at most 2s", d)
	}
}

// TestStreamSetupWaitOutsideDependencyBound: a set-up that waited at the
// gate for longer than the dependency bound still gets the whole bound for
// its own reads once it has a slot (in a reconnect storm the wait is
// seconds, and counting it timed out session reads that had not started).
func TestStreamSetupWaitOutsideDependencyBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Deps) { c.StreamSetups = 1; c.DependencyTimeout = 500 * time.Millisecond })
	e.mustUser("ann@example.com", "Ann", false)
	tok := e.mustLogin("ann@example.com")
	live := make(chan struct{})
	served := make(chan net.Conn, 2)
	e.streams.serve = func(conn net.Conn) {
		served <- conn
		<-live
	}
	base := e.listen()
	get := func(answers chan<- string) {
		hr, _ := http.NewRequest("GET", base+"/stream/auctions/7", nil)
		hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: tok})
		res, err := (&http.Client{Timeout: 20 * time.Second}).Do(hr)
		if err != nil {
			answers <- err.Error()
			return
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		answers <- string(body)
	}
	go get(make(chan string, 1))
	var first net.Conn
	select {
	case first = <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("the first stream was never served")
	}
	answers := make(chan string, 1)
	go get(answers)
	// The second waits at the gate for three times the dependency bound.
	time.Sleep(1500 * time.Millisecond)
	close(live)
	_ = first.Close()
	select {
	case c := <-served:
		_ = c.Close()
	case a := <-answers:
		t.Fatalf("the second stream was refused after waiting for its slot: %q", a)
	case <-time.After(10 * time.Second):
		t.Fatal("the second stream never got a set-up slot after the first went live")
	}
}

// TestStreamSetupShedWithRetry: a set-up that finds no slot within the
// gate's wait is shed as an EventSource can take it: 200
// text/event-stream with a retry: of 1-3 s and why, then the connection
// closes, so the browser comes back soon with its Last-Event-ID (a 503
// would stop it for good).
func TestStreamSetupShedWithRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config, _ *Deps) { c.StreamSetups = 1 })
	e.srv.setupWait = 300 * time.Millisecond
	e.mustUser("ann@example.com", "Ann", false)
	tok := e.mustLogin("ann@example.com")
	live := make(chan struct{})
	defer close(live)
	served := make(chan net.Conn, 1)
	e.streams.serve = func(conn net.Conn) {
		served <- conn
		<-live
	}
	base := e.listen()
	get := func() (*http.Response, error) {
		hr, _ := http.NewRequest("GET", base+"/stream/auctions/7", nil)
		hr.AddCookie(&http.Cookie{Name: sessionCookieName, Value: tok})
		hr.Header.Set("Last-Event-ID", "7:3")
		return (&http.Client{Timeout: 20 * time.Second}).Do(hr)
	}
	go func() {
		if res, err := get(); err == nil {
			_ = res.Body.Close()
		}
	}()
	select {
	case c := <-served:
		defer c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the first stream was never served")
	}
	res, err := get()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("shed answer = %d %s, want 200 text/event-stream", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var ms int
	if _, err := fmt.Sscanf(string(body), "retry: %d\n", &ms); err != nil || ms < 1000 || ms > 3000 {
		t.Fatalf("shed body = %q: want a retry: of 1000..3000 ms first", body)
	}
	if !strings.Contains(string(body), "busy setting up live streams") {
		t.Fatalf("shed body = %q: want the reason as a comment", body)
	}
}
