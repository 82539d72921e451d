package web

import (
	"net"
	"net/http"
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
