package config_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gavel-auctions/gavel/internal/config"
)

// The parts of a compose file these tests read. Fields that compose allows
// in two shapes (list or map) are decoded as any.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
	Networks map[string]composeNetwork `yaml:"networks"`
}

type composeService struct {
	Image       string         `yaml:"image"`
	Build       any            `yaml:"build"`
	Environment map[string]any `yaml:"environment"`
	DependsOn   any            `yaml:"depends_on"`
	Expose      []any          `yaml:"expose"`
	Ports       []any          `yaml:"ports"`
	Volumes     []string       `yaml:"volumes"`
	Networks    any            `yaml:"networks"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// isGavel tells the services built from this repository's Dockerfile.
func (s composeService) isGavel() bool { return s.Build != nil || strings.HasPrefix(s.Image, "gavel") }

func (s composeService) dependsOn() []string {
	switch d := s.DependsOn.(type) {
	case []any:
		var out []string
		for _, v := range d {
			out = append(out, fmt.Sprint(v))
		}
		return out
	case map[string]any:
		var out []string
		for k := range d {
			out = append(out, k)
		}
		return out
	}
	return nil
}

// repoFile reads a file at the module root.
func repoFile(tb testing.TB, name string) []byte {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("module root not found")
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustCompose(tb testing.TB) composeFile {
	tb.Helper()
	var c composeFile
	if err := yaml.Unmarshal(repoFile(tb, "docker-compose.yml"), &c); err != nil {
		tb.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		tb.Fatal("docker-compose.yml has no services")
	}
	return c
}

// interpolate expands ${VAR:-default} and ${VAR} the way compose does with
// an empty environment.
func interpolate(s string) string {
	re := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}`)
	return re.ReplaceAllString(s, "$2")
}

// portOf returns the container side of an expose or ports entry
// ("8080", "80:8080", "127.0.0.1:80:8080/tcp").
func portOf(v any) string {
	s := fmt.Sprint(v)
	s, _, _ = strings.Cut(s, "/")
	if i := strings.LastIndex(s, ":"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func TestComposeIsValid(t *testing.T) {
	t.Parallel()
	c := mustCompose(t)
	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
		for _, d := range s.dependsOn() {
			if _, ok := c.Services[d]; !ok {
				t.Errorf("service %s depends on unknown service %q", name, d)
			}
			if d == name {
				t.Errorf("service %s depends on itself", name)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			named := !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/")
			if _, declared := c.Volumes[src]; named && !declared {
				t.Errorf("service %s uses undeclared volume %q", name, src)
			}
		}
	}
}

func TestComposeMatchesConfig(t *testing.T) {
	t.Parallel()
	c := mustCompose(t)
	known := config.EnvKeys()
	wantPort := config.Default().Port()
	roles := map[config.Role]int{}
	nodes := map[string]string{}
	for name, s := range c.Services {
		if !s.isGavel() {
			continue
		}
		env := map[string]string{}
		for k, v := range s.Environment {
			if !slices.Contains(known, k) {
				t.Errorf("service %s sets %s, which gavel does not read (known: %s)", name, k, strings.Join(known, ", "))
			}
			env[k] = interpolate(fmt.Sprint(v))
		}
		cfg := config.Default()
		if err := cfg.FromEnv(func(k string) string { return env[k] }); err != nil {
			t.Errorf("service %s: %v", name, err)
			continue
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("service %s: gavel would refuse this configuration: %v", name, err)
		}
		if _, set := env["GAVEL_ROLE"]; !set {
			t.Errorf("service %s: set GAVEL_ROLE explicitly", name)
		}
		roles[cfg.Role]++
		if env["GAVEL_NODE"] == "" {
			t.Errorf("service %s: set GAVEL_NODE; the container's hostname is random", name)
		} else if other, dup := nodes[cfg.NodeName]; dup {
			t.Errorf("service %s: GAVEL_NODE %q is also used by %s", name, cfg.NodeName, other)
		}
		nodes[cfg.NodeName] = name
		if cfg.Port() != wantPort {
			t.Errorf("service %s listens on port %s, the image and proxy expect %s", name, cfg.Port(), wantPort)
		}
		for _, p := range append(slices.Clone(s.Expose), s.Ports...) {
			if portOf(p) != cfg.Port() {
				t.Errorf("service %s exposes %v, but gavel listens on %s", name, p, cfg.Port())
			}
		}
		if hc := strings.Join(s.Healthcheck.Test, " "); !strings.Contains(hc, "healthcheck") && !strings.Contains(hc, "/healthz") {
			t.Errorf("service %s: healthcheck %q does not check /healthz", name, hc)
		}
	}
	if roles[config.RoleAPI] < 2 || roles[config.RoleRealtime] < 2 {
		t.Errorf("want at least two api and two realtime nodes, got %v", roles)
	}
}

// upstream is one reverse_proxy target in the Caddyfile.
type upstream struct {
	host, port string
	stream     bool // inside the /stream/* handler
}

// caddyUpstreams reads the reverse_proxy lines, noting whether each sits
// in the stream handler, and the directives of each block.
func caddyUpstreams(tb testing.TB, caddyfile []byte) (ups []upstream, blocks map[bool]string) {
	tb.Helper()
	blocks = map[bool]string{}
	inStream, inProxy := false, false
	sc := bufio.NewScanner(bytes.NewReader(caddyfile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		switch {
		case fields[0] == "handle":
			inStream = len(fields) > 1 && strings.Contains(line, "stream")
		case fields[0] == "reverse_proxy":
			inProxy = strings.HasSuffix(line, "{")
			for _, f := range fields[1:] {
				if f == "{" {
					break
				}
				host, port, err := net.SplitHostPort(f)
				if err != nil {
					tb.Fatalf("Caddyfile upstream %q: %v", f, err)
				}
				ups = append(ups, upstream{host, port, inStream})
			}
		case inProxy && line == "}":
			inProxy = false
		case inProxy:
			blocks[inStream] += line + "\n"
		}
	}
	return ups, blocks
}

func TestCaddyfileMatchesCompose(t *testing.T) {
	t.Parallel()
	c := mustCompose(t)
	ups, blocks := caddyUpstreams(t, repoFile(t, "deploy/Caddyfile"))
	if len(ups) == 0 {
		t.Fatal("no reverse_proxy upstreams in deploy/Caddyfile")
	}
	var streams, api int
	for _, u := range ups {
		s, ok := c.Services[u.host]
		if !ok {
			t.Errorf("Caddyfile proxies to %s, which is not a compose service", u.host)
			continue
		}
		cfg := config.Default()
		env := map[string]string{}
		for k, v := range s.Environment {
			env[k] = interpolate(fmt.Sprint(v))
		}
		_ = cfg.FromEnv(func(k string) string { return env[k] }) // TestComposeMatchesConfig reports errors
		if u.port != cfg.Port() {
			t.Errorf("Caddyfile proxies to %s:%s, but it listens on %s", u.host, u.port, cfg.Port())
		}
		if u.stream {
			streams++
			if !cfg.Role.ServesStreams() {
				t.Errorf("Caddyfile sends /stream/* to %s, whose role %s serves no streams", u.host, cfg.Role)
			}
		} else {
			api++
			if !cfg.Role.ServesAPI() {
				t.Errorf("Caddyfile sends pages and API to %s, whose role %s does not serve them", u.host, cfg.Role)
			}
		}
	}
	if streams == 0 || api == 0 {
		t.Errorf("want upstreams for both /stream/* (%d) and the rest (%d)", streams, api)
	}
	if !strings.Contains(blocks[true], "flush_interval -1") {
		t.Error("the /stream/* proxy must set flush_interval -1, or events wait in Caddy's buffer")
	}
	for stream, block := range blocks {
		if !strings.Contains(block, "health_uri /readyz") {
			t.Errorf("proxy block (stream=%v) has no active health check on /readyz", stream)
		}
	}
}

// TestCaddyfileAdapts runs Caddy's own parser when caddy is installed.
func TestCaddyfileAdapts(t *testing.T) {
	t.Parallel()
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		// CI installs caddy (.ci/run); there a missing binary is a failure.
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal("caddy not installed: apt-get install -y caddy")
		}
		t.Skip("caddy not installed")
	}
	f := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(f, repoFile(t, "deploy/Caddyfile"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(caddy, "adapt", "--config", f, "--adapter", "caddyfile").CombinedOutput()
	if err != nil {
		t.Fatalf("caddy adapt: %v\n%s", err, out)
	}
}

func TestDocsListEverySetting(t *testing.T) {
	t.Parallel()
	doc := string(repoFile(t, "docs/CONFIG.md"))
	for _, s := range config.Settings() {
		if !strings.Contains(doc, "`"+s.Env+"`") {
			t.Errorf("docs/CONFIG.md does not document %s", s.Env)
		}
		if s.Flag != "" && !strings.Contains(doc, "`--"+s.Flag+"`") {
			t.Errorf("docs/CONFIG.md does not mention the flag --%s", s.Flag)
		}
	}
}
