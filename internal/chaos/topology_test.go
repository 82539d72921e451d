package chaos

import (
	"os"
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/internal/config"
)

func repoCompose(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testPorts(topo Topology) Ports {
	p := Ports{Postgres: 5999, Proxy: 6000, NATSClient: map[string]int{}, NATSCluster: map[string]int{}, NATSMonitor: map[string]int{}, Node: map[string]int{}}
	for i, s := range topo.NATS {
		p.NATSClient[s.Service], p.NATSCluster[s.Service], p.NATSMonitor[s.Service] = 7000+i, 7100+i, 7200+i
	}
	for i, n := range topo.Nodes {
		p.Node[n.Service] = 8000 + i
	}
	return p
}

// TestTopologyFollowsCompose: the loopback cluster is read from
// docker-compose.yml itself (services, roles, NATS command lines, every
// environment variable), so the two cannot drift; only the listed
// overrides differ.
func TestTopologyFollowsCompose(t *testing.T) {
	t.Parallel()
	topo, err := LoadTopology(repoCompose(t))
	if err != nil {
		t.Fatal(err)
	}
	roles := map[config.Role]int{}
	for _, n := range topo.Nodes {
		roles[n.Role]++
	}
	if len(topo.NATS) != 3 || roles[config.RoleAPI] != 2 || roles[config.RoleRealtime] != 2 || topo.Postgres.DB == "" {
		t.Fatalf("topology = %d NATS servers, roles %v, postgres %+v: not the production shape the issue asks for", len(topo.NATS), roles, topo.Postgres)
	}
	p := testPorts(topo)
	for _, s := range topo.NATS {
		args, err := topo.NATSArgs(s, p, func(v string) string { return "/data/" + v })
		if err != nil {
			t.Fatal(err)
		}
		line := strings.Join(args, " ")
		for _, want := range []string{"-js", "--cluster_name", "/data/" + s.Service, "127.0.0.1:71"} {
			if !strings.Contains(line, want) {
				t.Errorf("%s: %q lacks %q", s.Service, line, want)
			}
		}
		if strings.Contains(line, "nats1:") || strings.Contains(line, "0.0.0.0") {
			t.Errorf("%s: %q still names a container address", s.Service, line)
		}
	}
	for _, n := range topo.Nodes {
		env, overrides, err := topo.NodeEnv(n, p, "/data/"+n.Service)
		if err != nil {
			t.Fatal(err)
		}
		overridden := map[string]bool{}
		for _, o := range overrides {
			overridden[o.Env] = true
			if o.Why == "" {
				t.Errorf("override %s has no reason", o.Env)
			}
		}
		for k, v := range n.Env {
			if k == "DATABASE_URL" || k == "NATS_URL" || overridden[k] {
				continue
			}
			if env[k] != v {
				t.Errorf("%s: %s = %q on loopback, %q in compose", n.Service, k, env[k], v)
			}
		}
		if env["GAVEL_NATS_REPLICAS"] != "3" {
			t.Errorf("%s: GAVEL_NATS_REPLICAS = %q, want compose's 3", n.Service, env["GAVEL_NATS_REPLICAS"])
		}
		if !strings.Contains(env["DATABASE_URL"], "@127.0.0.1:5999/") || strings.Count(env["NATS_URL"], "nats://127.0.0.1:70") != 3 {
			t.Errorf("%s: DATABASE_URL %q, NATS_URL %q not mapped onto loopback", n.Service, env["DATABASE_URL"], env["NATS_URL"])
		}
		cfg := config.Default()
		if err := cfg.FromEnv(func(k string) string { return env[k] }); err != nil {
			t.Errorf("%s: the loopback environment is not a valid configuration: %v", n.Service, err)
		}
	}
}

// TestTopologyRefusesWhatItCannotMap: a change to docker-compose.yml that
// the loopback cluster would not reproduce is an error, not a silent
// difference.
func TestTopologyRefusesWhatItCannotMap(t *testing.T) {
	t.Parallel()
	base := string(repoCompose(t))
	cases := []struct {
		name, old, new, want string
	}{
		{"a NATS flag it does not know", `"-m", "8222",`, `"-m", "8222", "--max_payload", "2MB",`, "--max_payload"},
		{"a service it does not run", "services:\n", "services:\n  mailhog:\n    image: mailhog/mailhog\n", "mailhog"},
		{"an address it does not map", `GAVEL_LOG_FORMAT: json`, "GAVEL_LOG_FORMAT: json\n  GAVEL_SMTP_URL: smtp://postgres:25", "GAVEL_SMTP_URL"},
		{"a setting gavel refuses", `GAVEL_ROLE: api`, `GAVEL_ROLE: everything`, "GAVEL_ROLE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(base, c.old) {
				t.Fatalf("docker-compose.yml no longer holds %q: update this test", c.old)
			}
			topo, err := LoadTopology([]byte(strings.Replace(base, c.old, c.new, 1)))
			if err == nil {
				p := testPorts(topo)
				for _, s := range topo.NATS {
					if _, err = topo.NATSArgs(s, p, func(v string) string { return v }); err != nil {
						break
					}
				}
				for _, n := range topo.Nodes {
					if err != nil {
						break
					}
					_, _, err = topo.NodeEnv(n, p, "/data")
				}
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming %q", err, c.want)
			}
		})
	}
}
