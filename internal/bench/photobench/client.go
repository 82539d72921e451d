package photobench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The client runs as its own process (at nice 19), so that the load it
// makes does not take the measured server's CPU: `gavel bench photos
// --client get|upload …` runs ClientMain and prints one JSON Result.

// Result is what a client process reports.
type Result struct {
	Requests  int64          `json:"requests"`
	Errors    int64          `json:"errors"`
	Seconds   float64        `json:"seconds"`
	PerSecond float64        `json:"per_second"`
	P50       float64        `json:"p50_ms"`
	P99       float64        `json:"p99_ms"`
	Max       float64        `json:"max_ms"`
	Statuses  map[string]int `json:"statuses"`
	FirstErr  string         `json:"first_error,omitempty"`
}

// ClientMain runs a client from its command line and writes its Result as
// JSON to out.
func ClientMain(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench photos client", flag.ContinueOnError)
	mode := fs.String("client", "", "get or upload")
	url := fs.String("url", "", "URL to GET, or the base URL to upload to")
	conns := fs.Int("conns", 32, "get: concurrent keep-alive connections")
	dur := fs.Duration("duration", 10*time.Second, "get: how long to run")
	file := fs.String("file", "", "upload: the photo to upload")
	targets := fs.String("targets", "", "upload: comma-separated auction_id=session_cookie pairs")
	n := fs.Int("n", 50, "upload: simultaneous uploads")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var (
		r   Result
		err error
	)
	switch *mode {
	case "get":
		r, err = getLoad(ctx, *url, *conns, *dur)
	case "upload":
		r, err = uploadBurst(ctx, *url, *file, *targets, *n)
	default:
		return fmt.Errorf("--client must be get or upload, not %q", *mode)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(r)
}

// latencies collects per-request times for percentiles.
type latencies struct {
	mu sync.Mutex
	ms []float64
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.ms = append(l.ms, float64(d.Microseconds())/1000)
	l.mu.Unlock()
}

func (l *latencies) fill(r *Result) {
	slices.Sort(l.ms)
	if len(l.ms) == 0 {
		return
	}
	at := func(q float64) float64 { return l.ms[min(len(l.ms)-1, int(q*float64(len(l.ms))))] }
	r.P50, r.P99, r.Max = at(0.50), at(0.99), l.ms[len(l.ms)-1]
}

// getLoad GETs url over conns keep-alive connections for d, checking each
// answer is a 200 with a body.
func getLoad(ctx context.Context, url string, conns int, d time.Duration) (Result, error) {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		r        Result
		requests atomic.Int64
		errs     atomic.Int64
		firstErr atomic.Value
		lat      latencies
		wg       sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				res, err := client.Get(url)
				if err == nil {
					var n int64
					for {
						k, rerr := res.Body.Read(buf)
						n += int64(k)
						if rerr != nil {
							break
						}
					}
					res.Body.Close()
					if res.StatusCode != http.StatusOK || n == 0 {
						err = fmt.Errorf("status %d, %d bytes", res.StatusCode, n)
					}
				}
				lat.add(time.Since(t0))
				requests.Add(1)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	r.Seconds = time.Since(start).Seconds()
	r.Requests, r.Errors = requests.Load(), errs.Load()
	r.PerSecond = float64(r.Requests-r.Errors) / r.Seconds
	if s, ok := firstErr.Load().(string); ok {
		r.FirstErr = s
	}
	lat.fill(&r)
	return r, nil
}

// uploadBurst starts n uploads of file at once, spread over the targets
// (auction id and its seller's session cookie), and waits for all.
func uploadBurst(ctx context.Context, base, file, targets string, n int) (Result, error) {
	photo, err := os.ReadFile(file)
	if err != nil {
		return Result{}, err
	}
	type target struct{ auction, cookie string }
	var ts []target
	for _, pair := range strings.Split(targets, ",") {
		a, c, ok := strings.Cut(pair, "=")
		if !ok {
			return Result{}, errors.New("--targets must be auction_id=cookie pairs")
		}
		ts = append(ts, target{a, c})
	}
	// Each upload's body is built before the start, so all of them hit
	// the server together.
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("photo", "photo.jpg")
	part.Write(photo)
	w.Close()
	payload, ctype := body.Bytes(), w.FormDataContentType()

	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Minute}
	var (
		r     = Result{Statuses: map[string]int{}}
		mu    sync.Mutex
		lat   latencies
		wg    sync.WaitGroup
		ready = make(chan struct{})
	)
	for i := range n {
		t := ts[i%len(ts)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/auctions/"+t.auction+"/photos", bytes.NewReader(payload))
			req.Header.Set("Content-Type", ctype)
			req.Header.Set("Cookie", "gavel_session="+t.cookie)
			<-ready
			t0 := time.Now()
			res, err := client.Do(req)
			status := "error"
			if err != nil {
				// The kind of transport error, without the URL: "error
				// (connection reset by peer)" reads better than a count.
				msg := err.Error()
				if i := strings.LastIndex(msg, ": "); i >= 0 {
					msg = msg[i+2:]
				}
				status = "error (" + msg + ")"
			}
			if err == nil {
				msg, _ := io.ReadAll(res.Body)
				res.Body.Close()
				status = fmt.Sprint(res.StatusCode)
				if res.StatusCode != http.StatusCreated {
					err = fmt.Errorf("status %d: %s", res.StatusCode, bytes.TrimSpace(msg))
				}
			}
			lat.add(time.Since(t0))
			mu.Lock()
			defer mu.Unlock()
			r.Statuses[status]++
			r.Requests++
			if err != nil {
				r.Errors++
				if r.FirstErr == "" {
					r.FirstErr = err.Error()
				}
			}
		}()
	}
	start := time.Now()
	close(ready)
	wg.Wait()
	r.Seconds = time.Since(start).Seconds()
	r.PerSecond = float64(r.Requests-r.Errors) / r.Seconds
	lat.fill(&r)
	return r, nil
}
