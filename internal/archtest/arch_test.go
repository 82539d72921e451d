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
	allowed func(module string, p pkg) bool // false: a violation
}

func under(module, dir, path string) bool {
	root := module + "/" + dir
	return path == root || strings.HasPrefix(path, root+"/")
}

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
	return []rule{
		{
			name:    "domain imports only the standard library",
			pattern: "./domain/...",
			allowed: func(module string, p pkg) bool {
				return (p.standard && !strings.Contains(firstElem(p.path), ".")) || under(module, "domain", p.path)
			},
		},
		{"bidding does not import realtime, web or notify", "./bidding/...", notUnder("realtime", "web", "notify")},
		{"realtime does not import bidding, web or notify", "./realtime/...", notUnder("bidding", "web", "notify")},
		{"web does not import bidding, realtime or notify", "./web/...", notUnder("bidding", "realtime", "notify")},
		{"notify does not import bidding, realtime or web", "./notify/...", notUnder("bidding", "realtime", "web")},
		// salecsv is a codec (pure functions over bytes, like encoding/csv),
		// not a capability: web may use it to read uploads and write exports.
		{"salecsv imports domain and no other capability", "./salecsv/...", notUnder("bidding", "realtime", "web", "notify", "internal", "cmd")},
		{
			name:    "production code does not import test helpers",
			pattern: "./...",
			allowed: func(module string, p pkg) bool { return !under(module, "internal/testpg", p.path) },
		},
	}
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
			// testpg and its command are the helpers themselves, and
			// archtest has only tests.
			if r.pattern == "./..." {
				roots, deps = withoutTestHelpers(t, root, module, roots)
			}
			for _, v := range violations(module, r, deps) {
				t.Errorf("%s depends on %s", strings.Join(roots, ", "), v)
			}
		})
	}
}

// withoutTestHelpers lists the dependencies of every root except the
// testpg packages.
func withoutTestHelpers(t *testing.T, root, module string, roots []string) ([]string, []pkg) {
	t.Helper()
	var keep []string
	for _, r := range roots {
		if !under(module, "internal/testpg", r) && !under(module, "internal/archtest", r) {
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
		byName[r.pattern] = r
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
		{"./web/...", pkg{"example.com/gavel/notify", false}, true},
		{"./notify/...", pkg{"example.com/gavel/bidding", false}, true},
		{"./notify/...", pkg{"example.com/gavel/web", false}, true},
		{"./notify/...", pkg{"example.com/gavel/domain", false}, false},
		{"./notify/...", pkg{"github.com/wneessen/go-mail", false}, false},
		{"./salecsv/...", pkg{"example.com/gavel/domain", false}, false},
		{"./salecsv/...", pkg{"example.com/gavel/bidding", false}, true},
		{"./salecsv/...", pkg{"example.com/gavel/web", false}, true},
		{"./...", pkg{"example.com/gavel/internal/testpg", false}, true},
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
