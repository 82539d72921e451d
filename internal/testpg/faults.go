package testpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The fault controls below let tests and the fault suite (internal/chaos)
// do to a throwaway cluster what happens to real ones: a restart, a crash,
// a stall. They act on the server's processes and data directory only.

// DataDir is the cluster's data directory.
func (c *Cluster) DataDir() string { return c.dataDir() }

// PostmasterPID returns the server's main process id, from its pid file.
func (c *Cluster) PostmasterPID() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("read postmaster.pid: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("postmaster.pid: bad pid %q", line)
	}
	return pid, nil
}

// PIDs returns the postmaster and every process it started (backends,
// the checkpointer, the WAL writer…), read from /proc.
func (c *Cluster) PIDs() ([]int, error) {
	pm, err := c.PostmasterPID()
	if err != nil {
		return nil, err
	}
	pids := []int{pm}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pm {
			continue
		}
		if ppid, ok := parentOf(pid); ok && ppid == pm {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// parentOf reads a process's parent from /proc/PID/stat.
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may hold spaces; the fields
	// after the last ')' are state, ppid, ….
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// Pause stops every server process with SIGSTOP: connections stay open and
// the kernel keeps accepting new ones, but nothing answers, as with a VM
// stall. It returns the processes it stopped, for Resume.
func (c *Cluster) Pause() ([]int, error) {
	pids, err := c.PIDs()
	if err != nil {
		return nil, err
	}
	// The postmaster first, so it starts no process we would miss.
	return pids, signalAll(pids, syscall.SIGSTOP)
}

// Resume continues processes Pause stopped.
func (c *Cluster) Resume(pids []int) error {
	return signalAll(pids, syscall.SIGCONT)
}

func signalAll(pids []int, sig syscall.Signal) error {
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("signal %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// Kill ends the postmaster with SIGKILL, as a crash would, and waits for
// its processes to go (the backends notice their parent died). Start
// brings the server back with crash recovery.
func (c *Cluster) Kill(ctx context.Context) error {
	pids, err := c.PIDs()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill postmaster: %w", err)
	}
	for {
		alive := 0
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil && !zombie(pid) {
				alive++
			}
		}
		if alive == 0 {
			// A killed postmaster nobody has reaped yet (a zombie) still
			// answers kill(pid, 0), so the server would take its stale pid
			// file for a live server and refuse to start. Nothing runs any
			// more: the file is stale.
			// The same goes for the socket's lock file.
			sock := filepath.Join(c.dir, ".s.PGSQL."+strconv.Itoa(c.port))
			for _, f := range []string{filepath.Join(c.dataDir(), "postmaster.pid"), sock + ".lock", sock} {
				if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d server processes still running after SIGKILL: %w", alive, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

// StopServer stops the server with pg_ctl in mode (smart, fast or
// immediate), keeping its data for Start.
func (c *Cluster) StopServer(ctx context.Context, mode string) error {
	out, err := c.command(ctx, "pg_ctl", "-D", c.dataDir(), "-m", mode, "-w", "-t", "60", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %w\n%s", mode, err, out)
	}
	return nil
}

// Start starts a stopped or killed server again on the same port and
// waits until it accepts connections.
func (c *Cluster) Start(ctx context.Context) error {
	// After a SIGKILL the old postmaster.pid remains; pg_ctl and the
	// server check it is stale by its pid, so it can stay.
	return c.start(ctx, c.durable)
}

// Restart is `pg_ctl restart -m mode`: the server stops, ending every
// session, and starts again on the same port.
func (c *Cluster) Restart(ctx context.Context, mode string) error {
	if err := c.StopServer(ctx, mode); err != nil {
		return err
	}
	return c.Start(ctx)
}

// OwnCluster starts a cluster for tb alone (one it may stop, pause or
// kill, unlike the shared one), stopped when tb ends. Without PostgreSQL
// binaries it skips tb, or fails it in CI.
func OwnCluster(tb testing.TB, o ClusterOptions) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, o)
	if errors.Is(err, ErrNoPostgres) {
		missingPostgres(tb, inCI())
	}
	if err != nil {
		tb.Fatalf("testpg: start PostgreSQL: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("testpg: stop cluster: %v", err)
		}
	})
	return c
}
