package benchkit

import (
	"context"
	"os/exec"
	"reflect"
	"strconv"
	"syscall"
	"time"
)

// Command is exe run with args as a benchmark's child process (a client,
// a node, a watcher): at the given nice value, through nice(1) so that
// every thread it starts inherits it; in a process group of its own, which
// the end of ctx kills whole; and killed by Linux should the benchmark die
// without cleaning up (Pdeathsig). Pdeathsig exists only on Linux, so it is
// set by name to keep the package building elsewhere.
func Command(ctx context.Context, nice int, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, exe, args...)
	if nice != 0 {
		cmd = exec.CommandContext(ctx, "nice", append([]string{"-n", strconv.Itoa(nice), exe}, args...)...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if f := reflect.ValueOf(cmd.SysProcAttr).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.Set(reflect.ValueOf(syscall.SIGKILL))
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}
