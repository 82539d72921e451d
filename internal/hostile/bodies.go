package hostile

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// memPeak samples the node's resident memory until stop is called and
// returns the highest value seen.
func (n *Node) memPeak() (stop func() float64) {
	var (
		mu   sync.Mutex
		peak float64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		for {
			if u, err := n.Usage(); err == nil {
				mu.Lock()
				peak = max(peak, u.RSS)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	return func() float64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// zeros compresses n zero bytes with gzip, layers times, or with deflate.
func zeros(n int64, layers int, deflate bool) []byte {
	var data []byte
	for i := 0; i < layers; i++ {
		var buf bytes.Buffer
		var w io.WriteCloser
		if deflate {
			w, _ = flate.NewWriter(&buf, flate.BestCompression)
		} else {
			w, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
		}
		if i == 0 {
			_, _ = io.CopyN(w, zeroReader{}, n)
		} else {
			_, _ = w.Write(data)
		}
		_ = w.Close()
		data = buf.Bytes()
	}
	return data
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// bombs posts compressed bodies that would inflate to gigabytes, 16 at a
// time, to JSON and form routes. Each must be refused with 415 without
// being decoded: the node's memory must not move.
func (r *runner) bombs(ctx context.Context) (int, string, []string) {
	size := int64(r.scale(1<<30, 64<<20))
	type bomb struct {
		name, encoding string
		body           []byte
	}
	bombs := []bomb{
		{"gzip", "gzip", zeros(8<<20, 1, false)},
		{"gzip, gzip", "gzip, gzip", zeros(size, 2, false)},
		{"deflate", "deflate", zeros(8<<20, 1, true)},
		{"br (label only)", "br", zeros(8<<20, 1, false)},
		{"gzip, deflate, br", "gzip, deflate, br", zeros(8<<20, 1, false)},
	}
	targets := []struct{ path, contentType string }{
		{"/api/v1/users", "application/json"},
		{"/api/v1/session", "application/json"},
		{"/login", formType},
		{"/register", formType},
		{"/api/v1/auctions/{A}/bids", "application/json"},
	}
	before, _ := r.w.node.Usage()
	stop := r.w.node.memPeak()
	var (
		mu       sync.Mutex
		failures []string
		n        int
	)
	for _, b := range bombs {
		for _, t := range targets {
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					c := newClient(r.w.node.URL, r.w.pool.take(), 1)
					defer c.close()
					a := r.w.actors["bidder"]
					resp := c.do(ctx, request{Method: "POST", Path: r.w.expand(t.path), Body: string(b.body), ContentType: t.contentType,
						Cookie: a.cookie, Header: map[string]string{"Content-Encoding": b.encoding}})
					mu.Lock()
					defer mu.Unlock()
					n++
					if resp.Err != nil || resp.Status != 415 {
						failures = append(failures, fmt.Sprintf("%s bomb (%d bytes) to %s: %d %v %.120s", b.name, len(b.body), t.path, resp.Status, resp.Err, resp.Body))
					}
				})
			}
			wg.Wait()
		}
	}
	peak := stop()
	grew := (peak - before.RSS) / (1 << 20)
	if grew > 64 {
		failures = append(failures, fmt.Sprintf("resident memory grew by %.0f MiB during the bombs (from %.0f to %.0f MiB)", grew, before.RSS/(1<<20), peak/(1<<20)))
	}
	return n, fmt.Sprintf("%d bombs ×16 at once, up to %d MiB inflated; all 415; peak RSS +%.0f MiB", len(bombs)*len(targets), size>>20, grew), uniq(failures)
}

// bodies checks body limits and framing on the wire: oversized, endless
// and ambiguous bodies, and oversized heads.
func (r *runner) bodies(ctx context.Context) (int, string, []string) {
	addr := strings.TrimPrefix(r.w.node.URL, "http://")
	head := func(extra string) string {
		return "POST /api/v1/users HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n" + extra
	}
	chunk := strings.Repeat("a", 32<<10)
	var endless strings.Builder
	for range 64 {
		fmt.Fprintf(&endless, "%x\r\n%s\r\n", len(chunk), chunk)
	}
	cases := []struct {
		name string
		raw  string
		want []int // 0: the connection may be closed without an answer
	}{
		{"10 MiB Content-Length, 128 KiB sent", head("Content-Length: 10485760\r\n\r\n") + strings.Repeat("a", 128<<10), []int{413}},
		{"2 MiB chunked body", head("Transfer-Encoding: chunked\r\n\r\n") + endless.String(), []int{413}},
		{"duplicate Content-Length", head("Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"), []int{400}},
		{"differing Content-Length", head("Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}"), []int{400}},
		{"Content-Length with Transfer-Encoding", head("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), []int{400}},
		{"Transfer-Encoding gzip, chunked", head("Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), []int{400, 501}},
		{"broken chunked encoding", head("Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n"), []int{400}},
		{"negative Content-Length", head("Content-Length: -5\r\n\r\n"), []int{400}},
		{"64 KiB request line", "GET /?q=" + strings.Repeat("a", 64<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", []int{431, 414, 400, 0}},
		{"1 MiB of headers", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 1000)+"\r\n", 1024) + "\r\n", []int{431, 400, 0}},
		{"bare LF and NUL in a header", "GET / HTTP/1.1\nHost: x\nX-A: a\x00b\n\n", []int{400, 200}},
	}
	var failures []string
	n := 0
	for _, tc := range cases {
		reps := r.scale(8, 2)
		for range reps {
			n++
			answer, err := rawExchange(addr, r.w.pool.take(), []byte(tc.raw), 10*time.Second)
			code := statusOf(answer)
			if err != nil && contains2(tc.want, 0) {
				continue
			}
			if !contains2(tc.want, code) {
				failures = append(failures, fmt.Sprintf("%s: got %d (%v) %.100q, want %v", tc.name, code, err, answer, tc.want))
			}
		}
	}
	return n, fmt.Sprintf("%d kinds of oversized or ambiguous request, refused", len(cases)), uniq(failures)
}

func contains2(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
