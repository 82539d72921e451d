package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// ClusterOptions say how to start a Cluster.
type ClusterOptions struct {
	Gavel   string // path of the gavel binary
	Natsd   string // path of the natsd binary (internal/chaos/natsd)
	Compose []byte // docker-compose.yml
	Dir     string // for data and logs; it must exist
	// BasePort is the first loopback port to use (0: any free ones).
	BasePort int
	// Proxy starts the browser-facing proxy (Caddy's part in compose).
	Proxy bool
	// Demo seeds demo data and simulated bidders on the first API node.
	Demo bool
	// Env is added to every node's environment (GAVEL_DEPENDENCY_TIMEOUT
	// for a test, say).
	Env map[string]string
	// Log receives progress lines.
	Log io.Writer
}

// Cluster is the compose stack on loopback: PostgreSQL (fsync on), the
// NATS servers, the Gavel nodes and, optionally, the proxy.
type Cluster struct {
	Topology  Topology
	Ports     Ports
	Overrides map[string][]Override // per node service
	PG        *testpg.Cluster
	// AppURL is the DSN the nodes use (compose's role and database).
	AppURL string
	NATS   []*Process
	Nodes  []*NodeProc
	Proxy  *Proxy

	opts ClusterOptions
}

// NodeProc is a Gavel node process.
type NodeProc struct {
	*Process
	Service string
	Role    config.Role
	URL     string
}

// ServesAPI and ServesStreams say what the node's role serves.
func (n *NodeProc) ServesAPI() bool     { return n.Role.ServesAPI() }
func (n *NodeProc) ServesStreams() bool { return n.Role.ServesStreams() }

// StartCluster starts every process and waits until each node is ready.
func StartCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	topo, err := LoadTopology(o.Compose)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Topology: topo, Overrides: map[string][]Override{}, opts: o}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	if err := c.allocatePorts(); err != nil {
		return nil, err
	}
	if err := c.startPostgres(ctx); err != nil {
		return nil, err
	}
	if err := c.startNATS(ctx); err != nil {
		return nil, err
	}
	if err := c.startNodes(ctx); err != nil {
		return nil, err
	}
	if o.Proxy {
		if c.Proxy, err = StartProxy(fmt.Sprintf("127.0.0.1:%d", c.Ports.Proxy), c.Nodes); err != nil {
			return nil, err
		}
	}
	ok = true
	return c, nil
}

func (c *Cluster) logf(format string, args ...any) {
	fmt.Fprintf(c.opts.Log, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

func (c *Cluster) allocatePorts() error {
	n := 1 + 3*len(c.Topology.NATS) + len(c.Topology.Nodes) + 1
	ports, err := freePorts(c.opts.BasePort, n)
	if err != nil {
		return err
	}
	next := func() int { p := ports[0]; ports = ports[1:]; return p }
	c.Ports = Ports{Proxy: next(), NATSClient: map[string]int{}, NATSCluster: map[string]int{}, NATSMonitor: map[string]int{}, Node: map[string]int{}}
	for _, s := range c.Topology.NATS {
		c.Ports.NATSClient[s.Service], c.Ports.NATSCluster[s.Service], c.Ports.NATSMonitor[s.Service] = next(), next(), next()
	}
	for _, s := range c.Topology.Nodes {
		c.Ports.Node[s.Service] = next()
	}
	return nil
}

// startPostgres starts a durable cluster (fsync and synchronous commit on:
// the suite checks that nothing acknowledged is lost in a crash) and
// creates compose's role and database in it.
func (c *Cluster) startPostgres(ctx context.Context) error {
	pg, err := testpg.StartCluster(ctx, testpg.ClusterOptions{Durable: true})
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	c.PG = pg
	c.Ports.Postgres = pg.Port()
	p := c.Topology.Postgres
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, q := range []string{
		"CREATE ROLE " + pgx.Identifier{p.User}.Sanitize() + " LOGIN PASSWORD " + quoteLiteral(p.Password),
		"CREATE DATABASE " + pgx.Identifier{p.DB}.Sanitize() + " OWNER " + pgx.Identifier{p.User}.Sanitize(),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(p.User, p.Password), Host: fmt.Sprintf("127.0.0.1:%d", pg.Port()), Path: "/" + p.DB, RawQuery: "sslmode=disable"}
	c.AppURL = u.String()
	c.logf("postgres   127.0.0.1:%d (fsync on), database %s", pg.Port(), p.DB)
	return nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (c *Cluster) startNATS(ctx context.Context) error {
	for _, s := range c.Topology.NATS {
		args, err := c.Topology.NATSArgs(s, c.Ports, func(volume string) string { return filepath.Join(c.opts.Dir, volume) })
		if err != nil {
			return err
		}
		p := newProcess(s.Service, c.opts.Natsd, args, nil, filepath.Join(c.opts.Dir, s.Service+".log"))
		if err := p.Start(); err != nil {
			return err
		}
		c.NATS = append(c.NATS, p)
	}
	for _, p := range c.NATS {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := waitHTTP(wctx, p, fmt.Sprintf("http://127.0.0.1:%d/varz", c.Ports.NATSMonitor[p.Name]))
		cancel()
		if err != nil {
			return err
		}
		c.logf("%-10s nats://127.0.0.1:%d (cluster %d, monitor %d)", p.Name, c.Ports.NATSClient[p.Name], c.Ports.NATSCluster[p.Name], c.Ports.NATSMonitor[p.Name])
	}
	return nil
}

func (c *Cluster) startNodes(ctx context.Context) error {
	firstAPI := true
	for _, n := range c.Topology.Nodes {
		dir := filepath.Join(c.opts.Dir, n.Service)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		env, overrides, err := c.Topology.NodeEnv(n, c.Ports, dir)
		if err != nil {
			return err
		}
		for k, v := range c.opts.Env {
			env[k] = v
		}
		if c.opts.Demo && firstAPI && n.Role.ServesAPI() {
			env["GAVEL_DEMO"] = "on"
			overrides = append(overrides, Override{"GAVEL_DEMO", "on", "demo auctions and simulated bidders, for a person trying the cluster"})
			firstAPI = false
		}
		c.Overrides[n.Service] = overrides
		p := newProcess(n.Service, c.opts.Gavel, []string{"serve"}, env, filepath.Join(c.opts.Dir, n.Service+".log"))
		if err := p.Start(); err != nil {
			return err
		}
		c.Nodes = append(c.Nodes, &NodeProc{Process: p, Service: n.Service, Role: n.Role,
			URL: "http://127.0.0.1:" + strconv.Itoa(c.Ports.Node[n.Service])})
	}
	var wg sync.WaitGroup
	errs := make([]error, len(c.Nodes))
	for i, n := range c.Nodes {
		wg.Go(func() { errs[i] = c.WaitReady(ctx, n, 2*time.Minute) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, n := range c.Nodes {
		c.logf("%-10s %s (%s)", n.Service, n.URL, n.Role)
	}
	return nil
}

// WaitReady waits until n's /readyz answers 200.
func (c *Cluster) WaitReady(ctx context.Context, n *NodeProc, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return waitHTTP(ctx, n.Process, n.URL+"/readyz")
}

// APINodes and StreamNodes list the nodes by what they serve.
func (c *Cluster) APINodes() []*NodeProc    { return c.nodesWhere((*NodeProc).ServesAPI) }
func (c *Cluster) StreamNodes() []*NodeProc { return c.nodesWhere((*NodeProc).ServesStreams) }

func (c *Cluster) nodesWhere(f func(*NodeProc) bool) []*NodeProc {
	var out []*NodeProc
	for _, n := range c.Nodes {
		if f(n) {
			out = append(out, n)
		}
	}
	return out
}

// NATSURL lists the NATS servers' client URLs.
func (c *Cluster) NATSURL() string {
	var urls []string
	for _, s := range c.Topology.NATS {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", c.Ports.NATSClient[s.Service]))
	}
	return strings.Join(urls, ",")
}

// StopNodes stops the Gavel nodes gracefully, leaving PostgreSQL and NATS.
func (c *Cluster) StopNodes() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Go(func() { _ = n.Stop(25 * time.Second) })
	}
	wg.Wait()
}

// Close stops everything: the proxy, the nodes (gracefully), the NATS
// servers, then PostgreSQL.
func (c *Cluster) Close() {
	if c.Proxy != nil {
		c.Proxy.Close()
	}
	c.StopNodes()
	var wg sync.WaitGroup
	for _, p := range c.NATS {
		wg.Go(func() { _ = p.Stop(10 * time.Second) })
	}
	wg.Wait()
	if c.PG != nil {
		if err := c.PG.Stop(); err != nil {
			c.logf("stop PostgreSQL: %v", err)
		}
	}
}
