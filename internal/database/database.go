// Package database opens Gavel's database, PostgreSQL or SQLite, through
// GORM, and migrates it with goose. Nothing here calls AutoMigrate: the
// schema lives in versioned SQL in the migrations package.
package database

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/gavel-auctions/gavel/internal/outage"
	"github.com/gavel-auctions/gavel/migrations"
)

// Dialect names the database behind a *gorm.DB.
type Dialect string

// The dialects. Their values are also the migration folder names.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// SQLiteFile is the database file's name inside the data directory.
const SQLiteFile = "gavel.db"

// Pool sizes for PostgreSQL. 32 connections cover the bid path's bursts on
// a few cores without starving other replicas of max_connections (100 by
// default); every idle connection is kept, so bursts do not pay for
// dialling (with fewer idle than open, each burst of reads closed the
// surplus and the next one dialled again, mid-storm), and recycled so a
// failover or a PgBouncer restart is picked up.
const (
	pgMaxOpen     = 32
	pgMaxIdle     = 32
	pgMaxLifetime = 30 * time.Minute
)

// SQLite pragmas: wait up to 10s for the write lock instead of failing with
// SQLITE_BUSY, write-ahead logging so readers never block the writer,
// enforced foreign keys (off by default in SQLite), and BEGIN IMMEDIATE so
// a transaction takes the write lock up front rather than failing to
// upgrade a read lock half-way through.
const sqliteParams = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"

// An Option tunes Open.
type Option func(*options)

type options struct {
	log      *slog.Logger
	timeouts Timeouts
	lazy     bool
}

// WithLogger sends GORM's warnings (slow queries, errors) to log. Without
// it GORM logs nothing.
func WithLogger(log *slog.Logger) Option {
	return func(o *options) { o.log = log }
}

// WithTimeouts replaces the PostgreSQL session timeouts (DefaultTimeouts).
func WithTimeouts(t Timeouts) Option {
	return func(o *options) { o.timeouts = t }
}

// Lazy skips the ping of a PostgreSQL database, so Open succeeds while the
// server is still down; the pool connects on first use. A node starting
// before its database uses it, and waits for Ping itself.
func Lazy() Option {
	return func(o *options) { o.lazy = true }
}

// Open connects to databaseURL (postgres:// or postgresql://), or, when it
// is empty, opens the SQLite file dataDir/gavel.db, creating dataDir. It
// pings the database before returning (unless Lazy). Errors of a database
// that is down, restarting or stalled come back from every GORM call as
// outage errors (code unavailable).
func Open(ctx context.Context, databaseURL, dataDir string, opts ...Option) (*gorm.DB, Dialect, error) {
	o := options{timeouts: DefaultTimeouts()}
	for _, opt := range opts {
		opt(&o)
	}
	cfg := &gorm.Config{
		// Gavel opens its own transactions where it needs them; wrapping
		// every single write in another one only costs a round trip.
		SkipDefaultTransaction: true,
		// PostgreSQL keeps microseconds; truncating here makes a value read
		// back equal to the value written, on both dialects.
		NowFunc: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		Logger:  gormLogger(o.log),
		// Open pings below, under ctx; GORM's own ping would ignore it.
		DisableAutomaticPing: true,
	}
	if databaseURL != "" {
		db, err := openPostgres(databaseURL, o.timeouts, cfg)
		if err != nil {
			return nil, "", err
		}
		if err := classifyErrors(db); err != nil {
			_ = Close(db)
			return nil, "", err
		}
		if o.lazy {
			return db, Postgres, nil
		}
		if err := Ping(ctx, db); err != nil {
			_ = Close(db)
			return nil, "", fmt.Errorf("connect to %s: %w", Describe(databaseURL, dataDir), err)
		}
		return db, Postgres, nil
	}
	db, err := openSQLite(dataDir, cfg)
	if err != nil {
		return nil, "", err
	}
	if err := classifyErrors(db); err != nil {
		_ = Close(db)
		return nil, "", err
	}
	if err := Ping(ctx, db); err != nil {
		_ = Close(db)
		return nil, "", fmt.Errorf("open %s: %w", Describe("", dataDir), err)
	}
	return db, SQLite, nil
}

func gormLogger(log *slog.Logger) logger.Interface {
	if log == nil {
		return logger.Discard
	}
	return quietOutages{expectedErrors{logger.NewSlogLogger(log, logger.Config{
		SlowThreshold:             500 * time.Millisecond,
		LogLevel:                  logger.Warn,
		IgnoreRecordNotFoundError: true,
		// Log SQL with placeholders, never with values: values include
		// password hashes and session data.
		ParameterizedQueries: true,
	})}}
}

// quietOutages keeps GORM from logging, as an error, every statement that
// fails because the database is down: in an outage that is every
// statement, many a second. Whoever gets the error decides how to report
// it (a 503, a job that logs when it starts and stops failing).
type quietOutages struct{ logger.Interface }

func (q quietOutages) LogMode(l logger.LogLevel) logger.Interface {
	return quietOutages{q.Interface.LogMode(l)}
}

func (q quietOutages) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if _, ok := errors.AsType[*outage.Error](err); ok {
		return
	}
	q.Interface.Trace(ctx, begin, fc, err)
}

func openPostgres(databaseURL string, t Timeouts, cfg *gorm.Config) (*gorm.DB, error) {
	if !isPostgresURL(databaseURL) {
		return nil, errors.New("database URL must start with postgres:// or postgresql://")
	}
	pc, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		// pgx's message repeats the URL with the password redacted; say
		// less, the URL is in the configuration.
		return nil, errors.New("DATABASE_URL is not a valid PostgreSQL URL")
	}
	// The simple protocol keeps no prepared statements on the server, so
	// a migration that alters a table cannot break cached plans ("cached
	// plan must not change result type"), and PgBouncer in transaction
	// mode works.
	pc.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	t.apply(pc)
	sqlDB := stdlib.OpenDB(*pc)
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	sqlDB.SetMaxOpenConns(pgMaxOpen)
	sqlDB.SetMaxIdleConns(pgMaxIdle)
	sqlDB.SetConnMaxLifetime(pgMaxLifetime)
	// Migrate opens its own pool from this configuration, without the
	// timeouts, which a long migration must not trip over.
	if err := db.Use(pgSettings{cfg: pc}); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return db, nil
}

func openSQLite(dataDir string, cfg *gorm.Config) (*gorm.DB, error) {
	if dataDir == "" {
		return nil, errors.New("no database URL and no data directory")
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := gorm.Open(sqlite.Open(SQLitePath(dataDir)+sqliteParams), cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// SQLite allows one writer at a time. With one connection, writers queue
	// in database/sql, in order, instead of several connections spinning on
	// SQLITE_BUSY for up to busy_timeout each. The price: code holding a
	// transaction must use that transaction, never the *gorm.DB, or it
	// waits for itself forever.
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxLifetime(0)
	return db, nil
}

func isPostgresURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// SQLitePath is where Open keeps the SQLite database for dataDir.
func SQLitePath(dataDir string) string {
	p := filepath.Join(dataDir, SQLiteFile)
	// filepath.Join drops a leading "./"; keep it so the log shows the
	// path the way the operator wrote it.
	if strings.HasPrefix(dataDir, "./") && !strings.HasPrefix(p, ".") {
		p = "./" + p
	}
	return p
}

// Describe says which database Open would use, for the start-up log. It
// never includes a password.
func Describe(databaseURL, dataDir string) string {
	if databaseURL == "" {
		return "sqlite " + SQLitePath(dataDir)
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "postgres (unparsable URL)"
	}
	host := u.Host
	switch {
	case host == "":
		// postgres:///db connects through the local socket.
		host = "local socket"
	case u.Port() == "":
		host += ":5432"
	}
	return "postgres " + host + "/" + strings.TrimPrefix(u.Path, "/")
}

// Ping checks that the database answers.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close closes the connection pool behind db.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Migrate applies every pending migration for dialect d. On PostgreSQL it
// holds an advisory lock meanwhile, so replicas starting together migrate
// one after another and the later ones find nothing to do.
func Migrate(ctx context.Context, db *gorm.DB, d Dialect) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	var (
		dialect goose.Dialect
		opts    = []goose.ProviderOption{
			// Only our embedded SQL: never Go migrations that some
			// imported package registered globally.
			goose.WithDisableGlobalRegistry(true),
		}
	)
	switch d {
	case Postgres:
		dialect = goose.DialectPostgres
		// Retry every second (the default is 5s) for up to 5 minutes, so a
		// replica waiting on another's migration starts promptly after it.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		// One process owns a SQLite file, so there is nobody to lock out.
		dialect = goose.DialectSQLite3
	default:
		return fmt.Errorf("migrate: unknown dialect %q", d)
	}
	fsys, err := fs.Sub(migrations.FS, string(d))
	if err != nil {
		return fmt.Errorf("migrations for %s: %w", d, err)
	}
	// The provider is not closed: Close would close sqlDB, which the caller
	// owns.
	if ps, ok := db.Config.Plugins[pgSettingsName].(pgSettings); ok && d == Postgres {
		// The session timeouts bound what requests wait for; a migration
		// rewriting a large table, or waiting for its lock behind a
		// deploy's traffic, may legitimately take longer.
		mdb := stdlib.OpenDB(*ps.untimed())
		defer mdb.Close()
		sqlDB = mdb
	}
	p, err := goose.NewProvider(dialect, sqlDB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrations for %s: %w", d, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", d, err)
	}
	return nil
}
