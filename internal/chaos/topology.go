// Package chaos is Gavel's fault suite: it builds the production shape of
// docker-compose.yml on loopback from processes (PostgreSQL with fsync on,
// three NATS servers with JetStream, two API and two realtime nodes), runs
// a bid storm and SSE watchers against it, injects faults (kills, stalls,
// outages), and checks what Gavel promises: no acknowledged bid lost, every
// event published and delivered once and in order, 503 rather than 500,
// bounded waits, and recovery times. `make chaos` runs it; `make cluster`
// starts the same cluster for a person to try.
//
// It is a tool, not part of the product: it talks to Gavel only over HTTP,
// SSE, SQL and NATS, as an operator's scripts would.
package chaos

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gavel-auctions/gavel/internal/config"
)

// Topology is the deployment docker-compose.yml describes: the one source
// of the cluster's shape and configuration, so that the loopback cluster
// and the compose stack cannot drift apart. LoadTopology refuses a compose
// file it cannot map onto loopback faithfully.
type Topology struct {
	Postgres Postgres
	NATS     []NATSServer // by service name
	Nodes    []Node       // Gavel services, by service name
}

// Postgres is the database service's role and database.
type Postgres struct {
	Service, User, Password, DB string
}

// NATSServer is one NATS service and its nats-server command line.
type NATSServer struct {
	Service string
	Args    []string
	Volumes map[string]string // mount point → volume name
}

// Node is one Gavel service: its role and its environment as compose sets
// it (interpolated with compose's defaults).
type Node struct {
	Service string
	Role    config.Role
	Env     map[string]string
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string         `yaml:"image"`
	Build       any            `yaml:"build"`
	Command     []string       `yaml:"command"`
	Environment map[string]any `yaml:"environment"`
	Volumes     []string       `yaml:"volumes"`
}

var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}`)

// interpolate expands ${VAR:-default} and ${VAR} as compose does with an
// empty environment.
func interpolate(s string) string { return interpolation.ReplaceAllString(s, "$2") }

// LoadTopology reads a compose file.
func LoadTopology(compose []byte) (Topology, error) {
	var f composeFile
	if err := yaml.Unmarshal(compose, &f); err != nil {
		return Topology{}, fmt.Errorf("docker-compose.yml: %w", err)
	}
	var t Topology
	names := make([]string, 0, len(f.Services))
	for name := range f.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := f.Services[name]
		env := map[string]string{}
		for k, v := range s.Environment {
			env[k] = interpolate(fmt.Sprint(v))
		}
		switch {
		case s.Build != nil || strings.HasPrefix(s.Image, "gavel"):
			cfg := config.Default()
			if err := cfg.FromEnv(func(k string) string { return env[k] }); err != nil {
				return t, fmt.Errorf("service %s: %w", name, err)
			}
			t.Nodes = append(t.Nodes, Node{Service: name, Role: cfg.Role, Env: env})
		case strings.HasPrefix(s.Image, "postgres"):
			t.Postgres = Postgres{Service: name, User: env["POSTGRES_USER"], Password: env["POSTGRES_PASSWORD"], DB: env["POSTGRES_DB"]}
		case strings.HasPrefix(s.Image, "nats"):
			vols := map[string]string{}
			for _, v := range s.Volumes {
				src, dst, ok := strings.Cut(v, ":")
				if ok {
					vols[dst] = src
				}
			}
			t.NATS = append(t.NATS, NATSServer{Service: name, Args: s.Command, Volumes: vols})
		case strings.HasPrefix(s.Image, "caddy"):
			// The browser-facing proxy: Proxy does its part on loopback.
		case strings.HasPrefix(s.Image, "prom/prometheus"):
			// An observer that scrapes the nodes' metrics: no request or
			// event passes through it, so the suite has nothing to run.
		default:
			return t, fmt.Errorf("docker-compose.yml: service %s (image %q) is one the fault suite does not know how to run on loopback; teach internal/chaos/topology.go", name, s.Image)
		}
	}
	switch {
	case t.Postgres.Service == "" || t.Postgres.User == "" || t.Postgres.DB == "":
		return t, fmt.Errorf("docker-compose.yml: no postgres service with POSTGRES_USER and POSTGRES_DB")
	case len(t.NATS) == 0:
		return t, fmt.Errorf("docker-compose.yml: no nats services")
	case len(t.Nodes) == 0:
		return t, fmt.Errorf("docker-compose.yml: no gavel services")
	}
	return t, nil
}

// Ports are the loopback ports of every service. The names are compose's.
type Ports struct {
	Postgres    int
	NATSClient  map[string]int
	NATSCluster map[string]int
	NATSMonitor map[string]int
	Node        map[string]int
	Proxy       int
}

// natsClientPort and natsClusterPort are the ports NATS
// listens on in the containers, as compose's URLs and commands name them.
const (
	natsClientPort  = "4222"
	natsClusterPort = "6222"
)

// NATSArgs turns a NATS service's compose command into a natsd command line
// on loopback: compose's service names and container ports become
// 127.0.0.1 and the service's own ports, and its volume mounts become
// directories under dataDir. A flag it does not know is an error, so a
// change to the compose file cannot pass unnoticed.
func (t Topology) NATSArgs(s NATSServer, p Ports, dataDir func(volume string) string) ([]string, error) {
	args := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(p.NATSClient[s.Service])}
	value := func(i int) (string, error) {
		if i+1 >= len(s.Args) {
			return "", fmt.Errorf("nats service %s: %s needs a value", s.Service, s.Args[i])
		}
		return s.Args[i+1], nil
	}
	for i := 0; i < len(s.Args); i++ {
		flag := s.Args[i]
		switch flag {
		case "-js", "--jetstream":
			args = append(args, flag)
		case "--name", "-n", "--server_name", "--cluster_name":
			v, err := value(i)
			if err != nil {
				return nil, err
			}
			args = append(args, flag, v)
			i++
		case "-sd", "--store_dir":
			v, err := value(i)
			if err != nil {
				return nil, err
			}
			vol, ok := s.Volumes[v]
			if !ok {
				return nil, fmt.Errorf("nats service %s: store dir %s is not a volume", s.Service, v)
			}
			args = append(args, flag, dataDir(vol))
			i++
		case "-m", "--http_port":
			if _, err := value(i); err != nil {
				return nil, err
			}
			args = append(args, flag, strconv.Itoa(p.NATSMonitor[s.Service]))
			i++
		case "--cluster", "--routes":
			v, err := value(i)
			if err != nil {
				return nil, err
			}
			urls := strings.Split(v, ",")
			for j, u := range urls {
				if urls[j], err = t.loopbackURL(s.Service, u, p); err != nil {
					return nil, fmt.Errorf("nats service %s: %s: %w", s.Service, flag, err)
				}
			}
			args = append(args, flag, strings.Join(urls, ","))
			i++
		default:
			return nil, fmt.Errorf("nats service %s: the fault suite does not know how to run flag %q on loopback (internal/chaos/topology.go)", s.Service, flag)
		}
	}
	return args, nil
}

// loopbackURL maps a URL naming a compose service (or 0.0.0.0, meaning
// self) and a container port onto 127.0.0.1 and that service's port.
func (t Topology) loopbackURL(self, raw string, p Ports) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("not a URL: %q", raw)
	}
	host, port := u.Hostname(), u.Port()
	if host == "0.0.0.0" {
		host = self
	}
	var mapped int
	switch {
	case host == t.Postgres.Service && port == "5432":
		mapped = p.Postgres
	case t.isNATS(host) && port == natsClientPort:
		mapped = p.NATSClient[host]
	case t.isNATS(host) && port == natsClusterPort:
		mapped = p.NATSCluster[host]
	default:
		return "", fmt.Errorf("%s:%s is no service port the fault suite maps", host, port)
	}
	u.Host = "127.0.0.1:" + strconv.Itoa(mapped)
	return u.String(), nil
}

func (t Topology) isNATS(service string) bool {
	return slices.ContainsFunc(t.NATS, func(n NATSServer) bool { return n.Service == service })
}

// Override is a setting the loopback cluster changes from compose, and why.
type Override struct {
	Env, Value, Why string
}

// NodeEnv returns a Gavel node's environment on loopback: compose's, with
// service URLs mapped onto loopback, and the overrides listed (each with
// its reason). A value still naming a compose service is an error.
func (t Topology) NodeEnv(n Node, p Ports, dataDir string) (env map[string]string, overrides []Override, err error) {
	env = map[string]string{}
	for k, v := range n.Env {
		env[k] = v
	}
	for _, key := range []string{"DATABASE_URL", "NATS_URL"} {
		v, ok := env[key]
		if !ok {
			continue
		}
		urls := strings.Split(v, ",")
		for i, u := range urls {
			if urls[i], err = t.loopbackURL(n.Service, u, p); err != nil {
				return nil, nil, fmt.Errorf("service %s: %s: %w", n.Service, key, err)
			}
		}
		env[key] = strings.Join(urls, ",")
	}
	overrides = []Override{
		{"GAVEL_ADDR", "127.0.0.1:" + strconv.Itoa(p.Node[n.Service]), "every node listens on its own loopback port instead of its container's :8080"},
		{"GAVEL_DATA_DIR", dataDir, "a directory of its own, as a container has"},
		{"GAVEL_COOKIE_SECURE", "false", "no TLS on loopback: Caddy terminates it in compose"},
		{"GAVEL_METRICS_ADDR", "127.0.0.1:0", "every node's metrics on a free loopback port instead of its container's :9464"},
		{"GAVEL_TRUSTED_PROXIES", "127.0.0.1/32", "the loopback proxy stands for Caddy; with a trusted proxy the per-address connection cap is off, as in compose"},
	}
	for _, o := range overrides {
		env[o.Env] = o.Value
	}
	for k, v := range env {
		for _, s := range t.services() {
			if strings.Contains(v, "//"+s+":") || strings.Contains(v, "@"+s+":") {
				return nil, nil, fmt.Errorf("service %s: %s still names service %s; teach internal/chaos to map it", n.Service, k, s)
			}
		}
	}
	return env, overrides, nil
}

func (t Topology) services() []string {
	out := []string{t.Postgres.Service}
	for _, n := range t.NATS {
		out = append(out, n.Service)
	}
	for _, n := range t.Nodes {
		out = append(out, n.Service)
	}
	return out
}
