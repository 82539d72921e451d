package bidding

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gorm.io/gorm"
)

// relayLockKey is the PostgreSQL advisory lock that lets one relay publish
// at a time. Relays run on every API node; taking turns keeps each
// auction's events in commit order on NATS, which concurrent relays
// skipping each other's locked rows would not.
const relayLockKey = 0x6761_7665_6c72 // "gavelr"

// RelayOptions tune a Relay.
type RelayOptions struct {
	Batch int           // events per round; default 1000
	Poll  time.Duration // safety-net poll for events committed by other nodes; default 250ms
}

// Relay publishes committed outbox events to JetStream, each with its event
// id as Nats-Msg-Id so that a re-publish after a crash is dropped as a
// duplicate, and marks them published.
type Relay struct {
	s    *Service
	js   jetstream.JetStream
	opts RelayOptions
	log  *slog.Logger
}

// NewRelay returns a relay for s's outbox.
func NewRelay(s *Service, js jetstream.JetStream, opts RelayOptions) *Relay {
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	return &Relay{s: s, js: js, opts: opts, log: s.log.With("component", "relay")}
}

// Run relays until ctx ends. While NATS is unreachable it backs off and
// keeps every event in the outbox; afterwards it catches up in order.
func (r *Relay) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	failing := false
	for {
		n, err := r.Once(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if !failing {
				r.log.Warn("relay cannot publish; events stay in the outbox", "err", err)
			}
			failing = true
			backoff = min(max(2*backoff, 50*time.Millisecond), 2*time.Second)
		default:
			if failing {
				r.log.Info("relay publishing again")
			}
			failing, backoff = false, 0
		}
		if n >= r.opts.Batch && err == nil {
			continue
		}
		wait := r.opts.Poll
		if backoff > 0 {
			wait = backoff
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.s.Committed():
			if backoff > 0 {
				// Keep backing off while NATS is down rather than spin on
				// every commit.
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(backoff):
				}
			}
		case <-time.After(wait):
		}
	}
}

type pendingEvent struct {
	ID      int64
	Subject string
	EventID string
	Payload string
}

// Once publishes up to one batch of unpublished events and reports how many
// it published.
func (r *Relay) Once(ctx context.Context) (int, error) {
	if !r.s.pg {
		// SQLite means one process: no other relay to take turns with.
		return r.round(ctx, r.s.db.WithContext(ctx), "")
	}
	var n int
	err := r.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var got bool
		if err := tx.Raw("SELECT pg_try_advisory_xact_lock(?)", relayLockKey).Scan(&got).Error; err != nil {
			return err
		}
		if !got {
			// Another node's relay is publishing; it will take our rows too.
			return nil
		}
		var err error
		n, err = r.round(ctx, tx, " FOR UPDATE SKIP LOCKED")
		return err
	})
	return n, err
}

func (r *Relay) round(ctx context.Context, tx *gorm.DB, lock string) (int, error) {
	var rows []pendingEvent
	err := tx.Raw("SELECT id, subject, event_id, payload FROM events WHERE published_at IS NULL ORDER BY id LIMIT ?"+lock, r.opts.Batch).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, 0, len(rows))
	var pubErr error
	for _, row := range rows {
		msg := &nats.Msg{Subject: row.Subject, Data: []byte(row.Payload), Header: nats.Header{}}
		f, err := r.js.PublishMsgAsync(msg, jetstream.WithMsgID(row.EventID))
		if err != nil {
			pubErr = err
			break
		}
		futures = append(futures, f)
	}
	// Only the prefix acknowledged in order counts as published, so that a
	// failure never leaves a later event marked while an earlier one is not.
	done := 0
	for _, f := range futures {
		select {
		case <-f.Ok():
			done++
			continue
		case err := <-f.Err():
			pubErr = err
		case <-pctx.Done():
			pubErr = errors.New("timed out waiting for JetStream acknowledgements")
		}
		break
	}
	if done > 0 {
		ids := make([]int64, done)
		for i := range done {
			ids[i] = rows[i].ID
		}
		if err := tx.Exec("UPDATE events SET published_at = ? WHERE id IN ?", r.s.now(), ids).Error; err != nil {
			return 0, err
		}
	}
	return done, pubErr
}
