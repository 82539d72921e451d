package ssebench

// Child processes of the SSE benchmark: realtime nodes, clients, floors.

import (
	"bufio"
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
	"sync"
	"syscall"
	"time"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
)

// sseProc is a child process of the benchmark: a realtime node, a client
// or a floor server. Clients and floors answer commands on stdio.
type sseProc struct {
	name string
	cmd  *exec.Cmd
	pid  int
	addr string // where a node or floor listens
	// metricsAddr is where a node serves /metrics (GAVEL_METRICS_ADDR).
	metricsAddr string
	logPath     string
	in          *os.File
	replies     chan sseReply
	done        chan struct{}
	mu          sync.Mutex // one command at a time
}

// start runs this binary with args in its own process group, at the given
// nice value. rpc gives it a command pipe on stdin and a reply pipe on
// stdout; otherwise its output goes to a log file in the temporary
// directory.
func (b *sseBench) start(ctx context.Context, name string, args, env []string, rpc bool, nice int) (*sseProc, error) {
	cmd := benchkit.Command(ctx, nice, b.exe, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &sseProc{name: name, cmd: cmd, done: make(chan struct{}), logPath: filepath.Join(b.tmp, name+".log")}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	var out, childIn, childOut *os.File
	if rpc {
		// os.Pipe rather than StdoutPipe: Wait must not close the reading
		// end while replies are being read.
		if childIn, p.in, err = os.Pipe(); err != nil {
			return nil, err
		}
		if out, childOut, err = os.Pipe(); err != nil {
			return nil, err
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = childIn, childOut, b.stderr
	} else {
		cmd.Stdout, cmd.Stderr = logFile, logFile
	}
	err = cmd.Start()
	if childIn != nil {
		childIn.Close()
		childOut.Close()
	}
	if err != nil {
		return nil, err
	}
	p.pid = cmd.Process.Pid
	go func() { _ = cmd.Wait(); close(p.done) }()
	if rpc {
		p.replies = make(chan sseReply, 1)
		go func() {
			defer out.Close()
			defer close(p.replies)
			dec := json.NewDecoder(bufio.NewReader(out))
			for {
				var r sseReply
				if dec.Decode(&r) != nil {
					return
				}
				p.replies <- r
			}
		}()
	}
	return p, nil
}

// call sends one command and waits for its reply. A timeout is fatal to
// the run: a late reply would answer the next command.
func (p *sseProc) call(ctx context.Context, cmd sseCmd, timeout time.Duration) (sseReply, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := json.NewEncoder(p.in).Encode(cmd); err != nil {
		return sseReply{}, fmt.Errorf("%s: %s: %w", p.name, cmd.Op, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r, ok := <-p.replies:
		switch {
		case !ok:
			return r, fmt.Errorf("%s exited during %s", p.name, cmd.Op)
		case r.Err != "":
			return r, fmt.Errorf("%s: %s", p.name, r.Err)
		}
		return r, nil
	case <-t.C:
		return sseReply{}, fmt.Errorf("%s: no answer to %s within %s", p.name, cmd.Op, timeout)
	case <-ctx.Done():
		return sseReply{}, ctx.Err()
	}
}

// callAll sends every process its command at once and gathers the replies.
func callAll(ctx context.Context, ps []*sseProc, mk func(i int) sseCmd, timeout time.Duration) ([]sseReply, error) {
	out := make([]sseReply, len(ps))
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { out[i], errs[i] = p.call(ctx, mk(i), timeout) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// stop ends the process group: stdin closes first (clients and floors exit
// on it), then sig, then SIGKILL after wait.
func (p *sseProc) stop(sig syscall.Signal, wait time.Duration) {
	if p.in != nil {
		_ = p.in.Close()
		select {
		case <-p.done:
			return
		case <-time.After(2 * time.Second):
		}
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.pid, sig)
	select {
	case <-p.done:
		return
	case <-time.After(wait):
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startNodes starts the realtime nodes with heartbeat hb and waits until
// each is ready.
func (b *sseBench) startNodes(ctx context.Context, hb time.Duration) error {
	b.nodes = nil
	for i := range b.o.nodes {
		addr, err := freePort()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("rt%d", i+1)
		metricsAddr, err := freePort()
		if err != nil {
			return err
		}
		// Every client is on loopback, so no per-IP cap; the node cap sits
		// just under the file limit (--conns allows 19,500 a node).
		env := []string{"GAVEL_ADDR=" + addr, "GAVEL_METRICS_ADDR=" + metricsAddr, "GAVEL_MAX_CONNS_PER_IP=0", "GAVEL_MAX_CONNS=19800",
			"GAVEL_NODE=" + name, "DATABASE_URL=" + b.dbURL, "NATS_URL=" + b.natsURL,
			"GAVEL_HEARTBEAT=" + hb.String(), "GAVEL_DEMO=off", "GAVEL_DATA_DIR=" + filepath.Join(b.tmp, name), "GAVEL_LOG_LEVEL=warn"}
		role := "realtime"
		if b.o.oneBinary {
			// The one-binary default: SQLite and NATS in the node's own data
			// dir, every role in one process.
			role, env = "all", append(env, "DATABASE_URL=", "NATS_URL=")
		}
		if b.o.profile != "" {
			env = append(env, "GAVEL_PPROF=on")
		}
		p, err := b.start(ctx, fmt.Sprintf("%s-hb%s", name, hb), []string{"serve", "--role", role}, env, false, 0)
		if err != nil {
			return err
		}
		p.addr, p.metricsAddr = addr, metricsAddr
		b.nodes = append(b.nodes, p)
	}
	for _, p := range b.nodes {
		if err := waitReady(ctx, p, "http://"+p.addr+"/readyz"); err != nil {
			return err
		}
	}
	return nil
}

// startFloors starts one floor server per realtime node.
func (b *sseBench) startFloors(ctx context.Context) error {
	for i := range b.o.nodes {
		addr, err := freePort()
		if err != nil {
			return err
		}
		name := fmt.Sprintf("floor%d", i+1)
		p, err := b.start(ctx, name, []string{"bench", "sse", "floor", "--addr", addr, "--max-life", b.o.maxRun.String()}, nil, true, 0)
		if err != nil {
			return err
		}
		p.addr = addr
		b.floors = append(b.floors, p)
	}
	_, err := callAll(ctx, b.floors, func(int) sseCmd { return sseCmd{Op: "status"} }, 30*time.Second)
	return err
}

func waitReady(ctx context.Context, p *sseProc, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited at start; see %s", p.name, p.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := (&http.Client{Timeout: time.Second}).Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("%s not ready after 60s; see %s", p.name, p.logPath)
}

func stopAll(ps []*sseProc) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() { p.stop(syscall.SIGTERM, 25*time.Second) })
	}
	wg.Wait()
}

// nodeMetrics reads a few of a realtime node's Prometheus series.
func nodeMetrics(addr string) map[string]float64 { return scrape(addr, "gavel_realtime_") }

// scrape reads a node's Prometheus series whose names start with prefix.
func scrape(addr, prefix string) map[string]float64 {
	out := make(map[string]float64)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] += v
		}
	}
	return out
}
