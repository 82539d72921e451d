package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/gavel-auctions/gavel/internal/testpg"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/internal/config"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// TestRunUsage covers every way of calling gavel that must end before the
// server, migration or account code runs.
func TestRunUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr []string
	}{
		{"no command", nil, nil, 2, "", []string{"gavel: no command given", "Usage:", "gavel serve"}},
		{"unknown command", []string{"frob"}, nil, 2, "", []string{`unknown command "frob"`, "Usage:"}},
		{"help", []string{"help"}, nil, 0, "gavel user create", nil},
		{"--help", []string{"--help"}, nil, 0, "Usage:", nil},
		{"help serve", []string{"help", "serve"}, nil, 0, "--role", nil},
		{"help unknown", []string{"help", "frob"}, nil, 2, "", []string{`unknown command "frob"`}},
		{"version", []string{"version"}, nil, 0, "gavel ", nil},
		{"serve -h", []string{"serve", "-h"}, nil, 0, "Usage: gavel serve", nil},
		{"bad --role", []string{"serve", "--role", "x"}, nil, 2, "",
			[]string{`-role: must be one of all, api, realtime (got "x")`, "Usage: gavel serve"}},
		{"bad --addr", []string{"serve", "--addr", "8080"}, nil, 2, "", []string{"-addr: must be host:port"}},
		{"unknown flag", []string{"serve", "--port", "1"}, nil, 2, "", []string{"flag provided but not defined: -port"}},
		{"stray argument", []string{"serve", "now"}, nil, 2, "", []string{`unexpected argument "now"`}},
		{"empty --data-dir", []string{"migrate", "--data-dir", ""}, nil, 2, "", []string{"-data-dir: must not be empty"}},
		{"bad GAVEL_ROLE", []string{"serve"}, map[string]string{"GAVEL_ROLE": "x"}, 1, "",
			[]string{`GAVEL_ROLE: must be one of all, api, realtime (got "x")`}},
		{"bad DATABASE_URL hides the password", []string{"migrate"}, map[string]string{"DATABASE_URL": "mysql://u:s3cret@h/db"}, 1, "",
			[]string{"DATABASE_URL: scheme must be postgres://"}},
		{"split role without shared services", []string{"serve", "--role", "realtime"}, nil, 1, "",
			[]string{"NATS_URL: required when GAVEL_ROLE is realtime"}},
		{"user without subcommand", []string{"user"}, nil, 2, "", []string{"missing subcommand"}},
		{"user unknown subcommand", []string{"user", "delete"}, nil, 2, "", []string{`unknown subcommand "delete"`}},
		{"user create -h", []string{"user", "create", "-h"}, nil, 0, "--email", nil},
		{"user create missing flags", []string{"user", "create", "--email", "a@example.com"}, nil, 2, "",
			[]string{"missing --password, --name", "Usage: gavel user create"}},
		{"user create bad env", []string{"user", "create", "--email", "a@b.c", "--password", "pw", "--name", "A"},
			map[string]string{"GAVEL_LOG_LEVEL": "loud"}, 1, "", []string{"GAVEL_LOG_LEVEL"}},
		{"routes -h", []string{"routes", "-h"}, nil, 0, "Usage: gavel routes", nil},
		{"routes bad --role", []string{"routes", "--role", "x"}, nil, 2, "", []string{`-role: must be one of all, api, realtime (got "x")`, "Usage: gavel routes"}},
		{"bench without scenario", []string{"bench"}, nil, 2, "", []string{"bench needs a scenario", "gavel bench storm"}},
		{"bench unknown scenario", []string{"bench", "frob"}, nil, 2, "", []string{"unknown bench scenario frob"}},
		{"bench sse -h", []string{"bench", "sse", "-h"}, nil, 0, "Usage: gavel bench sse", nil},
		{"bench sse bad flag", []string{"bench", "sse", "--conns", "0"}, nil, 2, "",
			[]string{"--conns, --bids, --per-user and --dial must be positive", "Usage: gavel bench sse"}},
		{"bench sse without PostgreSQL", []string{"bench", "sse", "--conns", "10"}, nil, 1, "", []string{"make bench-sse starts"}},
		{"bench storm without PostgreSQL", []string{"bench", "storm"}, nil, 1, "", []string{"bench storm needs PostgreSQL"}},
		{"bench storm bad --client-nice", []string{"bench", "storm", "--client-nice", "20"}, nil, 2, "",
			[]string{"--client-nice must be between 0 and 19"}},
		{"bench notify without PostgreSQL", []string{"bench", "notify"}, nil, 1, "", []string{"bench notify needs PostgreSQL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, envOf(tt.env), &stdout, &stderr)
			code := report(err, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (err: %v)", code, tt.wantCode, err)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.wantStdout)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not contain %q", stderr.String(), w)
				}
			}
			if strings.Contains(stdout.String()+stderr.String(), "s3cret") {
				t.Error("a password was printed")
			}
		})
	}
}

func TestParseServe(t *testing.T) {
	t.Parallel()
	shared := map[string]string{
		"DATABASE_URL": "postgres://gavel@db/gavel",
		"NATS_URL":     "nats://n1:4222",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range shared {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c config.Config)
	}{
		{"defaults", nil, nil, func(t *testing.T, c config.Config) {
			if c.Role != config.RoleAll || c.Addr != ":8080" || c.DataDir != "./data" {
				t.Errorf("got %v", c)
			}
		}},
		{"env only", nil, with(map[string]string{"GAVEL_ROLE": "api", "GAVEL_ADDR": ":9000", "GAVEL_HEARTBEAT": "5s"}),
			func(t *testing.T, c config.Config) {
				if c.Role != config.RoleAPI || c.Addr != ":9000" || c.Heartbeat != 5*time.Second {
					t.Errorf("got %v", c)
				}
			}},
		{"flags override env", []string{"--role", "realtime", "--addr", "127.0.0.1:7000", "--data-dir", "/srv/gavel"},
			with(map[string]string{"GAVEL_ROLE": "api", "GAVEL_ADDR": ":9000", "GAVEL_DATA_DIR": "/tmp/x"}),
			func(t *testing.T, c config.Config) {
				if c.Role != config.RoleRealtime || c.Addr != "127.0.0.1:7000" || c.DataDir != "/srv/gavel" {
					t.Errorf("got %v", c)
				}
			}},
		{"last flag wins", []string{"-role=api", "-role=all"}, nil, func(t *testing.T, c config.Config) {
			if c.Role != config.RoleAll {
				t.Errorf("role = %s", c.Role)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := parseServe(tt.args, envOf(tt.env), io.Discard)
			if err != nil {
				t.Fatalf("parseServe: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseUser(t *testing.T) {
	t.Parallel()
	u, err := parseUser([]string{"create", "--email", "ada@example.com", "--password", "pw", "--name", "Ada", "--admin", "--data-dir", "/d"},
		envOf(nil), io.Discard)
	if err != nil {
		t.Fatalf("parseUser: %v", err)
	}
	if u.email != "ada@example.com" || u.password != "pw" || u.name != "Ada" || !u.admin || u.cfg.DataDir != "/d" {
		t.Errorf("got %+v", u)
	}
}

func TestNewLogger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format    config.LogFormat
		level     slog.Level
		wantDebug bool
	}{
		{config.LogJSON, slog.LevelDebug, true},
		{config.LogJSON, slog.LevelInfo, false},
		{config.LogText, slog.LevelWarn, false},
	}
	for _, tt := range tests {
		cfg := config.Default()
		cfg.LogFormat, cfg.LogLevel = tt.format, tt.level
		var buf bytes.Buffer
		log := newLogger(cfg, &buf)
		log.Debug("d")
		log.Error("e")
		out := buf.String()
		if got := strings.Contains(out, "msg=d") || strings.Contains(out, `"msg":"d"`); got != tt.wantDebug {
			t.Errorf("%s/%s: debug logged = %v", tt.format, tt.level, got)
		}
		if tt.format == config.LogJSON {
			first, _, _ := strings.Cut(out, "\n")
			if !json.Valid([]byte(first)) {
				t.Errorf("json format wrote %q", first)
			}
		} else if !strings.Contains(out, "level=ERROR msg=e") {
			t.Errorf("text format wrote %q", out)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		args     []string
		wantCode int
	}{
		{"healthy", http.StatusOK, nil, 0},
		{"unhealthy", http.StatusServiceUnavailable, nil, 1},
		{"other path", http.StatusOK, []string{"--path", "/readyz"}, 0},
		{"bad path", http.StatusOK, []string{"--path", "readyz"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gotPath atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotPath.Store(r.URL.Path)
				w.WriteHeader(tt.status)
			}))
			t.Cleanup(srv.Close)
			_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
			env := envOf(map[string]string{"GAVEL_ADDR": ":" + port})
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"healthcheck"}, tt.args...), env, &stdout, &stderr)
			if code := report(err, &stderr); code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d (%v)", code, tt.wantCode, err)
			}
			want := "/healthz"
			if len(tt.args) == 2 && tt.wantCode != 2 {
				want = tt.args[1]
			}
			if p, _ := gotPath.Load().(string); tt.wantCode != 2 && p != want {
				t.Errorf("asked for %q, want %q", p, want)
			}
		})
	}
}

// TestMain stops the throwaway PostgreSQL cluster the tests may start. In
// a node process that a test started, it runs the node instead.
func TestMain(m *testing.M) {
	if os.Getenv(childNodeEnv) == "1" {
		runChildNode()
	}
	if os.Getenv(asGavelEnv) == "1" {
		// A process a bench under test started as `gavel …` (os.Executable
		// is this binary): the watchers of `gavel bench sale`.
		os.Exit(report(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr), os.Stderr))
	}
	testpg.Main(m)
}
