package main

import (
	"context"
	"log/slog"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/config"
	"github.com/gavel-auctions/gavel/internal/database"
)

// createUser creates an account; --admin makes an administrator.
func createUser(ctx context.Context, cfg config.Config, log *slog.Logger, email, password, name string, admin bool) error {
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer database.Close(db)
	u, err := bidding.New(db, bidding.Options{Logger: log}).CreateUser(ctx, email, password, name, admin)
	if err != nil {
		// Field messages say what to fix; the summary alone does not.
		if e, ok := err.(*domain.Error); ok && len(e.Fields) > 0 {
			for f, m := range e.Fields {
				log.Error("invalid user", "field", f, "problem", m)
			}
		}
		return err
	}
	log.Info("user created", "id", u.ID, "email", u.Email, "admin", u.Admin)
	return nil
}
