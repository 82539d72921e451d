package ssebench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"golang.org/x/crypto/bcrypt"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/internal/database"
)

// The one-binary default under a burst (#18 point 2): the node is a plain
// `gavel serve` on embedded defaults (SQLite and NATS in its own data dir,
// role all), as a user starts it. The benchmark writes its users and the
// auction into that data dir's SQLite file before the node opens it, then
// logs them in through the node itself.

// loginsPerSource keeps each loopback source under the node's per-address
// login limit (web.DefaultLoginIPLimit).
const loginsPerSource = 20

// prepare finds this binary and makes the run's temporary directory.
func (b *sseBench) prepare() error {
	var err error
	if b.exe, err = os.Executable(); err != nil {
		return err
	}
	if b.tmp, err = os.MkdirTemp("", "gavel-bench-sse-"); err != nil {
		return err
	}
	if b.o.keep {
		b.undo = append(b.undo, func() { b.logf("kept %s", b.tmp) })
	} else {
		b.undo = append(b.undo, func() { _ = os.RemoveAll(b.tmp) })
	}
	return nil
}

// setupOneBinary seeds the node's SQLite file, starts the node, logs the
// users in and starts the client process.
func (b *sseBench) setupOneBinary(ctx context.Context) error {
	if err := b.prepare(); err != nil {
		return err
	}
	dir := filepath.Join(b.tmp, "rt1") // startNodes' data dir for its first node
	db, d, err := database.Open(ctx, "", dir)
	if err != nil {
		return err
	}
	if err := database.Migrate(ctx, db, d); err != nil {
		_ = database.Close(db)
		return err
	}
	log := slog.New(slog.NewTextHandler(b.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc := bidding.New(db, bidding.Options{PasswordCost: bcrypt.MinCost, Logger: log})
	emails, users, err := b.seed(ctx, svc)
	_ = svc.Close(ctx)
	_ = database.Close(db)
	if err != nil {
		return err
	}
	b.fsync, b.syncCommit = "n/a (SQLite)", "n/a (SQLite)"

	b.logf("starting the one-binary node (gavel serve --role all, SQLite, in-process NATS)")
	if err := b.startNodes(ctx, b.o.heartbeat); err != nil {
		return err
	}
	b.apiURL = "http://" + b.nodes[0].addr
	clients := make([]*http.Client, (len(emails)+loginsPerSource-1)/loginsPerSource)
	for i := range clients {
		clients[i] = sourceClient(fmt.Sprintf("127.0.%d.%d", 10+(i+2)/250, (i+2)%250+2))
	}
	if err := b.loginAll(ctx, emails, users, func(i int) *http.Client { return clients[i/loginsPerSource] }); err != nil {
		return err
	}
	return b.startClients(ctx)
}
