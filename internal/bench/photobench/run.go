// Package photobench measures photos (gavel bench photos): the time to
// process a 12 MP JPEG into its three sizes, thumbnail requests per second
// from one node's cache, and the node's memory under 50 simultaneous 12 MP
// uploads. The node runs as its own process, and the clients in another at
// nice 19, so the figures are the node's own; each comes with a baseline
// measured in the same run.
package photobench

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
	"github.com/gavel-auctions/gavel/media"
)

// Targets the run checks its figures against.
const (
	// TargetProcess is the bound on processing a 12 MP JPEG.
	TargetProcess = 1500 * time.Millisecond
	// TargetThumbsPerSecond is the floor for thumbnails from one node.
	TargetThumbsPerSecond = 2000
	// TargetUploadRSS is the stated ceiling on the node's resident memory
	// while 50 12 MP uploads arrive at once: the bodies fasthttp holds
	// (50 × ~4.5 MB), the decode budget (media.DefaultDecodeBudget, 256
	// MiB), the idle node and the garbage collector's headroom.
	TargetUploadRSS = 1 << 30
)

// Options size a run. Zero values take the defaults beside them.
type Options struct {
	Exe         string        // the gavel binary; it serves and runs the clients
	DatabaseURL string        // the node's database; empty: SQLite
	Runs        int           // timed runs of the 12 MP processing; default 5
	Conns       int           // thumbnail client connections; default 32
	Duration    time.Duration // each request-rate phase; default 10s
	Uploads     int           // simultaneous uploads; default 50
	ClientNice  int           // nice value of the client processes; default 19
	Log         *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Runs <= 0 {
		o.Runs = 5
	}
	if o.Conns <= 0 {
		o.Conns = 32
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Uploads <= 0 {
		o.Uploads = 50
	}
	if o.ClientNice < 0 {
		o.ClientNice = 0
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Run measures and writes a markdown report to out. It returns an error if
// a phase could not run; missed targets are reported, not errors.
func Run(ctx context.Context, o Options, out io.Writer) error {
	o = o.withDefaults()
	host, _ := os.Hostname()
	fmt.Fprintf(out, "## gavel bench photos\n\nhost %s, %d CPUs (GOMAXPROCS %d), %s, load average at start: %s\n\n",
		host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), benchkit.LoadAvg())

	o.Log.Info("drawing a 12 MP test photo")
	photo := Photo(4000, 3000, 1)
	if err := processPhase(o, photo, out); err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "gavel-bench-photos-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := startServer(ctx, o.Exe, dir, o.DatabaseURL)
	if err != nil {
		return err
	}
	defer srv.stop()
	api := apiClient{base: srv.url, http: &http.Client{Timeout: 2 * time.Minute}}
	db := "SQLite"
	if o.DatabaseURL != "" {
		db = "PostgreSQL"
	}
	fmt.Fprintf(out, "The node: `gavel serve` in its own process (%s, embedded NATS); clients in another process at nice %d.\n\n", db, o.ClientNice)

	if err := thumbPhase(ctx, o, srv, api, photo, out); err != nil {
		return err
	}
	if err := uploadPhase(ctx, o, srv, api, photo, dir, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nload average at the end: %s\n", benchkit.LoadAvg())
	return nil
}

// processPhase times media.Process on the 12 MP photo against decoding it
// alone (the floor any pipeline pays). Besides the wall-clock time it
// reports the CPU time the process spent, which a shared machine inflates
// far less: on an idle core the two are equal.
func processPhase(o Options, photo []byte, out io.Writer) error {
	o.Log.Info("timing the processing", "runs", o.Runs)
	var decode, process, decodeCPU, processCPU []time.Duration
	var p media.Processed
	for range o.Runs {
		runtime.GC()
		t0, c0 := time.Now(), cpuTime()
		if _, err := jpeg.Decode(bytes.NewReader(photo)); err != nil {
			return err
		}
		decode, decodeCPU = append(decode, time.Since(t0)), append(decodeCPU, cpuTime()-c0)
		runtime.GC()
		t0, c0 = time.Now(), cpuTime()
		var err error
		if p, err = media.Process(photo); err != nil {
			return err
		}
		process, processCPU = append(process, time.Since(t0)), append(processCPU, cpuTime()-c0)
	}
	med := median(process)
	fmt.Fprintf(out, "### Processing a 12 MP JPEG (4000 × 3000, %.1f MB) into three sizes, in process, %d runs\n\n", float64(len(photo))/(1<<20), o.Runs)
	fmt.Fprintf(out, "| step | median | min | max | CPU time, median |\n|---|---|---|---|---|\n")
	fmt.Fprintf(out, "| baseline: decode only (image/jpeg) | %s | %s | %s | %s |\n", ms(median(decode)), ms(slices.Min(decode)), ms(slices.Max(decode)), ms(median(decodeCPU)))
	fmt.Fprintf(out, "| check, decode, orient, resize, encode 3 sizes | %s | %s | %s | %s |\n\n", ms(med), ms(slices.Min(process)), ms(slices.Max(process)), ms(median(processCPU)))
	fmt.Fprintf(out, "Sizes: thumb %s, medium %s, large %s. Target ≤ %s (median wall-clock time): **%s**.\n\n",
		sizeOf(p.Variants[media.Thumb]), sizeOf(p.Variants[media.Medium]), sizeOf(p.Variants[media.Large]), ms(TargetProcess), verdict(med <= TargetProcess))
	return nil
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// thumbPhase measures thumbnails per second from the node's cache, with
// /healthz (the same stack with no work) as the baseline.
func thumbPhase(ctx context.Context, o Options, srv *server, api apiClient, photo []byte, out io.Writer) error {
	auction, cookie, err := api.seller(0)
	if err != nil {
		return err
	}
	var created struct {
		URLs struct {
			Thumb string `json:"thumb"`
		} `json:"urls"`
	}
	body, ctype := multipartPhoto(photo)
	if _, err := api.call("POST", fmt.Sprintf("/api/v1/auctions/%d/photos", auction), cookie, nil, &created, body, ctype); err != nil {
		return err
	}
	thumb := srv.url + created.URLs.Thumb
	fmt.Fprintf(out, "### Thumbnail requests, %d keep-alive connections, %s each\n\n", o.Conns, o.Duration)
	fmt.Fprintf(out, "| URL | requests/s | p50 | p99 | errors |\n|---|---|---|---|---|\n")
	var thumbs Result
	for _, u := range []struct{ name, url string }{{"baseline: /healthz", srv.url + "/healthz"}, {"a thumbnail, /media/<sha256>.jpg", thumb}} {
		o.Log.Info("GET load", "url", u.url)
		r, err := runClient(ctx, o.Exe, o.ClientNice, "--client", "get", "--url", u.url,
			"--conns", fmt.Sprint(o.Conns), "--duration", o.Duration.String())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "| %s | %.0f | %.2f ms | %.2f ms | %d%s |\n", u.name, r.PerSecond, r.P50, r.P99, r.Errors, firstErr(r))
		thumbs = r
	}
	fmt.Fprintf(out, "\nTarget ≥ %d thumbnails/s: **%s**.\n\n", TargetThumbsPerSecond, verdict(thumbs.PerSecond >= TargetThumbsPerSecond && thumbs.Errors == 0))
	return nil
}

// uploadPhase sends o.Uploads uploads of the 12 MP photo at once, spread
// over sellers so no lot fills up and no one hits the upload rate limit,
// and samples the node's resident memory throughout.
func uploadPhase(ctx context.Context, o Options, srv *server, api apiClient, photo []byte, dir string, out io.Writer) error {
	const perSeller = 10 // under the 12-photo cap and the 30-a-minute limit
	var targets []string
	for i := 0; i*perSeller < o.Uploads; i++ {
		auction, cookie, err := api.seller(i + 1)
		if err != nil {
			return err
		}
		targets = append(targets, fmt.Sprintf("%d=%s", auction, cookie))
	}
	file := filepath.Join(dir, "photo.jpg")
	if err := os.WriteFile(file, photo, 0o600); err != nil {
		return err
	}
	idle, _, err := srv.memory()
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		peak    int64
		stop    = make(chan struct{})
		sampled = make(chan struct{})
	)
	go func() {
		defer close(sampled)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _, err := srv.memory(); err == nil {
				mu.Lock()
				peak = max(peak, rss)
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	o.Log.Info("simultaneous uploads", "n", o.Uploads)
	r, err := runClient(ctx, o.Exe, o.ClientNice, "--client", "upload", "--url", srv.url, "--file", file,
		"--targets", strings.Join(targets, ","), "--n", fmt.Sprint(o.Uploads))
	close(stop)
	<-sampled
	if err != nil {
		return err
	}
	_, hwm, _ := srv.memory()
	fmt.Fprintf(out, "### %d simultaneous uploads of the 12 MP JPEG (%.1f MB each)\n\n", o.Uploads, float64(len(photo))/(1<<20))
	fmt.Fprintf(out, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(out, "| baseline: node RSS before the uploads | %s |\n", mib(idle))
	fmt.Fprintf(out, "| node RSS, peak while they ran (sampled every 20 ms) | %s |\n", mib(peak))
	fmt.Fprintf(out, "| node VmHWM (peak since start) after them | %s |\n", mib(hwm))
	fmt.Fprintf(out, "| answers | %s |\n", statuses(r.Statuses))
	fmt.Fprintf(out, "| all done in | %.1f s (upload latency p50 %.0f ms, p99 %.0f ms) |\n\n", r.Seconds, r.P50, r.P99)
	fmt.Fprintf(out, "Target: peak RSS under %s: **%s**.\n", mib(TargetUploadRSS), verdict(max(peak, hwm) < TargetUploadRSS))
	if r.Errors > 0 {
		fmt.Fprintf(out, "\nFirst refusal: %s\n", r.FirstErr)
	}
	return nil
}

func multipartPhoto(photo []byte) ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, _ := w.CreateFormFile("photo", "photo.jpg")
	part.Write(photo)
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

func sizeOf(v media.Variant) string {
	return fmt.Sprintf("%d × %d (%.0f KB)", v.Width, v.Height, float64(len(v.Data))/1024)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func firstErr(r Result) string {
	if r.FirstErr == "" {
		return ""
	}
	return " (" + r.FirstErr + ")"
}

func statuses(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × %s", m[k], k))
	}
	return strings.Join(parts, ", ")
}
