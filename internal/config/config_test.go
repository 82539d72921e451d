package config

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr []string // substrings; nil means no error
	}{
		{
			name: "nothing set keeps defaults",
			env:  nil,
			check: func(t *testing.T, c Config) {
				d := Default()
				if c != d {
					t.Errorf("got %+v, want %+v", c, d)
				}
			},
		},
		{
			name: "every setting",
			env: map[string]string{
				"GAVEL_ADDR":               "127.0.0.1:9000",
				"GAVEL_ROLE":               "Realtime",
				"GAVEL_DATA_DIR":           "/var/lib/gavel",
				"DATABASE_URL":             "postgres://u:p@db:5432/gavel",
				"NATS_URL":                 "nats://n1:4222,nats://n2:4222",
				"GAVEL_NATS_REPLICAS":      "3",
				"GAVEL_COOKIE_SECURE":      "true",
				"GAVEL_NODE":               "rt1",
				"GAVEL_DEMO":               "off",
				"GAVEL_HEARTBEAT":          "20s",
				"GAVEL_DEPENDENCY_TIMEOUT": "3s",
				"GAVEL_LOG_LEVEL":          "DEBUG",
				"GAVEL_LOG_FORMAT":         "json",
				"GAVEL_REMINDERS":          "30m, 5m,1h",
				"GAVEL_MEDIA_CACHE_MB":     "128",
				"GAVEL_RELAY_YIELD":        "0",
			},
			check: func(t *testing.T, c Config) {
				want := Config{
					Addr:              "127.0.0.1:9000",
					Role:              RoleRealtime,
					DataDir:           "/var/lib/gavel",
					DatabaseURL:       "postgres://u:p@db:5432/gavel",
					NATSURL:           "nats://n1:4222,nats://n2:4222",
					NATSReplicas:      3,
					CookieSecure:      true,
					NodeName:          "rt1",
					Demo:              DemoOff,
					Heartbeat:         20 * time.Second,
					DependencyTimeout: 3 * time.Second,
					LogLevel:          slog.LevelDebug,
					LogFormat:         LogJSON,
					Edge:              DefaultEdge(),
					Reminders:         "30m, 5m,1h",
					MediaCacheMB:      128,
					RelayYield:        0,
				}
				if got := c.ReminderDurations(); !slices.Equal(got, []time.Duration{time.Hour, 30 * time.Minute, 5 * time.Minute}) {
					t.Errorf("reminders %v", got)
				}
				if c != want {
					t.Errorf("got %+v, want %+v", c, want)
				}
			},
		},
		{
			name:    "bad role names the variable and the choices",
			env:     map[string]string{"GAVEL_ROLE": "x"},
			wantErr: []string{`GAVEL_ROLE: must be one of all, api, realtime (got "x")`},
		},
		{
			name:    "bad bool",
			env:     map[string]string{"GAVEL_COOKIE_SECURE": "yes please"},
			wantErr: []string{"GAVEL_COOKIE_SECURE: must be true or false"},
		},
		{
			name:    "bad replicas",
			env:     map[string]string{"GAVEL_NATS_REPLICAS": "three"},
			wantErr: []string{"GAVEL_NATS_REPLICAS: must be a whole number from 1 to 5"},
		},
		{
			name:    "bad duration",
			env:     map[string]string{"GAVEL_HEARTBEAT": "15"},
			wantErr: []string{"GAVEL_HEARTBEAT: must be a duration"},
		},
		{
			name:    "bad media cache",
			env:     map[string]string{"GAVEL_MEDIA_CACHE_MB": "64MB"},
			wantErr: []string{"GAVEL_MEDIA_CACHE_MB: must be a whole number of megabytes"},
		},
		{
			name:    "relay yield without a unit",
			env:     map[string]string{"GAVEL_RELAY_YIELD": "30"},
			wantErr: []string{"GAVEL_RELAY_YIELD: must be a duration such as 30ms, or 0"},
		},
		{
			name:    "bad level",
			env:     map[string]string{"GAVEL_LOG_LEVEL": "loud"},
			wantErr: []string{"GAVEL_LOG_LEVEL: must be one of debug, info, warn, error"},
		},
		{
			name:    "bad reminders",
			env:     map[string]string{"GAVEL_REMINDERS": "15m,soon"},
			wantErr: []string{"GAVEL_REMINDERS: must be durations such as 15m,1m"},
		},
		{
			name:    "reminder too short",
			env:     map[string]string{"GAVEL_REMINDERS": "1s"},
			wantErr: []string{"GAVEL_REMINDERS: each reminder must be from 10s to 24h"},
		},
		{
			name:    "reminder twice",
			env:     map[string]string{"GAVEL_REMINDERS": "1m,60s"},
			wantErr: []string{"GAVEL_REMINDERS: 1m0s is listed twice"},
		},
		{
			name:    "bad format and demo are both reported",
			env:     map[string]string{"GAVEL_LOG_FORMAT": "xml", "GAVEL_DEMO": "maybe"},
			wantErr: []string{"GAVEL_LOG_FORMAT: must be one of text, json", "GAVEL_DEMO: must be one of auto, on, off"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			err := c.FromEnv(envOf(tt.env))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("FromEnv: %v", err)
				}
				tt.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("FromEnv: no error, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(c *Config)
		wantErr string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"postgres url", func(c *Config) { c.DatabaseURL = "postgres://u:p@h/db" }, ""},
		{"postgresql url", func(c *Config) { c.DatabaseURL = "postgresql://h:5432/db?sslmode=disable" }, ""},
		{"mysql url", func(c *Config) { c.DatabaseURL = "mysql://u:secret@h/db" }, `DATABASE_URL: scheme must be postgres:// or postgresql:// (got "mysql")`},
		{"key value dsn", func(c *Config) { c.DatabaseURL = "host=h user=u password=secret" }, "DATABASE_URL: scheme must be"},
		{"nats list", func(c *Config) { c.NATSURL = "nats://a:4222, tls://b:4222,ws://c:8080" }, ""},
		{"nats http", func(c *Config) { c.NATSURL = "nats://a:4222,http://b:4222" }, `NATS_URL: scheme must be nats:// or tls:// or ws:// or wss:// (got "http")`},
		{"nats no host", func(c *Config) { c.NATSURL = "nats://" }, "NATS_URL: URL has no host"},
		{"addr without port", func(c *Config) { c.Addr = "localhost" }, "GAVEL_ADDR: must be host:port"},
		{"addr bad port", func(c *Config) { c.Addr = ":http" }, "GAVEL_ADDR: port must be a number"},
		{"addr port too big", func(c *Config) { c.Addr = ":70000" }, "GAVEL_ADDR: port must be a number"},
		{"bad role", func(c *Config) { c.Role = "edge" }, `GAVEL_ROLE: must be one of all, api, realtime (got "edge")`},
		{"empty data dir", func(c *Config) { c.DataDir = " " }, "GAVEL_DATA_DIR: must not be empty"},
		{"node with space", func(c *Config) { c.NodeName = "node 1" }, "GAVEL_NODE: must be"},
		{"empty node", func(c *Config) { c.NodeName = "" }, "GAVEL_NODE: must be"},
		{"replicas on a cluster", func(c *Config) { c.NATSURL = "nats://a:4222"; c.NATSReplicas = 3 }, ""},
		{"no replicas", func(c *Config) { c.NATSURL = "nats://a:4222"; c.NATSReplicas = 0 }, "GAVEL_NATS_REPLICAS: must be from 1 to 5 (got 0)"},
		{"more replicas than JetStream keeps", func(c *Config) { c.NATSURL = "nats://a:4222"; c.NATSReplicas = 6 }, "GAVEL_NATS_REPLICAS: must be from 1 to 5 (got 6)"},
		{"replicas on the embedded server", func(c *Config) { c.NATSReplicas = 3 }, "GAVEL_NATS_REPLICAS: above 1 needs NATS_URL"},
		{"heartbeat too short", func(c *Config) { c.Heartbeat = 10 * time.Millisecond }, "GAVEL_HEARTBEAT: must be between 1s and 5m"},
		{"heartbeat too long", func(c *Config) { c.Heartbeat = time.Hour }, "GAVEL_HEARTBEAT: must be between 1s and 5m"},
		{"dependency timeout too short", func(c *Config) { c.DependencyTimeout = 100 * time.Millisecond }, "GAVEL_DEPENDENCY_TIMEOUT: must be between 1s and 1m"},
		{"dependency timeout too long", func(c *Config) { c.DependencyTimeout = time.Hour }, "GAVEL_DEPENDENCY_TIMEOUT: must be between 1s and 1m"},
		{"no media cache", func(c *Config) { c.MediaCacheMB = 0 }, "GAVEL_MEDIA_CACHE_MB: must be from 1 to 4096 (got 0)"},
		{"media cache too big", func(c *Config) { c.MediaCacheMB = 5000 }, "GAVEL_MEDIA_CACHE_MB: must be from 1 to 4096"},
		{"no relay yield", func(c *Config) { c.RelayYield = 0 }, ""},
		{"longest relay yield", func(c *Config) { c.RelayYield = MaxRelayYield }, ""},
		{"relay yield too long", func(c *Config) { c.RelayYield = time.Second }, "GAVEL_RELAY_YIELD: must be from 0 to 250ms (got 1s)"},
		{"negative relay yield", func(c *Config) { c.RelayYield = -5 * time.Millisecond }, "GAVEL_RELAY_YIELD: must be from 0 to 250ms (got -5ms)"},
		{"odd level", func(c *Config) { c.LogLevel = slog.LevelInfo + 2 }, "GAVEL_LOG_LEVEL"},
		{"bad format", func(c *Config) { c.LogFormat = "xml" }, "GAVEL_LOG_FORMAT"},
		{"bad demo", func(c *Config) { c.Demo = "yes" }, "GAVEL_DEMO"},
		{"api alone needs postgres", func(c *Config) { c.Role = RoleAPI; c.NATSURL = "nats://n:4222" }, "DATABASE_URL: required when GAVEL_ROLE is api"},
		{"realtime alone needs nats", func(c *Config) { c.Role = RoleRealtime; c.DatabaseURL = "postgres://h/db" }, "NATS_URL: required when GAVEL_ROLE is realtime"},
		{"split role fully set", func(c *Config) {
			c.Role = RoleAPI
			c.DatabaseURL = "postgres://h/db"
			c.NATSURL = "nats://n:4222"
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Default()
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Validate: no error, want %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Validate: %q does not contain %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
}

func TestMaskURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in           string
		userIsSecret bool
		want         string
	}{
		{"", false, ""},
		{"postgres://gavel:s3cret@db:5432/gavel?sslmode=disable", false, "postgres://gavel:****@db:5432/gavel?sslmode=disable"},
		{"postgres://gavel@db/gavel", false, "postgres://gavel@db/gavel"},
		{"postgres://db/gavel?user=u&password=s3cret", false, "postgres://db/gavel?password=****&user=u"},
		{"postgres://u:p%40ss@db/gavel", false, "postgres://u:****@db/gavel"},
		{"nats://alice:s3cret@n1:4222", true, "nats://alice:****@n1:4222"},
		{"nats://s3cret@n1:4222", true, "nats://****@n1:4222"},
		{"nats://n1:4222", true, "nats://n1:4222"},
		{"host=db password=s3cret", false, "****"},
		{"://s3cret", false, "****"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := MaskURL(tt.in, tt.userIsSecret); got != tt.want {
				t.Errorf("MaskURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestConfigPrintsEverySettingMasked(t *testing.T) {
	t.Parallel()
	c := Default()
	c.DatabaseURL = "postgres://gavel:s3cret@db:5432/gavel"
	c.NATSURL = "nats://tok3n@n1:4222,nats://u:s3cret@n2:4222"
	c.NodeName = "api1"

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("start", "config", c)
	str := c.String()
	for _, out := range []string{buf.String(), str} {
		if strings.Contains(out, "s3cret") || strings.Contains(out, "tok3n") {
			t.Errorf("secret printed: %s", out)
		}
		for _, want := range []string{"addr", "role", "data_dir", "database_url", "nats_url", "cookie_secure", "node", "demo", "heartbeat", "log_level", "log_format", "gavel:****@db:5432"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q missing from %s", want, out)
			}
		}
	}
	if len(c.LogValue().Group()) != len(EnvKeys()) {
		t.Errorf("LogValue prints %d settings, EnvKeys has %d", len(c.LogValue().Group()), len(EnvKeys()))
	}
	if !strings.Contains(str, "addr=:8080 role=all ") || !strings.Contains(str, "log_level=info") {
		t.Errorf("String() = %s", str)
	}
}

func TestRoleServes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role            Role
		api, streams    bool
		validRoleParsed bool
	}{
		{RoleAll, true, true, true},
		{RoleAPI, true, false, true},
		{RoleRealtime, false, true, true},
		{"edge", false, false, false},
	}
	for _, tt := range tests {
		if got := tt.role.ServesAPI(); got != tt.api {
			t.Errorf("%s.ServesAPI() = %v", tt.role, got)
		}
		if got := tt.role.ServesStreams(); got != tt.streams {
			t.Errorf("%s.ServesStreams() = %v", tt.role, got)
		}
		var r Role
		if err := r.Set(string(tt.role)); (err == nil) != tt.validRoleParsed {
			t.Errorf("Set(%q) error = %v", tt.role, err)
		}
	}
}
