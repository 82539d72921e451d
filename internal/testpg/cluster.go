package testpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// InstallHint tells a person how to give the tests a PostgreSQL.
const InstallHint = "apt-get install postgresql-15, or set " + EnvURL + "=postgres://user:pass@host:5432/postgres (a role that may CREATE DATABASE)"

// ErrNoPostgres means neither PostgreSQL binaries nor TEST_DATABASE_URL
// were found.
var ErrNoPostgres = errors.New("no PostgreSQL server binaries found; " + InstallHint)

// preferredBinDir is Debian bookworm's PostgreSQL 15, the version CI
// installs.
const preferredBinDir = "/usr/lib/postgresql/15/bin"

// FindBinDir returns the directory holding initdb and pg_ctl: Debian's
// PostgreSQL 15 if present, else the newest /usr/lib/postgresql/*/bin, else
// wherever pg_ctl is on PATH. It returns ErrNoPostgres when there is none.
func FindBinDir() (string, error) {
	if hasBinaries(preferredBinDir) {
		return preferredBinDir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, d := range dirs {
		if hasBinaries(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil && hasBinaries(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", ErrNoPostgres
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// BinDir holds initdb and pg_ctl; empty means FindBinDir.
	BinDir string
	// Durable keeps fsync, full_page_writes and synchronous_commit on, for
	// benchmarks whose numbers must include the cost of a durable commit.
	// Otherwise they are off: tests check correctness, not crash safety,
	// and run several times faster.
	Durable bool
	// Statements preloads pg_stat_statements, so a benchmark can read the
	// calls, rows and time of each statement (CREATE EXTENSION
	// pg_stat_statements, then SELECT from the view).
	Statements bool
}

// Cluster is a throwaway PostgreSQL server in a temporary directory,
// listening on 127.0.0.1 with trust authentication.
type Cluster struct {
	dir        string
	bin        string
	port       int
	asPostgres bool      // running as root: every server command runs as the postgres user
	durable    bool      // started with fsync on; Start keeps it so
	statements bool      // started with pg_stat_statements preloaded
	watchdog   *exec.Cmd // stops the server if this process dies without Stop
}

// StartCluster creates and starts a cluster. The caller must Stop it; if
// the process dies first, a watchdog process stops it and removes its files
// within about a second.
func StartCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	bin := o.BinDir
	if bin == "" {
		var err error
		if bin, err = FindBinDir(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "gavel-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin, asPostgres: os.Geteuid() == 0, durable: o.Durable, statements: o.Statements}
	if c.asPostgres {
		// PostgreSQL refuses to run as root, and its files must belong to
		// the user it runs as.
		if err := chownToPostgres(dir); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := c.initdb(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// The watchdog starts before the server, so no window exists in which
	// a crash of this process would leave a server running.
	if err := c.startWatchdog(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// A free port can be taken by someone else between our probe and the
	// server's bind, so try a few.
	var startErr error
	for range 3 {
		if c.port, err = freePort(); err != nil {
			startErr = err
			continue
		}
		if startErr = c.start(ctx, o.Durable); startErr == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	_ = c.Stop()
	return nil, startErr
}

func chownToPostgres(dir string) error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("chown %s to postgres: %w", dir, err)
	}
	return nil
}

// command runs a PostgreSQL binary, as the postgres user when we are root.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.asPostgres {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	// The postgres user may not be able to enter our working directory.
	cmd.Dir = c.dir
	return cmd
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) logFile() string { return filepath.Join(c.dir, "server.log") }

func (c *Cluster) initdb(ctx context.Context) error {
	cmd := c.command(ctx, "initdb",
		"-D", c.dataDir(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

func (c *Cluster) start(ctx context.Context, durable bool) error {
	opts := []string{
		"-p", strconv.Itoa(c.port),
		"-k", "'" + c.dir + "'",
		"-c", "listen_addresses=127.0.0.1",
		// Packages test in parallel, each test with its own pool.
		"-c", "max_connections=300",
	}
	if c.statements {
		opts = append(opts, "-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=all")
	}
	if !durable {
		opts = append(opts, "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	}
	cmd := c.command(ctx, "pg_ctl", "-D", c.dataDir(), "-l", c.logFile(), "-w", "-t", "60",
		"-o", strings.Join(opts, " "), "start")
	// Its own process group: a Ctrl-C meant for the tests must not stop the
	// server under them; Stop does that.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(c.logFile())
		return fmt.Errorf("pg_ctl start on port %d: %w\n%s\n%s", c.port, err, out.Bytes(), lastLines(log, 20))
	}
	return nil
}

func (c *Cluster) startWatchdog() error {
	const script = `pid=$1 dir=$2 pgctl=$3 asroot=$4
while kill -0 "$pid" 2>/dev/null; do sleep 1; done
if [ "$asroot" = 1 ]; then
	runuser -u postgres -- "$pgctl" -D "$dir/data" -m immediate -w stop
else
	"$pgctl" -D "$dir/data" -m immediate -w stop
fi
rm -rf "$dir"`
	asRoot := "0"
	if c.asPostgres {
		asRoot = "1"
	}
	cmd := exec.Command("sh", "-c", script, "pgwatchdog",
		strconv.Itoa(os.Getpid()), c.dir, filepath.Join(c.bin, "pg_ctl"), asRoot)
	// Its own session, so signals for our process group spare it, and no
	// inherited stdio, so `go test` does not wait for it to exit.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = c.dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start cluster watchdog: %w", err)
	}
	c.watchdog = cmd
	return nil
}

// URL is a superuser DSN for the cluster's postgres database.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Port is the TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// Stop stops the server at once (its data is thrown away, so there is no
// reason to wait for a checkpoint) and removes its directory.
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	if _, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); err == nil {
		out, err := c.command(ctx, "pg_ctl", "-D", c.dataDir(), "-m", "immediate", "-w", "stop").CombinedOutput()
		if err != nil {
			errs = append(errs, fmt.Errorf("pg_ctl stop: %w\n%s", err, out))
		}
	}
	if c.watchdog != nil {
		_ = c.watchdog.Process.Kill()
		_ = c.watchdog.Wait()
		c.watchdog = nil
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func freePort() (int, error) {
	for range 10 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		// 5432 may belong to a real server later even if it is free now.
		if port != 5432 {
			return port, nil
		}
	}
	return 0, errors.New("no free port")
}

func lastLines(b []byte, n int) []byte {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, []byte("\n"))
}
