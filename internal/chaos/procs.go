package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Process is one server process of the cluster (a NATS server, a Gavel
// node) that faults can kill, stop and restart. Its output goes to a log
// file that survives restarts.
type Process struct {
	Name string
	path string
	args []string
	env  []string
	log  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	paused bool
}

func newProcess(name, path string, args []string, env map[string]string, logFile string) *Process {
	var e []string
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e = append(e, k+"="+env[k])
	}
	// PATH and HOME only: the node sees compose's environment, not ours.
	e = append(e, "PATH="+os.Getenv("PATH"), "HOME="+os.Getenv("HOME"))
	return &Process{Name: name, path: path, args: args, env: e, log: logFile}
}

// Start runs the process. It is its own process group, so a Ctrl-C meant
// for the suite reaches it only through the suite, and it dies with the
// suite (Pdeathsig) should the suite die first.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s is already running", p.Name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		close(exited)
	}()
	p.cmd, p.exited, p.paused = cmd, exited, false
	return nil
}

// PID returns the process id, 0 when not running.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// signal sends sig and, when wait is set, waits up to timeout for the
// process to exit, killing it after that.
func (p *Process) signal(sig syscall.Signal, wait bool, timeout time.Duration) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.Name, err)
	}
	if !wait {
		return nil
	}
	select {
	case <-exited:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-exited
	}
	p.mu.Lock()
	p.cmd, p.paused = nil, false
	p.mu.Unlock()
	return nil
}

// Kill ends the process with SIGKILL, as a crash would.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL, true, 10*time.Second) }

// Stop asks the process to shut down (SIGTERM) and waits up to timeout.
func (p *Process) Stop(timeout time.Duration) error {
	p.mu.Lock()
	if p.paused && p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
	}
	p.mu.Unlock()
	return p.signal(syscall.SIGTERM, true, timeout)
}

// Pause stops the process (SIGSTOP): its sockets stay open and nothing
// answers, as in a long GC pause or a VM stall.
func (p *Process) Pause() error {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
	return p.signal(syscall.SIGSTOP, false, 0)
}

// Resume continues a paused process.
func (p *Process) Resume() error {
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
	return p.signal(syscall.SIGCONT, false, 0)
}

// Exited reports whether the process ended by itself.
func (p *Process) Exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// waitHTTP polls url until it answers 200, the process exits, or ctx ends.
func waitHTTP(ctx context.Context, p *Process, url string) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		if res, err := hc.Get(url); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited while starting; see %s", p.Name, p.log)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w", nameOf(p), url, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func nameOf(p *Process) string {
	if p == nil {
		return "service"
	}
	return p.Name
}

// freePorts returns n ports to listen on: from base upwards, skipping busy
// ones, or any free ones when base is 0.
func freePorts(base, n int) ([]int, error) {
	var out []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	for port := base; len(out) < n; port++ {
		if base != 0 && port > base+1000 {
			return nil, fmt.Errorf("no %d free ports from %d", n, base)
		}
		addr := "127.0.0.1:0"
		if base != 0 {
			addr = fmt.Sprintf("127.0.0.1:%d", port)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		held = append(held, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
