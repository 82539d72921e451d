package hostile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Node is a gavel process under attack: bin/gavel serve, started by
// exec, on SQLite or PostgreSQL, with its metrics on a port of its own.
type Node struct {
	// URL is the site, e.g. http://127.0.0.1:41234.
	URL         string
	addr        string
	metricsAddr string
	cmd         *exec.Cmd
	dir         string
	logPath     string
	done        chan struct{}
	exitErr     error
}

// NodeOptions say how to start a Node.
type NodeOptions struct {
	// Gavel is the binary (bin/gavel).
	Gavel string
	// DatabaseURL is a PostgreSQL database; empty means SQLite.
	DatabaseURL string
	// Env adds settings (GAVEL_MAX_CONNS=…).
	Env []string
	// FileLimit, when above 0, starts the node under prlimit with this
	// open-file limit.
	FileLimit int
	// Admin is created with `gavel user create --admin` before serving.
	Admin Account
}

// Account is an email and password.
type Account struct {
	Email, Password, Name string
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// StartNode starts gavel and waits until it is ready.
func StartNode(ctx context.Context, o NodeOptions) (*Node, error) {
	dir, err := os.MkdirTemp("", "gavel-hostile-")
	if err != nil {
		return nil, err
	}
	n := &Node{dir: dir, logPath: filepath.Join(dir, "gavel.log"), done: make(chan struct{})}
	if n.addr, err = freeAddr(); err != nil {
		return nil, err
	}
	if n.metricsAddr, err = freeAddr(); err != nil {
		return nil, err
	}
	n.URL = "http://" + n.addr
	env := append(os.Environ(),
		"GAVEL_ADDR="+n.addr, "GAVEL_METRICS_ADDR="+n.metricsAddr, "GAVEL_DATA_DIR="+filepath.Join(dir, "data"),
		"GAVEL_DEMO=off", "GAVEL_NODE=hostile", "GAVEL_LOG_LEVEL=warn", "DATABASE_URL="+o.DatabaseURL, "NATS_URL=",
		"GAVEL_SMTP_URL=", "GAVEL_TRUSTED_PROXIES=")
	env = append(env, o.Env...)
	if o.Admin.Email != "" {
		out, err := runGavel(ctx, o.Gavel, env, "user", "create", "--email", o.Admin.Email, "--password", o.Admin.Password, "--name", o.Admin.Name, "--admin")
		if err != nil {
			return nil, fmt.Errorf("gavel user create: %w\n%s", err, out)
		}
	}
	args := []string{"serve"}
	name := o.Gavel
	if o.FileLimit > 0 {
		args = append([]string{fmt.Sprintf("--nofile=%d:%d", o.FileLimit, o.FileLimit), o.Gavel}, args...)
		name = "prlimit"
	}
	logf, err := os.Create(n.logPath)
	if err != nil {
		return nil, err
	}
	n.cmd = exec.Command(name, args...)
	n.cmd.Env = env
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	// Die with the suite: a node left behind would hold its ports.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() {
		n.exitErr = n.cmd.Wait()
		logf.Close()
		close(n.done)
	}()
	if err := n.waitReady(ctx, 90*time.Second); err != nil {
		n.Stop()
		return nil, err
	}
	return n, nil
}

func runGavel(ctx context.Context, gavel string, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gavel, args...)
	cmd.Env = env
	return cmd.CombinedOutput()
}

func (n *Node) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			return fmt.Errorf("gavel exited at start (%v):\n%s", n.exitErr, n.LogTail(40))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		// Ready, and past its start-up server: an ordinary read answers.
		if ok(hc, n.URL+"/readyz") && ok(hc, n.URL+"/api/v1/auctions") {
			return nil
		}
	}
	return fmt.Errorf("gavel not ready after %s:\n%s", limit, n.LogTail(40))
}

func ok(hc *http.Client, url string) bool {
	resp, err := hc.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Exited reports whether the process has ended, and how.
func (n *Node) Exited() (bool, error) {
	select {
	case <-n.done:
		return true, n.exitErr
	default:
		return false, nil
	}
}

// Stop ends the node (SIGTERM, then SIGKILL after 20 s) and removes its
// files.
func (n *Node) Stop() {
	if n.cmd != nil && n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(20 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.done
		}
	}
	_ = os.RemoveAll(n.dir)
}

// LogTail returns the last lines of the node's log.
func (n *Node) LogTail(lines int) string {
	b, _ := os.ReadFile(n.logPath)
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// Log returns the node's whole log.
func (n *Node) Log() string {
	b, _ := os.ReadFile(n.logPath)
	return string(b)
}

// Metrics reads the node's Prometheus series (name{labels} → value).
func (n *Node) Metrics() (map[string]float64, error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + n.metricsAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// Usage is what the node holds: goroutines, heap in use and resident
// memory.
type Usage struct {
	Goroutines int
	HeapInuse  float64 // bytes
	RSS        float64 // bytes
}

// Usage reads the node's goroutines and memory from its metrics.
func (n *Node) Usage() (Usage, error) {
	m, err := n.Metrics()
	if err != nil {
		return Usage{}, err
	}
	return Usage{Goroutines: int(m["go_goroutines"]), HeapInuse: m["go_memstats_heap_inuse_bytes"], RSS: m["process_resident_memory_bytes"]}, nil
}

func (u Usage) String() string {
	return fmt.Sprintf("%d goroutines, heap %.1f MiB, RSS %.1f MiB", u.Goroutines, u.HeapInuse/(1<<20), u.RSS/(1<<20))
}

// Routes runs `gavel routes` and returns the route table.
func Routes(ctx context.Context, gavel string) ([]Route, error) {
	// Stdout only: a log line on stderr (a port in use, say) is not JSON.
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, gavel, "routes")
	cmd.Env = append(os.Environ(), "GAVEL_LOG_LEVEL=error", "GAVEL_METRICS_ADDR=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("gavel routes: %w\n%s", err, stderr.Bytes())
	}
	var routes []Route
	if err := json.NewDecoder(bytes.NewReader(out)).Decode(&routes); err != nil {
		return nil, fmt.Errorf("gavel routes printed no JSON: %w", err)
	}
	if len(routes) == 0 {
		return nil, errors.New("gavel routes printed no routes")
	}
	return routes, nil
}

// Route is one line of `gavel routes`.
type Route struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	BodyLimit int    `json:"body_limit"`
}

func (r Route) String() string { return r.Method + " " + r.Path }
