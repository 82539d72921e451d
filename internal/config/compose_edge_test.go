package config_test

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gavel-auctions/gavel/internal/config"
)

type composeNetwork struct {
	IPAM struct {
		Config []struct {
			Subnet string `yaml:"subnet"`
		} `yaml:"config"`
	} `yaml:"ipam"`
}

// ipv4Address returns the fixed address a service asks for on network.
func (s composeService) ipv4Address(network string) string {
	nets, ok := s.Networks.(map[string]any)
	if !ok {
		return ""
	}
	n, ok := nets[network].(map[string]any)
	if !ok {
		return ""
	}
	return fmt.Sprint(n["ipv4_address"])
}

// gavelConfig is a compose service's gavel configuration.
func gavelConfig(t *testing.T, s composeService) config.Config {
	t.Helper()
	env := map[string]string{}
	for k, v := range s.Environment {
		env[k] = interpolate(fmt.Sprint(v))
	}
	cfg := config.Default()
	if err := cfg.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Behind Caddy every request comes from Caddy's address: the nodes must
// trust its X-Forwarded-For, and nobody else's, or the login limits would
// put every user in one bucket (and any container could claim to be any
// client).
func TestComposeTrustsOnlyItsProxy(t *testing.T) {
	t.Parallel()
	c := mustCompose(t)
	caddy, ok := c.Services["caddy"]
	if !ok {
		t.Fatal("no caddy service")
	}
	addr, err := netip.ParseAddr(caddy.ipv4Address("default"))
	if err != nil {
		t.Fatalf("caddy needs a fixed ipv4_address on the default network for GAVEL_TRUSTED_PROXIES: %v", err)
	}
	var subnet netip.Prefix
	for _, cfg := range c.Networks["default"].IPAM.Config {
		subnet, _ = netip.ParsePrefix(cfg.Subnet)
	}
	if !subnet.IsValid() || !subnet.Contains(addr) {
		t.Errorf("caddy's address %s is not in the default network's subnet %v", addr, subnet)
	}
	for name, s := range c.Services {
		if !s.isGavel() {
			continue
		}
		cfg := gavelConfig(t, s)
		proxies := cfg.Edge.Proxies()
		if len(proxies) == 0 {
			t.Errorf("service %s: set GAVEL_TRUSTED_PROXIES to caddy's address", name)
		}
		for _, p := range proxies {
			if !p.Contains(addr) || p.Bits() != addr.BitLen() {
				t.Errorf("service %s trusts %s: trust caddy's address %s alone", name, p, addr)
			}
		}
	}
}

// Metrics are for operators: served on their own port on the internal
// network, scraped by prometheus, never published or proxied.
func TestComposeKeepsMetricsInternal(t *testing.T) {
	t.Parallel()
	c := mustCompose(t)
	ups, _ := caddyUpstreams(t, repoFile(t, "deploy/Caddyfile"))
	var prom struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(repoFile(t, "deploy/prometheus.yml"), &prom); err != nil {
		t.Fatalf("deploy/prometheus.yml: %v", err)
	}
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	var want []string
	for name, s := range c.Services {
		if !s.isGavel() {
			continue
		}
		cfg := gavelConfig(t, s)
		if cfg.Edge.MetricsAddr == "" {
			t.Errorf("service %s serves no metrics: set GAVEL_METRICS_ADDR", name)
			continue
		}
		_, port, err := net.SplitHostPort(cfg.Edge.MetricsAddr)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range s.Ports {
			if portOf(p) == port {
				t.Errorf("service %s publishes its metrics port %v", name, p)
			}
		}
		for _, u := range ups {
			if u.host == name && u.port == port {
				t.Errorf("the Caddyfile proxies to %s's metrics port %s", name, port)
			}
		}
		want = append(want, net.JoinHostPort(name, port))
	}
	slices.Sort(want)
	slices.Sort(targets)
	if !slices.Equal(targets, want) {
		t.Errorf("prometheus scrapes %v, want every gavel node's metrics address %v", targets, want)
	}
	if caddy := string(repoFile(t, "deploy/Caddyfile")); strings.Contains(caddy, "9464") {
		t.Error("the Caddyfile mentions the metrics port")
	}
}
