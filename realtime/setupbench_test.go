package realtime

import (
	"bytes"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// BenchmarkSetupResume measures what a reconnect storm asks of a node per
// stream: a stream resuming from its Last-Event-ID a few events back,
// served from the topic's ring, up to its client holding the head and
// every missed event. It reports the process's CPU per set-up (user and
// system, the loopback client's reads included) beside the wall time.
func BenchmarkSetupResume(b *testing.B) {
	e := newEnv(b)
	h, _ := e.hub(Config{MaxConns: 1 << 14, Heartbeat: time.Hour})
	e.seed(7, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	pair := func() (cli, srv net.Conn) {
		cli, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		if srv, err = ln.Accept(); err != nil {
			b.Fatal(err)
		}
		return cli, srv
	}
	// A watcher keeps the topic, and its ring, alive.
	anchor, srv := pair()
	defer anchor.Close()
	serve, err := h.Open(domain.StreamSpec{AuctionIDs: []int64{7}})
	if err != nil {
		b.Fatal(err)
	}
	serve(srv)
	go func() { _, _ = io.Copy(io.Discard, anchor) }()
	for s := int64(2); s <= 6; s++ {
		e.publish(auctionEvent(7, s, domain.EventPrice))
	}
	ch := domain.AuctionChannel(7)
	waitFor(b, "the ring", func() bool {
		sh := h.shardFor(ch)
		sh.mu.Lock()
		t := sh.topics[ch]
		sh.mu.Unlock()
		if t == nil {
			return false
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.tr.last == 6
	})
	buf := make([]byte, 32<<10)
	want := []byte("id: 7:6\n")
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	for range b.N {
		cli, srv := pair()
		serve, err := h.Open(domain.StreamSpec{AuctionIDs: []int64{7}, LastEventID: "7:2"})
		if err != nil {
			b.Fatal(err)
		}
		serve(srv)
		var got []byte
		_ = cli.SetReadDeadline(time.Now().Add(10 * time.Second))
		for !bytes.Contains(got, want) {
			n, err := cli.Read(buf)
			if err != nil {
				b.Fatalf("read %q: %v", got, err)
			}
			got = append(got, buf[:n]...)
		}
		_ = cli.Close()
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
		syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}
