// Command chaos is Gavel's fault suite and its loopback cluster.
//
//	chaos run      builds the production shape of docker-compose.yml from
//	               processes, runs a bid storm and SSE watchers through every
//	               fault, prints the checks as a table and, unless told not
//	               to, the self-test that shows each checker can fail; it
//	               exits 1 when a check fails
//	chaos cluster  starts the same cluster for a person to try, prints its
//	               URLs, and stops it cleanly on Ctrl-C
//
// `make chaos` and `make cluster` build the binaries it runs (gavel and
// natsd) and call it. See docs/RELIABILITY.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gavel-auctions/gavel/internal/chaos"
)

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "run":
		err = run(ctx, os.Args[2:])
	case "cluster":
		err = cluster(ctx, os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage(os.Stdout)
		return
	default:
		fmt.Fprintf(os.Stderr, "chaos: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage: chaos run [flags]       the fault suite (chaos run -h for flags)
       chaos cluster [flags]   the loopback cluster, until Ctrl-C`)
}

// common are the flags both commands take: where the binaries and the
// compose file are.
type common struct {
	gavel, natsd, compose, dir string
	keep                       bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.gavel, "gavel", "bin/gavel", "the gavel binary")
	fs.StringVar(&c.natsd, "natsd", "bin/natsd", "the natsd binary (internal/chaos/cmd/natsd)")
	fs.StringVar(&c.compose, "compose", "docker-compose.yml", "the compose file whose shape and settings the cluster copies")
	fs.StringVar(&c.dir, "dir", "", "directory for data and logs (default: a new temporary one)")
	fs.BoolVar(&c.keep, "keep", false, "keep the data and logs directory")
}

// options reads the compose file and makes the working directory; done
// removes it unless kept.
func (c *common) options() (o chaos.ClusterOptions, done func(), err error) {
	compose, err := os.ReadFile(c.compose)
	if err != nil {
		return o, nil, err
	}
	for _, bin := range []string{c.gavel, c.natsd} {
		if _, err := os.Stat(bin); err != nil {
			return o, nil, fmt.Errorf("%w (build it first: make chaos and make cluster do)", err)
		}
	}
	dir, keep := c.dir, c.keep || c.dir != ""
	if dir == "" {
		if dir, err = os.MkdirTemp("", "gavel-chaos-"); err != nil {
			return o, nil, err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return o, nil, err
	}
	done = func() {
		if keep {
			fmt.Fprintln(os.Stderr, "chaos: data and logs kept in", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}
	return chaos.ClusterOptions{Gavel: c.gavel, Natsd: c.natsd, Compose: compose, Dir: dir}, done, nil
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("chaos run", flag.ExitOnError)
	var c common
	c.register(fs)
	var o chaos.RunOptions
	fs.BoolVar(&o.Short, "short", false, "one kill and one outage, about a minute (what make test runs)")
	selfTest := fs.Bool("selftest", true, "after the checks, tamper with the evidence and show that each checker fails")
	report := fs.String("report", "", "also write the report (markdown) to this file")
	fs.IntVar(&o.Storm.Bidders, "bidders", 24, "bidders in the storm")
	fs.IntVar(&o.Storm.Auctions, "auctions", 12, "auctions in the storm")
	fs.IntVar(&o.Watchers.Watchers, "watchers", 16, "SSE watchers")
	fs.DurationVar(&o.Bound, "bound", 5*time.Second, "the nodes' GAVEL_DEPENDENCY_TIMEOUT, which no request may wait past")
	fs.IntVar(&o.Cluster.BasePort, "port", 0, "first loopback port to use (default: any free ones)")
	_ = fs.Parse(args)
	co, done, err := c.options()
	if err != nil {
		return err
	}
	defer done()
	co.BasePort = o.Cluster.BasePort
	o.Cluster, o.Out = co, os.Stderr
	started := time.Now()
	out, err := chaos.Run(ctx, o)
	if err != nil {
		return err
	}
	defer out.Cluster.Close()
	var b strings.Builder
	kind := "full"
	if o.Short {
		kind = "short"
	}
	fmt.Fprintf(&b, "\nFault suite (%s run), %s; %s.\nMachine: %s.\n\n", kind, time.Now().UTC().Format("2006-01-02 15:04 MST"), out.Evidence.Summary(), chaos.Machine())
	b.WriteString(chaos.Table(out.Results))
	fmt.Print(b.String())
	ok := out.OK()
	if *selfTest {
		// The checks are printed first: the self-test tampers with the
		// stream, which a failure here must not hide.
		st, err := chaos.SelfTest(ctx, out.Cluster, out.Evidence)
		if err != nil {
			st = append(st, chaos.Result{Check: "self-test", Detail: err.Error()})
		}
		var t strings.Builder
		t.WriteString("\nSelf-test: each row tampers with the evidence and passes when its checker then fails.\n\n")
		t.WriteString(chaos.Table(st))
		fmt.Print(t.String())
		b.WriteString(t.String())
		for _, r := range st {
			ok = ok && r.OK
		}
	}
	took := fmt.Sprintf("\nTook %s.\n", time.Since(started).Round(time.Second))
	fmt.Print(took)
	b.WriteString(took)
	if *report != "" {
		if err := os.WriteFile(*report, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	if !ok {
		return errors.New("a check failed (see the tables above; -keep keeps the logs)")
	}
	return nil
}

func cluster(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("chaos cluster", flag.ExitOnError)
	var c common
	c.register(fs)
	port := fs.Int("port", 8080, "the proxy's port (browsers go there); the other services take the next free ports")
	demo := fs.Bool("demo", true, "demo auctions and simulated bidders on the first API node")
	_ = fs.Parse(args)
	co, done, err := c.options()
	if err != nil {
		return err
	}
	defer done()
	co.BasePort, co.Proxy, co.Demo, co.Log = *port, true, *demo, os.Stderr
	cl, err := chaos.StartCluster(ctx, co)
	if err != nil {
		return err
	}
	defer cl.Close()
	fmt.Print(cl.Describe())
	fmt.Println("\nCtrl-C stops everything.")
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nstopping the cluster…")
	return nil
}
