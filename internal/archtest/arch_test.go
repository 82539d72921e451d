// Package archtest checks the package layout of STYLE.md with `go list
// -deps`, so a forbidden import fails the build instead of rotting the
// design.
package archtest

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pkg is one line of `go list -deps`.
type pkg struct {
	path     string
	standard bool
}

// rule says what the packages matching pattern may depend on,
// transitively; test-only imports do not count.
type rule struct {
	name    string
	pattern string                          // relative to the module root, e.g. "./domain/..."
	except  []string                        // directories under pattern whose packages the rule leaves alone
	allowed func(module string, p pkg) bool // false: a violation
}

func under(module, dir, path string) bool {
	root := module + "/" + dir
	return path == root || strings.HasPrefix(path, root+"/")
}

// benchRule keeps the load generators under internal/bench apart from the
// product.
const benchRule = "only cmd imports the load generators"

// hostileRule keeps the hostile-client suite out of everything else.
const hostileRule = "nothing imports the hostile-client suite"

func rules() []rule {
	notUnder := func(dirs ...string) func(string, pkg) bool {
		return func(module string, p pkg) bool {
			for _, d := range dirs {
				if under(module, d, p.path) {
					return false
				}
			}
			return true
		}
	}
	stdlibOnly := func(dir string) func(string, pkg) bool {
		return func(module string, p pkg) bool {
			return (p.standard && !strings.Contains(firstElem(p.path), ".")) || under(module, dir, p.path)
		}
	}
	rs := []rule{
		{"domain imports only the standard library", "./domain/...", nil, stdlibOnly("domain")},
		// Shared by capabilities (sessions, users): they must not drag one
		// capability's dependencies into another.
		{"the batched reads import only the standard library", "./internal/groupread/...", nil, stdlibOnly("internal/groupread")},
		{"the cache imports only the standard library", "./internal/ttlcache/...", nil, stdlibOnly("internal/ttlcache")},
		{"the fault suite talks to Gavel only over HTTP, SQL and NATS", "./internal/chaos/...", nil, notUnder(append(capabilities(), "cmd")...)},
		// salecsv is a codec (pure functions over bytes, like encoding/csv),
		// not a capability: web may use it to read uploads and write exports.
		{"salecsv imports domain and no other capability", "./salecsv/...", nil, notUnder(append(capabilities(), "internal", "cmd")...)},
		{
			name:    "production code does not import test helpers or the fault suite",
			pattern: "./...",
			// the helpers themselves, the fault suite (a tool built on
			// them), and archtest, which has only tests
			except:  []string{"internal/testpg", "internal/phototest", "internal/chaos", "internal/archtest"},
			allowed: notUnder("internal/testpg", "internal/phototest", "internal/chaos"),
		},
		{
			// Load generators are tools, not the product: only the
			// command's thin `gavel bench` front reaches them.
			name:    benchRule,
			pattern: "./...",
			except:  []string{"cmd", "internal/bench"},
			allowed: notUnder("internal/bench"),
		},
		{
			// The hostile-client suite attacks a node from outside, as a
			// stranger would: it may not reach into the product.
			name:    "internal/hostile reaches the node only over the network",
			pattern: "./internal/hostile/...",
			allowed: notUnder(append(capabilities(), "domain", "cmd", "internal/netguard", "internal/config", "internal/database")...),
		},
		{
			name:    hostileRule,
			pattern: "./...",
			except:  []string{"internal/hostile"},
			allowed: notUnder("internal/hostile"),
		},
		{
			name:    "netguard imports only the standard library",
			pattern: "./internal/netguard/...",
			allowed: func(module string, p pkg) bool {
				return (p.standard && !strings.Contains(firstElem(p.path), ".")) || under(module, "internal/netguard", p.path)
			},
		},
	}
	// Each capability imports domain and never a sibling: only cmd wires
	// them together.
	for _, c := range capabilities() {
		var others []string
		for _, o := range capabilities() {
			if o != c {
				others = append(others, o)
			}
		}
		rs = append(rs, rule{c + " imports no other capability", "./" + c + "/...", nil, notUnder(others...)})
	}
	return rs
}

// capabilities are the product's capability packages. A new capability
// adds its directory here.
func capabilities() []string {
	return []string{"bidding", "realtime", "web", "notify", "media", "category", "search", "watchlist", "invoicing"}
}

func notUnderAny(module, path string, dirs []string) bool {
	for _, d := range dirs {
		if under(module, d, path) {
			return false
		}
	}
	return true
}

func firstElem(path string) string {
	elem, _, _ := strings.Cut(path, "/")
	return elem
}

func TestImportRules(t *testing.T) {
	t.Parallel()
	root, module := moduleRoot(t)
	for _, r := range rules() {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			roots, deps := goListDeps(t, root, module, r.pattern)
			if len(roots) == 0 {
				t.Fatalf("no packages match %s: the layout rule checks nothing", r.pattern)
			}
			if len(r.except) > 0 {
				roots, deps = without(t, root, module, roots, r.except)
			}
			for _, v := range violations(module, r, deps) {
				t.Errorf("%s depends on %s", strings.Join(roots, ", "), v)
			}
		})
	}
}

// without lists the dependencies of every root except those under the
// directories except.
func without(t *testing.T, root, module string, roots, except []string) ([]string, []pkg) {
	t.Helper()
	var keep []string
	for _, r := range roots {
		if notUnderAny(module, r, except) {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 {
		return nil, nil
	}
	_, deps := goListDeps(t, root, module, keep...)
	return keep, deps
}

func violations(module string, r rule, deps []pkg) []string {
	var bad []string
	for _, p := range deps {
		if !r.allowed(module, p) {
			bad = append(bad, p.path)
		}
	}
	return bad
}

func moduleRoot(t *testing.T) (root, module string) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == "/dev/null" {
		t.Fatal("not inside a module")
	}
	root = filepath.Dir(gomod)
	cmd := exec.Command("go", "list", "-m")
	cmd.Dir = root
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return root, strings.TrimSpace(string(out))
}

// goListDeps returns the packages matching patterns and all their
// dependencies. -e keeps going past packages that do not compile: only
// their imports matter here.
func goListDeps(t *testing.T, root, module string, patterns ...string) (roots []string, deps []pkg) {
	t.Helper()
	list := func(args ...string) []string {
		cmd := exec.Command("go", append([]string{"list", "-e"}, args...)...)
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return strings.Fields(string(out))
	}
	// A pattern that matches no directory comes back as itself, with an
	// error: keep only real packages of the module.
	for _, p := range list(append([]string{"-f", "{{.ImportPath}}"}, patterns...)...) {
		if strings.HasPrefix(p, module+"/") || p == module {
			roots = append(roots, p)
		}
	}
	if len(roots) == 0 {
		return nil, nil
	}
	for _, line := range list(append([]string{"-deps", "-f", "{{.ImportPath}}:{{.Standard}}"}, roots...)...) {
		path, std, _ := strings.Cut(line, ":")
		deps = append(deps, pkg{path: path, standard: std == "true"})
	}
	return roots, deps
}

// TestRulesCatchViolations checks the rules themselves on made-up
// dependency lists, since the real tree may not (yet) have every package.
func TestRulesCatchViolations(t *testing.T) {
	t.Parallel()
	const mod = "example.com/gavel"
	byName := map[string]rule{}
	for _, r := range rules() {
		// TestBenchRule checks the bench rule, and the cases below the
		// hostile-suite rule; they share the pattern "./...".
		if r.name != benchRule && r.name != hostileRule {
			byName[r.pattern] = r
		}
	}
	tests := []struct {
		pattern string
		dep     pkg
		bad     bool
	}{
		{"./domain/...", pkg{"fmt", true}, false},
		{"./domain/...", pkg{"example.com/gavel/domain", false}, false},
		{"./domain/...", pkg{"example.com/gavel/domain/money", false}, false},
		{"./domain/...", pkg{"gorm.io/gorm", false}, true},
		{"./domain/...", pkg{"example.com/gavel/internal/config", false}, true},
		{"./domain/...", pkg{"example.com/gavel/domainx", false}, true},
		{"./bidding/...", pkg{"example.com/gavel/realtime", false}, true},
		{"./bidding/...", pkg{"example.com/gavel/web/templates", false}, true},
		{"./bidding/...", pkg{"example.com/gavel/domain", false}, false},
		{"./bidding/...", pkg{"gorm.io/gorm", false}, false},
		{"./realtime/...", pkg{"example.com/gavel/bidding", false}, true},
		{"./realtime/...", pkg{"example.com/gavel/webhooks", false}, false},
		{"./web/...", pkg{"example.com/gavel/realtime", false}, true},
		{"./web/...", pkg{"example.com/gavel/web", false}, false},
		{"./web/...", pkg{"example.com/gavel/media", false}, true},
		{"./media/...", pkg{"example.com/gavel/bidding", false}, true},
		{"./media/...", pkg{"example.com/gavel/web", false}, true},
		{"./media/...", pkg{"example.com/gavel/domain", false}, false},
		{"./media/...", pkg{"gorm.io/gorm", false}, false},
		{"./web/...", pkg{"example.com/gavel/notify", false}, true},
		{"./notify/...", pkg{"example.com/gavel/bidding", false}, true},
		{"./invoicing/...", pkg{"example.com/gavel/bidding", false}, true},
		{"./invoicing/...", pkg{"example.com/gavel/web", false}, true},
		{"./invoicing/...", pkg{"example.com/gavel/domain", false}, false},
		{"./invoicing/...", pkg{"codeberg.org/go-pdf/fpdf", false}, false},
		{"./web/...", pkg{"example.com/gavel/invoicing", false}, true},
		{"./notify/...", pkg{"example.com/gavel/web", false}, true},
		{"./notify/...", pkg{"example.com/gavel/domain", false}, false},
		{"./notify/...", pkg{"github.com/wneessen/go-mail", false}, false},
		{"./salecsv/...", pkg{"example.com/gavel/domain", false}, false},
		{"./salecsv/...", pkg{"example.com/gavel/bidding", false}, true},
		{"./salecsv/...", pkg{"example.com/gavel/web", false}, true},
		{"./...", pkg{"example.com/gavel/internal/testpg", false}, true},
		{"./...", pkg{"example.com/gavel/internal/phototest", false}, true},
		{"./internal/hostile/...", pkg{"example.com/gavel/web", false}, true},
		{"./internal/hostile/...", pkg{"example.com/gavel/internal/netguard", false}, true},
		{"./internal/hostile/...", pkg{"github.com/jackc/pgx/v5", false}, false},
		{"./internal/netguard/...", pkg{"example.com/gavel/domain", false}, true},
		{"./internal/netguard/...", pkg{"net", true}, false},
	}
	for _, r := range rules() {
		if r.name == hostileRule {
			if len(violations(mod, r, []pkg{{path: mod + "/internal/hostile"}})) == 0 {
				t.Error("importing internal/hostile is not a violation")
			}
			if len(violations(mod, r, []pkg{{path: mod + "/internal/hostilex"}})) != 0 {
				t.Error("importing internal/hostilex is a violation")
			}
		}
	}
	for _, tt := range tests {
		r, ok := byName[tt.pattern]
		if !ok {
			t.Fatalf("no rule for %s", tt.pattern)
		}
		got := len(violations(mod, r, []pkg{tt.dep})) > 0
		if got != tt.bad {
			t.Errorf("%s -> %s: violation = %v, want %v", tt.pattern, tt.dep.path, got, tt.bad)
		}
	}
}

// TestBenchRule checks the load-generator rule on made-up roots: which
// packages it looks at, and what it refuses them.
func TestBenchRule(t *testing.T) {
	t.Parallel()
	const mod = "example.com/gavel"
	var r rule
	for _, x := range rules() {
		if x.name == benchRule {
			r = x
		}
	}
	if r.name == "" {
		t.Fatal("no load-generator rule")
	}
	tests := []struct {
		root string
		dep  string
		bad  bool
	}{
		{"example.com/gavel/cmd/gavel", "example.com/gavel/internal/bench/ssebench", false},
		{"example.com/gavel/internal/bench/ssebench", "example.com/gavel/internal/bench/benchkit", false},
		{"example.com/gavel/realtime", "example.com/gavel/internal/bench/benchkit", true},
		{"example.com/gavel/web", "example.com/gavel/internal/bench/stormbench", true},
		{"example.com/gavel/bidding", "example.com/gavel/internal/bench", true},
		{"example.com/gavel/domain", "example.com/gavel/internal/bench/notifybench", true},
		{"example.com/gavel/internal/hostile", "example.com/gavel/internal/bench/benchkit", true},
		{"example.com/gavel/realtime", "example.com/gavel/internal/benchmarks", false},
		{"example.com/gavel/web", "example.com/gavel/domain", false},
	}
	for _, tt := range tests {
		checked := notUnderAny(mod, tt.root, r.except)
		got := checked && len(violations(mod, r, []pkg{{path: tt.dep}})) > 0
		if got != tt.bad {
			t.Errorf("%s -> %s: violation = %v, want %v", tt.root, tt.dep, got, tt.bad)
		}
	}
}
