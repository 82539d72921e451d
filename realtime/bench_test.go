package realtime

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// BenchmarkBroadcast measures one event reaching every watcher of a hot
// auction over loopback TCP (the clients share the machine's cores).
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(itoa(int64(n)), func(b *testing.B) { benchBroadcast(b, n) })
	}
}

func benchBroadcast(b *testing.B, n int) {
	e := newEnv(b)
	h, _ := e.hub(Config{MaxConns: 2 * n, Heartbeat: time.Hour})
	e.log.add(b, auctionEvent(1, 1, domain.EventExtended))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	// Each client counts blank lines ("\n\n"): one after retry, one per event.
	counts := make([]atomic.Int64, n)
	var wg sync.WaitGroup
	for i := range n {
		cli, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		srv, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		defer cli.Close()
		serve, err := h.Open(domain.StreamSpec{AuctionIDs: []int64{1}})
		if err != nil {
			b.Fatal(err)
		}
		serve(srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			var prev byte
			for {
				k, err := cli.Read(buf)
				for _, c := range buf[:k] {
					if c == '\n' && prev == '\n' {
						counts[i].Add(1)
					}
					prev = c
				}
				if err != nil {
					return
				}
			}
		}()
	}
	waitAll := func(want int64) {
		for i := range counts {
			for counts[i].Load() < want {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	waitAll(2)
	b.ResetTimer()
	for k := range b.N {
		e.publish(auctionEvent(1, int64(k)+2, domain.EventExtended))
		waitAll(int64(k) + 3)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
	s := h.Stats()
	if s.SlowConsumers != 0 {
		b.Fatalf("%d slow consumers", s.SlowConsumers)
	}
}
