// Command pgrun runs a command with a throwaway PostgreSQL cluster:
//
//	go run ./internal/testpg/pgrun [-durable] -- go test ./...
//
// It starts one cluster, passes its admin DSN to the command as
// TEST_DATABASE_URL, waits for the command, then stops and removes the
// cluster and exits with the command's status. Every test package then
// shares that one server instead of starting its own. If TEST_DATABASE_URL
// is already set, pgrun only runs the command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/gavel-auctions/gavel/internal/testpg"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("pgrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	durable := fs.Bool("durable", false, "keep fsync, full_page_writes and synchronous_commit on (for benchmarks)")
	statements := fs.Bool("statements", false, "preload pg_stat_statements (to read each statement's calls, rows and time)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pgrun [-durable] [-statements] -- command [args...]")
		fmt.Fprintln(stderr, "Runs command with "+testpg.EnvURL+" set to a throwaway PostgreSQL cluster.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cmdArgs := fs.Args()
	if len(cmdArgs) == 0 {
		fs.Usage()
		return 2
	}
	if getenv(testpg.EnvURL) != "" {
		return runChild(cmdArgs, nil, stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := testpg.StartCluster(ctx, testpg.ClusterOptions{Durable: *durable, Statements: *statements})
	cancel()
	if errors.Is(err, testpg.ErrNoPostgres) {
		fmt.Fprintln(stderr, "pgrun: no PostgreSQL server binaries found.")
		fmt.Fprintln(stderr, "pgrun: "+testpg.InstallHint)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "pgrun:", err)
		return 1
	}
	mode := "fsync off"
	if *durable {
		mode = "durable: fsync on"
	}
	fmt.Fprintf(stderr, "pgrun: PostgreSQL on 127.0.0.1:%d (%s)\n", c.Port(), mode)
	code := runChild(cmdArgs, []string{testpg.EnvURL + "=" + c.URL()}, stderr)
	if err := c.Stop(); err != nil {
		fmt.Fprintln(stderr, "pgrun: stop cluster:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// runChild runs args with the extra environment and returns its exit
// status, 128+signal if a signal ended it.
func runChild(args, env []string, stderr io.Writer) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)

	// The child shares our process group, so a Ctrl-C reaches it directly;
	// we only have to survive the signal to clean up after it, and pass on
	// a SIGTERM sent to us alone.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "pgrun:", err)
		return 127
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGTERM {
				_ = cmd.Process.Signal(s)
			}
		case err := <-done:
			return exitCode(err)
		}
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}
