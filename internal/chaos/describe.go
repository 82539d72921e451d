package chaos

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Describe tells a person where everything is: the URL to open, each
// node, the NATS servers, PostgreSQL, the logs, what differs from
// docker-compose.yml and why, and how to inject a fault by hand.
func (c *Cluster) Describe() string {
	var b strings.Builder
	if c.Proxy != nil {
		fmt.Fprintf(&b, "\nGavel: %s  (the proxy, Caddy's part in docker-compose.yml)\n\n", c.Proxy.URL())
	}
	b.WriteString("service     address                                   pid\n")
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "%-11s %-41s %d  (%s)\n", n.Service, n.URL, n.PID(), n.Role)
	}
	for _, p := range c.NATS {
		fmt.Fprintf(&b, "%-11s %-41s %d  (monitor http://127.0.0.1:%d)\n", p.Name,
			fmt.Sprintf("nats://127.0.0.1:%d", c.Ports.NATSClient[p.Name]), p.PID(), c.Ports.NATSMonitor[p.Name])
	}
	pm, _ := c.PG.PostmasterPID()
	fmt.Fprintf(&b, "%-11s %-41s %d  (fsync on)\n", c.Topology.Postgres.Service, c.AppURL, pm)
	fmt.Fprintf(&b, "\nLogs: %s\n", filepath.Join(c.opts.Dir, "*.log"))
	b.WriteString("\nAs docker-compose.yml, except:\n")
	seen := map[string]bool{}
	for _, n := range c.Nodes {
		for _, o := range c.Overrides[n.Service] {
			if seen[o.Env] {
				continue
			}
			seen[o.Env] = true
			fmt.Fprintf(&b, "  %s: %s\n", o.Env, o.Why)
		}
	}
	b.WriteString("\nTry a fault: kill -9 a node's pid (the proxy moves to the others), kill -STOP and\n" +
		"kill -CONT one, or stop a NATS server; watch /readyz and an auction page meanwhile.\n")
	return b.String()
}
