package salebench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
)

// waitEvery is how often --pg-waits samples pg_stat_activity: fine enough
// to see a bid's statements, which take milliseconds. Each read takes
// ~0.2 ms of a backend, so the sampler costs PostgreSQL up to a tenth of a
// core: a diagnostic, not for a run whose figures are kept.
const waitEvery = 2 * time.Millisecond

// statementWaits keys PostgreSQL's active client backends by the first
// words of their statement (whitespace collapsed): enough to tell the bid
// path's statements apart.
const statementWaits = `SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 56), coalesce(wait_event_type, ''), coalesce(wait_event, '')
	FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`

// startWaits starts sampling, on a connection of its own, what
// PostgreSQL's backends are doing, statement by statement.
func startWaits(ctx context.Context, db *gorm.DB) (*benchkit.PGWaits, error) {
	if err := needPostgres(db, "--pg-waits samples PostgreSQL's pg_stat_activity"); err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return benchkit.SamplePGWaits(ctx, conn, waitEvery, statementWaits), nil
}

// stopWaitsTo ends the sampling and writes its table to file.
func stopWaitsTo(w *benchkit.PGWaits, file string) error {
	err := w.Stop()
	f, ferr := os.Create(file)
	if ferr != nil {
		return errors.Join(err, ferr)
	}
	w.WriteTable(f, waitEvery)
	return errors.Join(err, f.Close())
}

// needPostgres refuses a diagnostic that only PostgreSQL has, saying why.
func needPostgres(db *gorm.DB, what string) error {
	if name := db.Dialector.Name(); name != "postgres" {
		return fmt.Errorf("%s; this run's database is %s", what, name)
	}
	return nil
}
