package config

import (
	"strings"
	"testing"
)

func TestEdgeSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    Edge
		wantErr string
	}{
		{name: "defaults", env: nil, want: DefaultEdge()},
		{name: "all set", env: map[string]string{
			"GAVEL_MAX_CONNS": "5000", "GAVEL_MAX_CONNS_PER_IP": "0",
			"GAVEL_TRUSTED_PROXIES": " 10.1.2.3/8, 192.168.1.5 ,::1", "GAVEL_METRICS_ADDR": ":9464", "GAVEL_HASH_CONCURRENCY": "3",
		}, want: Edge{MaxConns: 5000, TrustedProxies: "10.0.0.0/8,192.168.1.5/32,::1/128", MetricsAddr: ":9464", HashConcurrency: 3}},
		{name: "auto and off", env: map[string]string{"GAVEL_MAX_CONNS": "AUTO", "GAVEL_METRICS_ADDR": "off", "GAVEL_HASH_CONCURRENCY": "auto"},
			want: Edge{MaxConnsPerIP: DefaultMaxConnsPerIP}},
		{name: "too few conns", env: map[string]string{"GAVEL_MAX_CONNS": "3"}, wantErr: "GAVEL_MAX_CONNS: must be auto or a whole number of at least 16"},
		{name: "negative per IP", env: map[string]string{"GAVEL_MAX_CONNS_PER_IP": "-1"}, wantErr: "GAVEL_MAX_CONNS_PER_IP: must be a whole number"},
		{name: "bad proxy", env: map[string]string{"GAVEL_TRUSTED_PROXIES": "10.0.0.0/8,caddy"}, wantErr: `GAVEL_TRUSTED_PROXIES: must be CIDRs or addresses separated by commas, such as 10.0.0.0/8,192.168.1.5 (got "caddy")`},
		{name: "metrics on the site's port", env: map[string]string{"GAVEL_ADDR": "127.0.0.1:8080", "GAVEL_METRICS_ADDR": ":8080"}, wantErr: "GAVEL_METRICS_ADDR: must not use the site's port 8080"},
		{name: "no hashing", env: map[string]string{"GAVEL_HASH_CONCURRENCY": "0"}, wantErr: "GAVEL_HASH_CONCURRENCY: must be auto or a whole number of at least 1"},
		{name: "bad metrics addr", env: map[string]string{"GAVEL_METRICS_ADDR": "9464"}, wantErr: "GAVEL_METRICS_ADDR: must be host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			err := c.FromEnv(func(k string) string { return tt.env[k] })
			if err == nil {
				err = c.Validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Edge != tt.want {
				t.Errorf("Edge = %+v, want %+v", c.Edge, tt.want)
			}
		})
	}
}

func TestConnsPerIPOffBehindProxies(t *testing.T) {
	t.Parallel()
	e := DefaultEdge()
	if e.ConnsPerIP() != DefaultMaxConnsPerIP {
		t.Fatalf("ConnsPerIP = %d", e.ConnsPerIP())
	}
	e.TrustedProxies = "10.0.0.0/8"
	if e.ConnsPerIP() != 0 {
		t.Errorf("ConnsPerIP behind a proxy = %d, want 0 (off)", e.ConnsPerIP())
	}
	if got := e.Proxies(); len(got) != 1 || got[0].String() != "10.0.0.0/8" {
		t.Errorf("Proxies = %v", got)
	}
}

func TestAutoMaxConns(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		limit uint64
		want  int
	}{{20000, 19000}, {1024, 768}, {100, minMaxConns}, {1 << 20, 996148}} {
		if got := AutoMaxConns(tt.limit); got != tt.want {
			t.Errorf("AutoMaxConns(%d) = %d, want %d", tt.limit, got, tt.want)
		}
	}
}
