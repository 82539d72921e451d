package salebench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Histogram counts durations in buckets of growing width: 50 µs steps to
// 10 ms, then 1 ms steps to 1 s, then 100 ms steps to a minute. Merging
// histograms from several processes is adding their counts.
type Histogram struct {
	Counts []uint64 `json:"counts"`
	N      uint64   `json:"n"`
	Max    int64    `json:"max_us"`
}

const (
	hFine   = 200 // 0-10 ms by 50 µs
	hMid    = 990 // 10 ms-1 s by 1 ms
	hCoarse = 590 // 1 s-60 s by 100 ms
	hSize   = hFine + hMid + hCoarse + 1
)

func bucketOf(us int64) int {
	switch {
	case us < 0:
		return 0
	case us < 10_000:
		return int(us / 50)
	case us < 1_000_000:
		return hFine + int((us-10_000)/1000)
	case us < 60_000_000:
		return hFine + hMid + int((us-1_000_000)/100_000)
	}
	return hSize - 1
}

// upper is the upper bound of bucket i, in µs.
func upper(i int) int64 {
	switch {
	case i < hFine:
		return int64(i+1) * 50
	case i < hFine+hMid:
		return 10_000 + int64(i-hFine+1)*1000
	case i < hSize-1:
		return 1_000_000 + int64(i-hFine-hMid+1)*100_000
	}
	return math.MaxInt64
}

// Add records one duration.
func (h *Histogram) Add(d time.Duration) {
	if h.Counts == nil {
		h.Counts = make([]uint64, hSize)
	}
	us := d.Microseconds()
	h.Counts[bucketOf(us)]++
	h.N++
	h.Max = max(h.Max, us)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o Histogram) {
	if o.N == 0 {
		return
	}
	if h.Counts == nil {
		h.Counts = make([]uint64, hSize)
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	h.N += o.N
	h.Max = max(h.Max, o.Max)
}

// Quantile returns an upper bound of quantile q (the bucket it falls in).
func (h Histogram) Quantile(q float64) time.Duration {
	if h.N == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(h.N)))
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= want {
			return time.Duration(min(upper(i), h.Max)) * time.Microsecond
		}
	}
	return time.Duration(h.Max) * time.Microsecond
}

// WatchSummary is what a watcher process reports when told to stop.
type WatchSummary struct {
	Conns      int       `json:"conns"`
	Snapshots  Histogram `json:"snapshots"` // connect to the sale_snapshot frame
	Delivery   Histogram `json:"delivery"`  // committed_at to receipt, per event
	Received   uint64    `json:"received"`  // events in order, once
	Expected   uint64    `json:"expected"`  // sum over conns of last seq - snapshot seq
	Gaps       uint64    `json:"gaps"`      // positions skipped
	Duplicates uint64    `json:"duplicates"`
	Reconnects uint64    `json:"reconnects"`
	Failed     uint64    `json:"failed"` // connections that never got a snapshot
	Heads      []int64   `json:"heads"`  // each conn's last sale seq
	Starts     []int64   `json:"starts"` // each conn's snapshot seq
	Errors     []string  `json:"errors,omitempty"`
}

// WatchMain is a watcher process (gavel bench sale watch): it holds conns
// streams of the sale catalogue at url, cookies from the file named (one
// Cookie header value a line, used in turn), and measures every event,
// until its stdin closes; then it writes a WatchSummary as JSON to stdout.
func WatchMain(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench sale watch", flag.ContinueOnError)
	url := fs.String("url", "", "the sale stream's URL")
	cookies := fs.String("cookies", "", "file of session cookies")
	conns := fs.Int("conns", 100, "streams to hold")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data, err := os.ReadFile(*cookies)
	if err != nil {
		return err
	}
	jar := strings.Fields(string(data))
	if *url == "" || len(jar) == 0 {
		return errors.New("bench sale watch: --url and --cookies are required")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &watcher{url: *url, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conns, DisableCompression: true}}}
	w.sum.Heads, w.sum.Starts = make([]int64, *conns), make([]int64, *conns)
	var wg sync.WaitGroup
	for i := range *conns {
		wg.Go(func() { w.hold(ctx, i, jar[i%len(jar)]) })
		if i%50 == 49 {
			time.Sleep(20 * time.Millisecond) // a connect storm, but not a SYN flood
		}
	}
	_, _ = io.Copy(io.Discard, stdin)
	cancel()
	wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sum.Conns = *conns
	for i := range w.sum.Heads {
		if w.sum.Starts[i] > 0 && w.sum.Heads[i] > w.sum.Starts[i] {
			w.sum.Expected += uint64(w.sum.Heads[i] - w.sum.Starts[i])
		}
	}
	return json.NewEncoder(stdout).Encode(w.sum)
}

type watcher struct {
	url    string
	client *http.Client
	mu     sync.Mutex
	sum    WatchSummary
}

// hold keeps connection i open, resuming with Last-Event-ID after a drop.
func (w *watcher) hold(ctx context.Context, i int, cookie string) {
	last := ""
	var head, start int64
	began := time.Now() // the snapshot time counts retries after a refusal
	for ctx.Err() == nil {
		lastID, h, s, err := w.stream(ctx, i, cookie, last, began, start > 0, head)
		if h > 0 {
			head = h
		}
		if s > 0 && start == 0 {
			start = s
		}
		if lastID != "" {
			last = lastID
		}
		w.mu.Lock()
		w.sum.Heads[i], w.sum.Starts[i] = head, start
		if ctx.Err() == nil {
			w.sum.Reconnects++
			if err != nil && len(w.sum.Errors) < 10 {
				w.sum.Errors = append(w.sum.Errors, err.Error())
			}
		}
		if start == 0 && ctx.Err() != nil {
			w.sum.Failed++
		}
		w.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stream reads one connection until it ends; it returns the last id, the
// last and first sale positions seen. began is when the stream first tried
// to connect; had, whether it has had its snapshot.
func (w *watcher) stream(ctx context.Context, i int, cookie, lastID string, began time.Time, had bool, head int64) (string, int64, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
	if err != nil {
		return "", 0, 0, err
	}
	req.Header.Set("Cookie", cookie)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return "", 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		return "", 0, 0, fmt.Errorf("status %d: %s", resp.StatusCode, gist(body))
	}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var id, typ string
	var data []byte
	var start int64
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long data line (a sale snapshot): gather the rest.
			buf := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if err != nil {
			return lastID, head, start, err
		}
		at := time.Now()
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if typ != "" && len(data) > 0 {
				seq, snap := w.event(i, typ, data, at, began, head, !had && start == 0)
				if snap && start == 0 {
					start = seq
				}
				if seq > head {
					head = seq
				}
				if id != "" {
					lastID = id
				}
			}
			id, typ, data = "", "", data[:0]
		case bytes.HasPrefix(line, []byte("id: ")):
			id = string(line[4:])
		case bytes.HasPrefix(line, []byte("event: ")):
			typ = string(line[7:])
		case bytes.HasPrefix(line, []byte("data: ")):
			data = append(data, line[6:]...)
		}
	}
}

// event measures one event; it returns its sale position and whether it
// is the snapshot.
func (w *watcher) event(i int, typ string, data []byte, at, began time.Time, head int64, firstSnap bool) (int64, bool) {
	seq, _ := jsonInt(data, `"sale_seq":`)
	w.mu.Lock()
	defer w.mu.Unlock()
	if typ == "sale_snapshot" {
		if firstSnap {
			w.sum.Snapshots.Add(at.Sub(began))
		}
		return seq, true
	}
	if seq == 0 {
		return 0, false
	}
	switch {
	case head > 0 && seq <= head:
		w.sum.Duplicates++
		return seq, false
	case head > 0 && seq > head+1:
		w.sum.Gaps += uint64(seq - head - 1)
	}
	w.sum.Received++
	if c, ok := jsonTime(data, `"committed_at":"`); ok {
		w.sum.Delivery.Add(at.Sub(c))
	}
	return seq, false
}

// jsonInt reads the integer after key in a JSON object, without decoding
// the whole event (a snapshot is 200 KB): the watchers share two cores
// with the server they measure.
func jsonInt(b []byte, key string) (int64, bool) {
	i := bytes.LastIndex(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	j := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(b[:j]), 10, 64)
	return n, err == nil
}

// jsonTime reads the RFC 3339 time after key (which ends with the quote).
func jsonTime(b []byte, key string) (time.Time, bool) {
	i := bytes.LastIndex(b, []byte(key))
	if i < 0 {
		return time.Time{}, false
	}
	b = b[i+len(key):]
	j := bytes.IndexByte(b, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b[:j]))
	return t, err == nil
}

// openOnce opens the sale stream at url alone and returns the time until
// its sale_snapshot frame has been read whole: what one bidder opening the
// catalogue waits for.
func openOnce(ctx context.Context, client *http.Client, url, cookie string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Cookie", cookie)
	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	snapshot := false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return 0, err
		}
		switch {
		case bytes.Equal(line, []byte("event: sale_snapshot\n")):
			snapshot = true
		case snapshot && len(line) == 1 && line[0] == '\n':
			return time.Since(began), nil // the blank line that ends the frame
		}
	}
}

// gist is what a refusal's body says, in short: an HTML page's title, or
// the start of anything else.
func gist(body []byte) string {
	if i := bytes.Index(body, []byte("<title>")); i >= 0 {
		t := body[i+len("<title>"):]
		if j := bytes.Index(t, []byte("</title>")); j >= 0 {
			return string(t[:j])
		}
	}
	return truncate(string(bytes.TrimSpace(body)), 120)
}
