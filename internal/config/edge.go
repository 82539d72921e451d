package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Edge is the settings of the node's edge: connection caps, the proxies
// whose X-Forwarded-For is believed, and where metrics are served
// (docs/SECURITY.md).
type Edge struct {
	// MaxConns is GAVEL_MAX_CONNS; 0 means auto: the open-file limit less
	// a reserve for the database, NATS and files (see AutoMaxConns).
	MaxConns int
	// MaxConnsPerIP is GAVEL_MAX_CONNS_PER_IP; 0 turns the cap off. It is
	// off whenever TrustedProxies is set: every client then arrives from
	// a proxy's address, and the proxy does that job.
	MaxConnsPerIP int
	// TrustedProxies is GAVEL_TRUSTED_PROXIES, normalized: only requests
	// from these networks may name their client in X-Forwarded-For. It is
	// kept as text so that Config stays comparable; Proxies parses it.
	TrustedProxies string
	// MetricsAddr is GAVEL_METRICS_ADDR, where /metrics is served; empty
	// (the value "off") serves no metrics.
	MetricsAddr string
	// HashConcurrency is GAVEL_HASH_CONCURRENCY, the password hashes
	// (bcrypt) a node runs at once; 0 means auto, half the cores.
	HashConcurrency int
	// Pprof is GAVEL_PPROF: serve Go's /debug/pprof/ profiles on the
	// metrics listener too (off by default: a profile costs CPU and shows
	// the code's internals).
	Pprof bool
}

// Edge defaults.
const (
	DefaultMaxConnsPerIP = 1024
	DefaultMetricsAddr   = "127.0.0.1:9464"
	// minMaxConns keeps an explicit GAVEL_MAX_CONNS useful.
	minMaxConns = 16
)

// DefaultEdge returns the edge settings used when nothing is set.
func DefaultEdge() Edge {
	return Edge{MaxConnsPerIP: DefaultMaxConnsPerIP, MetricsAddr: DefaultMetricsAddr}
}

// AutoMaxConns is the connection cap for a process that may open fileLimit
// files: the limit less 5% (at least 256) for everything else a node
// opens, and for refusing connections politely.
func AutoMaxConns(fileLimit uint64) int {
	reserve := max(fileLimit/20, 256)
	if fileLimit <= reserve+minMaxConns {
		return minMaxConns
	}
	return int(min(fileLimit-reserve, 1<<30))
}

// ConnsPerIP is the effective per-IP cap: off behind trusted proxies.
func (e Edge) ConnsPerIP() int {
	if e.TrustedProxies != "" {
		return 0
	}
	return e.MaxConnsPerIP
}

// Proxies returns TrustedProxies parsed; Validate has checked it.
func (e Edge) Proxies() []netip.Prefix {
	p, _ := ParsePrefixes(e.TrustedProxies)
	return p
}

// ParsePrefixes reads a comma-separated list of CIDRs or bare addresses
// (a bare address is a one-address network).
func ParsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("must be CIDRs or addresses separated by commas, such as 10.0.0.0/8,192.168.1.5 (got %q)", part)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func edgeSettings() []settingRow {
	return []settingRow{
		{Setting{"GAVEL_MAX_CONNS", "", "auto", "open connections per node, streams included; auto: the open-file limit less 5% (at least 256)"},
			func(c *Config, v string) error {
				if strings.EqualFold(strings.TrimSpace(v), "auto") {
					c.Edge.MaxConns = 0
					return nil
				}
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil || n < minMaxConns {
					return fmt.Errorf("must be auto or a whole number of at least %d (got %q)", minMaxConns, v)
				}
				c.Edge.MaxConns = n
				return nil
			}},
		{Setting{"GAVEL_MAX_CONNS_PER_IP", "", strconv.Itoa(DefaultMaxConnsPerIP), "open connections per client IP; 0: no cap; off when GAVEL_TRUSTED_PROXIES is set"},
			func(c *Config, v string) error {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil || n < 0 {
					return fmt.Errorf("must be a whole number, 0 for no cap (got %q)", v)
				}
				c.Edge.MaxConnsPerIP = n
				return nil
			}},
		{Setting{"GAVEL_TRUSTED_PROXIES", "", "(none)", "CIDRs of proxies whose X-Forwarded-For names the client, comma-separated"},
			func(c *Config, v string) error {
				p, err := ParsePrefixes(v)
				if err != nil {
					return err
				}
				parts := make([]string, len(p))
				for i, x := range p {
					parts[i] = x.String()
				}
				c.Edge.TrustedProxies = strings.Join(parts, ",")
				return nil
			}},
		{Setting{"GAVEL_HASH_CONCURRENCY", "", "auto", "password hashes (bcrypt) run at once; the rest wait up to 2 s, then 503; auto: half the cores"},
			func(c *Config, v string) error {
				if strings.EqualFold(strings.TrimSpace(v), "auto") {
					c.Edge.HashConcurrency = 0
					return nil
				}
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil || n < 1 {
					return fmt.Errorf("must be auto or a whole number of at least 1 (got %q)", v)
				}
				c.Edge.HashConcurrency = n
				return nil
			}},
		{Setting{"GAVEL_PPROF", "", "off", "on: also serve Go's /debug/pprof/ profiles on GAVEL_METRICS_ADDR"},
			func(c *Config, v string) error {
				switch strings.ToLower(strings.TrimSpace(v)) {
				case "on", "true", "1":
					c.Edge.Pprof = true
				case "off", "false", "0", "":
					c.Edge.Pprof = false
				default:
					return fmt.Errorf("must be on or off (got %q)", v)
				}
				return nil
			}},
		{Setting{"GAVEL_METRICS_ADDR", "", DefaultMetricsAddr, "host:port serving /metrics, apart from the site; off: none"},
			func(c *Config, v string) error {
				v = strings.TrimSpace(v)
				if strings.EqualFold(v, "off") {
					v = ""
				}
				c.Edge.MetricsAddr = v
				return nil
			}},
	}
}

// validate checks e; sitePort is the port of GAVEL_ADDR.
func (e Edge) validate(sitePort string, bad func(key, format string, args ...any)) {
	if e.MaxConns != 0 && e.MaxConns < minMaxConns {
		bad("GAVEL_MAX_CONNS", "must be auto or at least %d (got %d)", minMaxConns, e.MaxConns)
	}
	if e.MaxConnsPerIP < 0 {
		bad("GAVEL_MAX_CONNS_PER_IP", "must not be negative (got %d)", e.MaxConnsPerIP)
	}
	if _, err := ParsePrefixes(e.TrustedProxies); err != nil {
		bad("GAVEL_TRUSTED_PROXIES", "%v", err)
	}
	if e.MetricsAddr != "" {
		if err := checkAddr(e.MetricsAddr); err != nil {
			bad("GAVEL_METRICS_ADDR", "%v, or off", err)
		} else if _, port, _ := net.SplitHostPort(e.MetricsAddr); port != "0" && port == sitePort {
			bad("GAVEL_METRICS_ADDR", "must not use the site's port %s (GAVEL_ADDR): metrics are served apart from the site", port)
		}
	}
}

func (e Edge) logAttrs() []slog.Attr {
	maxConns := "auto"
	if e.MaxConns > 0 {
		maxConns = strconv.Itoa(e.MaxConns)
	}
	metrics := e.MetricsAddr
	if metrics == "" {
		metrics = "off"
	}
	hashes := "auto"
	if e.HashConcurrency > 0 {
		hashes = strconv.Itoa(e.HashConcurrency)
	}
	return []slog.Attr{
		slog.String("max_conns", maxConns),
		slog.String("hash_concurrency", hashes),
		slog.Int("max_conns_per_ip", e.ConnsPerIP()),
		slog.String("trusted_proxies", e.TrustedProxies),
		slog.String("metrics_addr", metrics),
		slog.Bool("pprof", e.Pprof),
	}
}
