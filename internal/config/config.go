// Package config holds the settings of the gavel binary: one struct, read
// from the environment, overridable by flags, validated once, and printed at
// start-up with its secrets masked.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Role says which parts of Gavel a node runs.
type Role string

// The roles. A split deployment runs api and realtime nodes side by side,
// sharing PostgreSQL and NATS.
const (
	RoleAll      Role = "all"      // pages, API, streams and background jobs in one process
	RoleAPI      Role = "api"      // pages, JSON API and background jobs; no streams
	RoleRealtime Role = "realtime" // only the /stream/* endpoints
)

// Roles lists the valid roles in the order they are documented.
func Roles() []Role { return []Role{RoleAll, RoleAPI, RoleRealtime} }

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r == RoleAll || r == RoleAPI || r == RoleRealtime }

// ServesAPI reports whether a node in role r serves pages and the JSON API.
func (r Role) ServesAPI() bool { return r == RoleAll || r == RoleAPI }

// ServesStreams reports whether a node in role r serves the event streams.
func (r Role) ServesStreams() bool { return r == RoleAll || r == RoleRealtime }

// String returns the role's name.
func (r Role) String() string { return string(r) }

// Set parses s into r, so a *Role can be a flag.Value.
func (r *Role) Set(s string) error {
	v := Role(strings.ToLower(strings.TrimSpace(s)))
	if !v.Valid() {
		return fmt.Errorf("must be one of %s (got %q)", joinNames(Roles()), s)
	}
	*r = v
	return nil
}

// Demo says whether the server seeds demo users and auctions.
type Demo string

// The demo modes.
const (
	DemoAuto Demo = "auto" // on only with SQLite (no DATABASE_URL), on an empty or demo database
	DemoOn   Demo = "on"
	DemoOff  Demo = "off"
)

// Demos lists the valid demo modes.
func Demos() []Demo { return []Demo{DemoAuto, DemoOn, DemoOff} }

// Valid reports whether d is one of Demos.
func (d Demo) Valid() bool { return d == DemoAuto || d == DemoOn || d == DemoOff }

// String returns the mode's name.
func (d Demo) String() string { return string(d) }

// Set parses s into d, so a *Demo can be a flag.Value.
func (d *Demo) Set(s string) error {
	v := Demo(strings.ToLower(strings.TrimSpace(s)))
	if !v.Valid() {
		return fmt.Errorf("must be one of %s (got %q)", joinNames(Demos()), s)
	}
	*d = v
	return nil
}

// LogFormat is the encoding of log lines.
type LogFormat string

// The log formats.
const (
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)

// LogFormats lists the valid log formats.
func LogFormats() []LogFormat { return []LogFormat{LogText, LogJSON} }

// Valid reports whether f is one of LogFormats.
func (f LogFormat) Valid() bool { return f == LogText || f == LogJSON }

// String returns the format's name.
func (f LogFormat) String() string { return string(f) }

// Set parses s into f, so a *LogFormat can be a flag.Value.
func (f *LogFormat) Set(s string) error {
	v := LogFormat(strings.ToLower(strings.TrimSpace(s)))
	if !v.Valid() {
		return fmt.Errorf("must be one of %s (got %q)", joinNames(LogFormats()), s)
	}
	*f = v
	return nil
}

// Config is every setting of the gavel binary. The zero value is not
// useful: start from Default.
type Config struct {
	Addr         string        // GAVEL_ADDR: host:port to listen on
	Role         Role          // GAVEL_ROLE
	DataDir      string        // GAVEL_DATA_DIR: SQLite file and embedded NATS storage
	DatabaseURL  string        // DATABASE_URL: postgres://…; empty means SQLite in DataDir
	NATSURL      string        // NATS_URL: comma-separated; empty means an embedded server
	NATSReplicas int           // GAVEL_NATS_REPLICAS: copies JetStream keeps of the event stream
	CookieSecure bool          // GAVEL_COOKIE_SECURE: set behind TLS
	NodeName     string        // GAVEL_NODE: names this node in logs and NATS
	Demo         Demo          // GAVEL_DEMO
	Heartbeat    time.Duration // GAVEL_HEARTBEAT: idle interval between stream comments
	// DependencyTimeout (GAVEL_DEPENDENCY_TIMEOUT) bounds how long a
	// request waits on a dependency that is down or paused before it
	// answers 503; PostgreSQL's statement and lock timeouts follow it.
	DependencyTimeout time.Duration
	LogLevel          slog.Level // GAVEL_LOG_LEVEL
	LogFormat         LogFormat  // GAVEL_LOG_FORMAT
	Mail              Mail       // GAVEL_PUBLIC_URL, GAVEL_SMTP_*, GAVEL_MAIL_FROM (mail.go)
	MediaCacheMB      int        // GAVEL_MEDIA_CACHE_MB: photo files an API node keeps in memory
	Edge              Edge       // GAVEL_MAX_CONNS*, GAVEL_TRUSTED_PROXIES, GAVEL_METRICS_ADDR, GAVEL_HASH_CONCURRENCY (edge.go)
	// CommissionBPS is GAVEL_COMMISSION_BPS (invoicing.go).
	CommissionBPS int64
	RelayYield    time.Duration // GAVEL_RELAY_YIELD (relay.go); 0 means never wait
	// Reminders are the watchlist's ending_soon thresholds before a lot's
	// end (GAVEL_REMINDERS), as given; ReminderDurations parses them. A
	// string keeps Config comparable.
	Reminders string
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Addr:              ":8080",
		Role:              RoleAll,
		DataDir:           "./data",
		NodeName:          defaultNodeName(),
		NATSReplicas:      1,
		Demo:              DemoAuto,
		Heartbeat:         15 * time.Second,
		DependencyTimeout: 5 * time.Second,
		LogLevel:          slog.LevelInfo,
		LogFormat:         LogText,
		Edge:              DefaultEdge(),
		Reminders:         "15m,1m",
		MediaCacheMB:      64,
		RelayYield:        30 * time.Millisecond,
	}
}

func defaultNodeName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "gavel"
	}
	return h
}

// Setting describes one configuration setting, for documentation and for
// checks that other files (docker-compose.yml, docs) agree with this
// package.
type Setting struct {
	Env     string // environment variable
	Flag    string // flag of `gavel serve`, without dashes; empty if none
	Default string // as documented
	Usage   string // one line
}

// settingRow is a Setting and how to read its value into a Config.
type settingRow struct {
	Setting
	parse func(c *Config, v string) error
}

// settings is the single table FromEnv, EnvKeys and Settings are built
// from. It is a function, not a variable, so nothing can mutate it.
func settings() []settingRow {
	return append([]settingRow{
		{Setting{"GAVEL_ADDR", "addr", ":8080", "host:port to listen on"},
			func(c *Config, v string) error { c.Addr = v; return nil }},
		{Setting{"GAVEL_ROLE", "role", "all", "which parts to run: all, api (pages, JSON API, jobs) or realtime (/stream/* only)"},
			func(c *Config, v string) error { return c.Role.Set(v) }},
		{Setting{"GAVEL_DATA_DIR", "data-dir", "./data", "directory for the SQLite file and the embedded NATS store"},
			func(c *Config, v string) error { c.DataDir = v; return nil }},
		{Setting{"DATABASE_URL", "", "(empty: SQLite in the data dir)", "PostgreSQL URL, postgres://user:pass@host:5432/db"},
			func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
		{Setting{"NATS_URL", "", "(empty: embedded NATS)", "NATS server URLs, comma-separated, nats://host:4222"},
			func(c *Config, v string) error { c.NATSURL = v; return nil }},
		{Setting{"GAVEL_NATS_REPLICAS", "", "1", "copies of the JetStream event stream, 1 to 5; above 1 needs a NATS cluster"},
			func(c *Config, v string) error {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("must be a whole number from 1 to 5 (got %q)", v)
				}
				c.NATSReplicas = n
				return nil
			}},
		{Setting{"GAVEL_COOKIE_SECURE", "", "false", "mark the session cookie Secure; turn on behind TLS"},
			parseBool(func(c *Config) *bool { return &c.CookieSecure })},
		{Setting{"GAVEL_NODE", "", "(the hostname)", "name of this node in logs and NATS"},
			func(c *Config, v string) error { c.NodeName = v; return nil }},
		{Setting{"GAVEL_DEMO", "", "auto", "run the demo: auto (only with SQLite, on an empty or demo database), on or off"},
			func(c *Config, v string) error { return c.Demo.Set(v) }},
		{Setting{"GAVEL_HEARTBEAT", "", "15s", "interval of keep-alive comments on idle streams"},
			parseDuration("15s", func(c *Config) *time.Duration { return &c.Heartbeat })},
		{Setting{"GAVEL_DEPENDENCY_TIMEOUT", "", "5s", "longest a request waits on the database or NATS before it answers 503"},
			parseDuration("5s", func(c *Config) *time.Duration { return &c.DependencyTimeout })},
		{Setting{"GAVEL_MEDIA_CACHE_MB", "", "64", "megabytes of photo files an API node keeps in memory, 1 to 4096"},
			func(c *Config, v string) error {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("must be a whole number of megabytes from 1 to 4096 (got %q)", v)
				}
				c.MediaCacheMB = n
				return nil
			}},
		{Setting{"GAVEL_LOG_LEVEL", "", "info", "debug, info, warn or error"},
			func(c *Config, v string) error {
				l, err := ParseLevel(v)
				if err != nil {
					return err
				}
				c.LogLevel = l
				return nil
			}},
		{Setting{"GAVEL_LOG_FORMAT", "", "text", "text or json"},
			func(c *Config, v string) error { return c.LogFormat.Set(v) }},
		{Setting{"GAVEL_REMINDERS", "", "15m,1m", "watchlist reminders (ending_soon) before a lot's end, comma-separated"},
			func(c *Config, v string) error {
				if _, err := ParseReminders(v); err != nil {
					return err
				}
				c.Reminders = strings.TrimSpace(v)
				return nil
			}},
	}, slices.Concat(mailSettings(), edgeSettings(), invoicingSettings(), relaySettings())...)
}

// Bounds of GAVEL_REMINDERS.
const (
	maxReminders   = 5
	minReminder    = 10 * time.Second
	maxReminderDur = 24 * time.Hour
)

// ParseReminders reads "15m,1m": one to five distinct durations from 10s
// to 24h, returned largest first.
func ParseReminders(v string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("must be durations such as 15m,1m (got %q)", v)
		}
		if d < minReminder || d > maxReminderDur {
			return nil, fmt.Errorf("each reminder must be from 10s to 24h before the end (got %s)", d)
		}
		if slices.Contains(out, d) {
			return nil, fmt.Errorf("%s is listed twice", d)
		}
		out = append(out, d)
	}
	if len(out) > maxReminders {
		return nil, fmt.Errorf("at most %d reminders (got %d)", maxReminders, len(out))
	}
	slices.SortFunc(out, func(a, b time.Duration) int { return int(b - a) })
	return out, nil
}

// parseDuration reads a duration into the field; example is shown in the
// message for a value that is not one.
func parseDuration(example string, field func(c *Config) *time.Duration) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("must be a duration such as %s (got %q)", example, v)
		}
		*field(c) = d
		return nil
	}
}

func parseBool(field func(c *Config) *bool) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("must be true or false (got %q)", v)
		}
		*field(c) = b
		return nil
	}
}

// Settings describes every setting, in documentation order.
func Settings() []Setting {
	rows := settings()
	out := make([]Setting, len(rows))
	for i, r := range rows {
		out[i] = r.Setting
	}
	return out
}

// EnvKeys lists every environment variable FromEnv reads.
func EnvKeys() []string {
	rows := settings()
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Env
	}
	return out
}

// FromEnv overrides c with every variable getenv returns non-empty. Each bad
// value yields an error that starts with the variable's name; all of them
// are reported at once.
func (c *Config) FromEnv(getenv func(string) string) error {
	var errs []error
	for _, s := range settings() {
		v := getenv(s.Env)
		if v == "" {
			continue
		}
		if err := s.parse(c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Env, err))
		}
	}
	return errors.Join(errs...)
}

// ParseLevel parses debug, info, warn or error (any case).
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("must be one of debug, info, warn, error (got %q)", s)
}

// levelName is the inverse of ParseLevel for the four levels it accepts.
func levelName(l slog.Level) string {
	return strings.ToLower(l.String())
}

// Validate checks every setting and how they combine. Errors name the
// environment variable, because that is how most deployments set them.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	if err := checkAddr(c.Addr); err != nil {
		bad("GAVEL_ADDR", "%v", err)
	}
	if !c.Role.Valid() {
		bad("GAVEL_ROLE", "must be one of %s (got %q)", joinNames(Roles()), c.Role)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("GAVEL_DATA_DIR", "must not be empty")
	}
	if c.DatabaseURL != "" {
		if err := checkURL(c.DatabaseURL, "postgres", "postgresql"); err != nil {
			bad("DATABASE_URL", "%v", err)
		}
	}
	if c.NATSURL != "" {
		for _, u := range strings.Split(c.NATSURL, ",") {
			if err := checkURL(strings.TrimSpace(u), "nats", "tls", "ws", "wss"); err != nil {
				bad("NATS_URL", "%v", err)
			}
		}
	}
	// JetStream keeps at most 5 copies, one per server; the embedded server
	// is a single one.
	switch {
	case c.NATSReplicas < 1 || c.NATSReplicas > 5:
		bad("GAVEL_NATS_REPLICAS", "must be from 1 to 5 (got %d)", c.NATSReplicas)
	case c.NATSReplicas > 1 && c.NATSURL == "":
		bad("GAVEL_NATS_REPLICAS", "above 1 needs NATS_URL: the embedded NATS is a single server (got %d)", c.NATSReplicas)
	}
	if c.NodeName == "" || strings.IndexFunc(c.NodeName, notNameRune) >= 0 {
		bad("GAVEL_NODE", "must be non-empty letters, digits, '.', '-' or '_' (got %q)", c.NodeName)
	}
	if !c.Demo.Valid() {
		bad("GAVEL_DEMO", "must be one of %s (got %q)", joinNames(Demos()), c.Demo)
	}
	// Below a second the comments are traffic; above a few minutes proxies
	// drop the idle connection and dead clients are noticed too late.
	if c.Heartbeat < time.Second || c.Heartbeat > 5*time.Minute {
		bad("GAVEL_HEARTBEAT", "must be between 1s and 5m (got %s)", c.Heartbeat)
	}
	// Under a second, a busy but healthy database trips it; past a minute,
	// clients and proxies give up first and nobody sees the 503.
	if c.DependencyTimeout < time.Second || c.DependencyTimeout > time.Minute {
		bad("GAVEL_DEPENDENCY_TIMEOUT", "must be between 1s and 1m (got %s)", c.DependencyTimeout)
	}
	if c.MediaCacheMB < 1 || c.MediaCacheMB > 4096 {
		bad("GAVEL_MEDIA_CACHE_MB", "must be from 1 to 4096 (got %d)", c.MediaCacheMB)
	}
	switch c.LogLevel {
	case slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError:
	default:
		bad("GAVEL_LOG_LEVEL", "must be one of debug, info, warn, error (got %s)", c.LogLevel)
	}
	if !c.LogFormat.Valid() {
		bad("GAVEL_LOG_FORMAT", "must be one of %s (got %q)", joinNames(LogFormats()), c.LogFormat)
	}
	if _, err := ParseReminders(c.Reminders); err != nil {
		bad("GAVEL_REMINDERS", "%v", err)
	}
	c.Mail.validate(bad)
	c.validateRelay(bad)
	c.Edge.validate(c.Port(), bad)
	// Split roles only make sense when every node sees the same data and
	// events; an embedded NATS or a local SQLite file is private to one
	// process, so an api node's bids would never reach a realtime node.
	if c.Role == RoleAPI || c.Role == RoleRealtime {
		if c.DatabaseURL == "" {
			bad("DATABASE_URL", "required when GAVEL_ROLE is %s: SQLite is private to one node", c.Role)
		}
		if c.NATSURL == "" {
			bad("NATS_URL", "required when GAVEL_ROLE is %s: the embedded NATS is private to one node", c.Role)
		}
	}
	return errors.Join(errs...)
}

func notNameRune(r rune) bool {
	return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' || r == '_'))
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be host:port or :port (got %q)", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port must be a number from 0 to 65535 (got %q)", port)
	}
	return nil
}

// checkURL reports an error that never repeats the URL, since it may hold
// a password.
func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL")
	}
	for _, s := range schemes {
		if strings.EqualFold(u.Scheme, s) {
			if u.Host == "" {
				return errors.New("URL has no host")
			}
			return nil
		}
	}
	return fmt.Errorf("scheme must be %s (got %q)", joinSchemes(schemes), u.Scheme)
}

// Port returns the port part of Addr, or "" if Addr is malformed.
func (c Config) Port() string {
	_, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return ""
	}
	return port
}

// LogValue prints every setting, with passwords and tokens masked, so the
// whole Config can be logged at start-up.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(append([]slog.Attr{
		slog.String("addr", c.Addr),
		slog.String("role", string(c.Role)),
		slog.String("data_dir", c.DataDir),
		slog.String("database_url", MaskURL(c.DatabaseURL, false)),
		slog.String("nats_url", MaskNATSURLs(c.NATSURL)),
		slog.Int("nats_replicas", c.NATSReplicas),
		slog.Bool("cookie_secure", c.CookieSecure),
		slog.String("node", c.NodeName),
		slog.String("demo", string(c.Demo)),
		slog.String("heartbeat", c.Heartbeat.String()),
		slog.String("dependency_timeout", c.DependencyTimeout.String()),
		slog.Int("media_cache_mb", c.MediaCacheMB),
		slog.String("log_level", levelName(c.LogLevel)),
		slog.String("log_format", string(c.LogFormat)),
		slog.String("reminders", c.Reminders),
	}, append(append(c.Mail.logAttrs(), c.Edge.logAttrs()...), slog.Int64("commission_bps", c.CommissionBPS), slog.String("relay_yield", c.RelayYield.String()))...)...)
}

// String prints every setting as key=value pairs, secrets masked.
func (c Config) String() string {
	var b strings.Builder
	for i, a := range c.LogValue().Group() {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := a.Value.String()
		if v == "" || strings.ContainsAny(v, " \"=") {
			v = strconv.Quote(v)
		}
		b.WriteString(a.Key + "=" + v)
	}
	return b.String()
}

const mask = "****"

// placeholder stands in for mask while the URL is re-encoded: url.String
// would escape the asterisks, this survives untouched.
const placeholder = "GAVELMASKEDSECRET"

// MaskURL replaces the password in raw's userinfo, and password or token
// query parameters, with ****. When userIsSecret is set a lone user name is
// masked too: NATS reads nats://TOKEN@host as a token. A value that does not
// parse is masked whole, because it might be anything.
func MaskURL(raw string, userIsSecret bool) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return mask
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), placeholder)
		} else if userIsSecret {
			u.User = url.User(placeholder)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") || strings.EqualFold(k, "token") {
				q.Set(k, placeholder)
			}
		}
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), placeholder, mask)
}

// MaskNATSURLs masks each URL of a comma-separated NATS_URL list, user
// names included, since NATS reads a lone user name as a token.
func MaskNATSURLs(list string) string {
	if list == "" {
		return ""
	}
	parts := strings.Split(list, ",")
	for i, p := range parts {
		parts[i] = MaskURL(strings.TrimSpace(p), true)
	}
	return strings.Join(parts, ",")
}

// ReminderDurations returns the reminder thresholds, largest first.
func (c Config) ReminderDurations() []time.Duration {
	ds, _ := ParseReminders(c.Reminders) // Validate checked them
	return ds
}

func joinNames[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func joinSchemes(schemes []string) string {
	s := make([]string, len(schemes))
	for i, v := range schemes {
		s[i] = v + "://"
	}
	return strings.Join(s, " or ")
}
