// Command gavel runs the Gavel live auction server and its admin tasks.
//
//	gavel serve [--role all|api|realtime] [--addr :8080] [--data-dir DIR]
//	gavel migrate [--data-dir DIR]
//	gavel user create --email E --password P --name N [--admin] [--data-dir DIR]
//	gavel healthcheck [--path /healthz]
//	gavel routes [--role all|api|realtime]
//	gavel version
//
// Settings come from the environment (docs/CONFIG.md); flags override them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/natsserver"
)

func main() {
	// With NATS_URL set, serve embeds no NATS server, so the server's CPU
	// sampler is pure cost (see StopProcessSampler). Only the benchmarks'
	// own embedded server could notice, in a CPU% nobody reads.
	if os.Getenv("NATS_URL") != "" {
		natsserver.StopProcessSampler()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(report(err, os.Stderr))
}

const mainUsage = `Gavel runs live auctions.

Usage:
  gavel serve [--role all|api|realtime] [--addr :8080] [--data-dir DIR]
  gavel migrate [--data-dir DIR]
  gavel user create --email E --password P --name N [--admin] [--data-dir DIR]
  gavel healthcheck [--path /healthz]
  gavel routes [--role all|api|realtime]
  gavel version
  gavel help [command]

Settings come from environment variables (docs/CONFIG.md); flags override
them. Without DATABASE_URL gavel keeps a SQLite database in the data
directory, and without NATS_URL it runs NATS in-process, so "gavel serve"
alone starts a complete single-node server.
`

// usageError is a mistake in how gavel was called. It exits with status 2
// and shows the usage of the command concerned.
type usageError struct {
	msg   string
	usage string
}

func (e *usageError) Error() string { return e.msg }

// report prints err and returns the process's exit status.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "gavel:", err)
	if ue, ok := errors.AsType[*usageError](err); ok {
		if ue.usage != "" {
			fmt.Fprint(stderr, "\n"+ue.usage)
		}
		return 2
	}
	return 1
}

// run is the whole program minus the process: tests call it with their own
// arguments, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{msg: "no command given", usage: mainUsage}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "-help", "--help":
		return help(rest, stdout)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "serve":
		cfg, err := parseServe(rest, getenv, stdout)
		if err != nil {
			return helpIsNotAnError(err)
		}
		log := newLogger(cfg, stderr).With("node", cfg.NodeName)
		log.Info("starting gavel", "version", versionString(), "config", cfg)
		return serve(ctx, cfg, log)
	case "migrate":
		cfg, err := parseMigrate(rest, getenv, stdout)
		if err != nil {
			return helpIsNotAnError(err)
		}
		return migrateCmd(ctx, cfg, newLogger(cfg, stderr))
	case "user":
		u, err := parseUser(rest, getenv, stdout)
		if err != nil {
			return helpIsNotAnError(err)
		}
		return createUser(ctx, u.cfg, newLogger(u.cfg, stderr), u.email, u.password, u.name, u.admin)
	case "bench":
		return runBench(ctx, rest, getenv, stdout, stderr)
	case "routes":
		return helpIsNotAnError(routesCmd(ctx, rest, getenv, stdout, stderr))
	case "healthcheck":
		url, err := parseHealthcheck(rest, getenv, stdout)
		if err != nil {
			return helpIsNotAnError(err)
		}
		return healthcheck(ctx, url)
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", cmd), usage: mainUsage}
}

// errHelpShown means -h printed the usage: the run succeeded.
var errHelpShown = errors.New("help shown")

func helpIsNotAnError(err error) error {
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

func help(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, mainUsage)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			fmt.Fprint(stdout, c.usage)
			return nil
		}
	}
	return &usageError{msg: fmt.Sprintf("no help for unknown command %q", args[0]), usage: mainUsage}
}

type commandDoc struct{ name, usage string }

func commands() []commandDoc {
	return []commandDoc{
		{"serve", serveUsage},
		{"migrate", migrateUsage},
		{"user", userUsage},
		{"healthcheck", healthcheckUsage},
		{"bench", benchUsage},
		{"routes", routesUsage},
		{"version", "Usage: gavel version\n\nPrints the version of gavel and of Go it was built with.\n"},
	}
}

const serveUsage = `Usage: gavel serve [--role all|api|realtime] [--addr :8080] [--data-dir DIR]

Runs the server until SIGINT or SIGTERM, migrating the database first.

Flags override the environment (docs/CONFIG.md):
  --role      GAVEL_ROLE      all, api (pages, JSON API, jobs) or realtime (/stream/* only)
  --addr      GAVEL_ADDR      host:port to listen on (default :8080)
  --data-dir  GAVEL_DATA_DIR  SQLite file and embedded NATS store (default ./data)
`

const migrateUsage = `Usage: gavel migrate [--data-dir DIR]

Applies pending database migrations and exits. gavel serve does this too;
run it alone to migrate before a rolling deploy.

  --data-dir  GAVEL_DATA_DIR  where the SQLite file is, without DATABASE_URL
`

const userUsage = `Usage: gavel user create --email E --password P --name N [--admin] [--data-dir DIR]

Creates an account, for example the first administrator.

  --email     sign-in address (required)
  --password  password (required)
  --name      display name (required)
  --admin     make the user an administrator
  --data-dir  GAVEL_DATA_DIR, where the SQLite file is, without DATABASE_URL
`

// overrides collects the config changes flags ask for, applied after the
// environment so that flags win.
type overrides []func(*config.Config)

func (o *overrides) apply(c *config.Config) {
	for _, f := range *o {
		f(c)
	}
}

func dataDirFlag(fs *flag.FlagSet, o *overrides) {
	fs.Func("data-dir", "data directory (GAVEL_DATA_DIR)", func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("must not be empty")
		}
		*o = append(*o, func(c *config.Config) { c.DataDir = s })
		return nil
	})
}

// newFlagSet returns a silent flag set: parse errors are reported once, by
// report, with the command's usage.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args, turning -h into errHelpShown (after printing
// usage to stdout) and other mistakes into usage errors.
func parseFlags(fs *flag.FlagSet, args []string, usage string, stdout io.Writer) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return errHelpShown
	case err != nil:
		return &usageError{msg: fs.Name() + ": " + err.Error(), usage: usage}
	case fs.NArg() > 0:
		return &usageError{msg: fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0)), usage: usage}
	}
	return nil
}

// loadConfig builds the configuration: defaults, then the environment, then
// the flags, then validation of the result.
func loadConfig(getenv func(string) string, o overrides) (config.Config, error) {
	cfg := config.Default()
	if err := cfg.FromEnv(getenv); err != nil {
		return cfg, fmt.Errorf("configuration: %w", err)
	}
	o.apply(&cfg)
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

func parseServe(args []string, getenv func(string) string, stdout io.Writer) (config.Config, error) {
	fs := newFlagSet("serve")
	var o overrides
	fs.Func("role", "all, api or realtime (GAVEL_ROLE)", func(s string) error {
		var r config.Role
		if err := r.Set(s); err != nil {
			return err
		}
		o = append(o, func(c *config.Config) { c.Role = r })
		return nil
	})
	fs.Func("addr", "host:port to listen on (GAVEL_ADDR)", func(s string) error {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("must be host:port or :port (got %q)", s)
		}
		o = append(o, func(c *config.Config) { c.Addr = s })
		return nil
	})
	dataDirFlag(fs, &o)
	if err := parseFlags(fs, args, serveUsage, stdout); err != nil {
		return config.Config{}, err
	}
	return loadConfig(getenv, o)
}

func parseMigrate(args []string, getenv func(string) string, stdout io.Writer) (config.Config, error) {
	fs := newFlagSet("migrate")
	var o overrides
	dataDirFlag(fs, &o)
	if err := parseFlags(fs, args, migrateUsage, stdout); err != nil {
		return config.Config{}, err
	}
	return loadConfig(getenv, o)
}

// userCreate is what `gavel user create` was asked to do.
type userCreate struct {
	cfg                   config.Config
	email, password, name string
	admin                 bool
}

func parseUser(args []string, getenv func(string) string, stdout io.Writer) (userCreate, error) {
	var u userCreate
	if len(args) == 0 {
		return u, &usageError{msg: "user: missing subcommand (create)", usage: userUsage}
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stdout, userUsage)
		return u, errHelpShown
	}
	if args[0] != "create" {
		return u, &usageError{msg: fmt.Sprintf("user: unknown subcommand %q", args[0]), usage: userUsage}
	}
	fs := newFlagSet("user create")
	var o overrides
	fs.StringVar(&u.email, "email", "", "sign-in address")
	fs.StringVar(&u.password, "password", "", "password")
	fs.StringVar(&u.name, "name", "", "display name")
	fs.BoolVar(&u.admin, "admin", false, "make the user an administrator")
	dataDirFlag(fs, &o)
	if err := parseFlags(fs, args[1:], userUsage, stdout); err != nil {
		return u, err
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"--email", u.email}, {"--password", u.password}, {"--name", u.name}} {
		if strings.TrimSpace(f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return u, &usageError{msg: "user create: missing " + strings.Join(missing, ", "), usage: userUsage}
	}
	var err error
	u.cfg, err = loadConfig(getenv, o)
	return u, err
}

// newLogger writes cfg's format at cfg's level to w.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// versionString describes this build from the information Go embeds:
// the module version when installed with `go install …@version`, the VCS
// revision when built from a checkout.
func versionString() string {
	version, rev, modified := "devel", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		version += " " + rev
		if modified {
			version += "+dirty"
		}
	}
	return fmt.Sprintf("gavel %s (%s %s/%s)", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

const healthcheckUsage = `Usage: gavel healthcheck [--path /healthz]

Asks the server on this machine (at GAVEL_ADDR's port) for path and exits 0
if it answers 200 OK within 3 seconds, 1 otherwise. It lets a container
image without curl have a HEALTHCHECK.
`

func parseHealthcheck(args []string, getenv func(string) string, stdout io.Writer) (string, error) {
	fs := newFlagSet("healthcheck")
	path := fs.String("path", "/healthz", "path to ask for")
	if err := parseFlags(fs, args, healthcheckUsage, stdout); err != nil {
		return "", err
	}
	if !strings.HasPrefix(*path, "/") {
		return "", &usageError{msg: "healthcheck: --path must start with /", usage: healthcheckUsage}
	}
	cfg, err := loadConfig(getenv, nil)
	if err != nil {
		return "", err
	}
	host, port, _ := net.SplitHostPort(cfg.Addr) // Validate checked it
	// A wildcard listener is reached over loopback.
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + *path, nil
}

func healthcheck(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// Its own transport: the check is one request, and anything else in the
	// process that closes http.DefaultTransport's idle connections (as
	// httptest.Server.Close does) would break it mid-dial.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}
