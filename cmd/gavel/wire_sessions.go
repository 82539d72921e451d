package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/web"
)

// natsSessionEnder publishes logouts on NATS, where every realtime node
// listens (domain.ControlLogoutSubject) and closes the session's streams.
type natsSessionEnder struct{ nc *nats.Conn }

var _ web.SessionEnder = natsSessionEnder{}

// SessionEnded publishes the end of a session and waits (briefly) for
// NATS to take it, so that a logout that answers 204 has been sent.
func (e natsSessionEnder) SessionEnded(ctx context.Context, session string) error {
	data, err := json.Marshal(domain.SessionEnded{Session: session})
	if err != nil {
		return err
	}
	if err := e.nc.Publish(domain.ControlLogoutSubject, data); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return e.nc.FlushWithContext(ctx)
}
