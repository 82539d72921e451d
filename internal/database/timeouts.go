package database

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/internal/outage"
)

// Timeouts bound how long a PostgreSQL session may wait or stall. They are
// PostgreSQL's own settings, sent with every connection, so they hold even
// when the client is the one that stalled: a paused node's open
// transaction is ended by the server, and its row locks and advisory locks
// with it, instead of blocking every other node for as long as TCP takes
// to notice (about two hours with Linux's defaults).
type Timeouts struct {
	// Statement is statement_timeout: no statement runs longer.
	Statement time.Duration
	// Lock is lock_timeout: no statement waits longer for a lock.
	Lock time.Duration
	// IdleInTransaction is idle_in_transaction_session_timeout. Gavel's
	// transactions never wait on anything but the database, so a session
	// idle this long inside one belongs to a stalled or partitioned node.
	IdleInTransaction time.Duration
	// KeepAlive is how long a silent peer goes unnoticed, on both ends:
	// TCP keepalives start after KeepAlive/2 of silence, and unacknowledged
	// data fails the connection after KeepAlive (TCP_USER_TIMEOUT), so a
	// host that vanished without a reset is dropped in seconds.
	KeepAlive time.Duration
}

// DefaultTimeouts returns the timeouts for the default dependency bound
// (5s).
func DefaultTimeouts() Timeouts { return TimeoutsFor(5 * time.Second) }

// TimeoutsFor derives the session timeouts from the bound on how long a
// request may wait for the database. A statement or lock wait never
// outlasts the bound; a stalled transaction is ended well within it (at
// most 2s), so that a paused node holds up the others' bids only briefly.
func TimeoutsFor(bound time.Duration) Timeouts {
	return Timeouts{
		Statement:         bound,
		Lock:              bound,
		IdleInTransaction: min(bound, 2*time.Second),
		KeepAlive:         10 * time.Second,
	}
}

// apply sets each timeout as a startup parameter of pc, unless the URL set
// that parameter itself, and dials with TCP keepalives.
func (t Timeouts) apply(pc *pgx.ConnConfig) {
	set := func(name string, d time.Duration) {
		if _, ok := pc.RuntimeParams[name]; ok || d <= 0 {
			return
		}
		pc.RuntimeParams[name] = strconv.FormatInt(d.Milliseconds(), 10)
	}
	set("statement_timeout", t.Statement)
	set("lock_timeout", t.Lock)
	set("idle_in_transaction_session_timeout", t.IdleInTransaction)
	if t.KeepAlive <= 0 {
		return
	}
	// The server's side of the same connection: it notices a client host
	// that died and ends the session, releasing its locks.
	idle, interval := max(t.KeepAlive/2, time.Second), max(t.KeepAlive/6, time.Second)
	seconds := func(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
	if _, ok := pc.RuntimeParams["tcp_keepalives_idle"]; !ok {
		pc.RuntimeParams["tcp_keepalives_idle"] = seconds(idle)
		pc.RuntimeParams["tcp_keepalives_interval"] = seconds(interval)
		pc.RuntimeParams["tcp_keepalives_count"] = "3"
	}
	set("tcp_user_timeout", t.KeepAlive)
	d := &net.Dialer{
		Timeout: pc.ConnectTimeout,
		KeepAliveConfig: net.KeepAliveConfig{
			Enable: true, Idle: idle, Interval: interval, Count: 3,
		},
		Control: userTimeout(t.KeepAlive),
	}
	pc.DialFunc = d.DialContext
}

// pgSettingsName names the GORM plugin that carries a pool's pgx
// configuration.
const pgSettingsName = "gavel:postgres-settings"

// pgSettings keeps the configuration a PostgreSQL pool was opened with, so
// Migrate can open a pool like it.
type pgSettings struct{ cfg *pgx.ConnConfig }

func (pgSettings) Name() string              { return pgSettingsName }
func (pgSettings) Initialize(*gorm.DB) error { return nil }

// untimed is the configuration without the session timeouts.
func (p pgSettings) untimed() *pgx.ConnConfig {
	c := p.cfg.Copy()
	for _, name := range []string{"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"} {
		c.RuntimeParams[name] = "0"
	}
	return c
}

// classifyErrors makes every GORM operation on db return outage errors for
// a database that is down, restarting or stalled, so that no caller turns
// them into a 500. Errors read later from a *sql.Row (Row().Scan) and
// those of Transaction's BEGIN and COMMIT bypass callbacks: callers
// translate those with outage.DB.
func classifyErrors(db *gorm.DB) error {
	fn := func(tx *gorm.DB) {
		if tx.Error != nil {
			tx.Error = outage.DB(tx.Error)
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().Register("gavel:classify_errors", fn),
		cb.Query().Register("gavel:classify_errors", fn),
		cb.Update().Register("gavel:classify_errors", fn),
		cb.Delete().Register("gavel:classify_errors", fn),
		cb.Row().Register("gavel:classify_errors", fn),
		cb.Raw().Register("gavel:classify_errors", fn),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// PingTimeout pings db with at most bound of waiting.
func PingTimeout(ctx context.Context, db *gorm.DB, bound time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	return outage.DB(Ping(ctx, db))
}
