package bidding

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/outage"
)

// RelayOptions tune a Relay. Zero values take the defaults.
type RelayOptions struct {
	Batch int           // events per round; default 1000
	Poll  time.Duration // safety-net poll for events committed by other nodes; default 250ms
	// Name identifies this relay in the lease; default a random one. Two
	// relays must never share a name.
	Name string
	// Lease is how long a turn lasts when its relay stalls before
	// finishing (default 4s); then another node's relay takes over. A
	// finished round ends its turn at once.
	Lease time.Duration
	// AckTimeout bounds the wait for JetStream's acknowledgements of one
	// round (default 2s). It always ends well inside the lease.
	AckTimeout time.Duration
	// DBTimeout bounds each database statement of a round (default 5s).
	DBTimeout time.Duration
	// YieldToBids bounds how long a round waits for an in-flight bid
	// batch of this node to commit before it starts (default 30ms;
	// negative: never wait). See Service.yieldToBatches.
	YieldToBids time.Duration
}

func (o RelayOptions) withDefaults() RelayOptions {
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.Name == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		o.Name = "relay-" + hex.EncodeToString(b)
	}
	if o.Lease <= 0 {
		o.Lease = 4 * time.Second
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 2 * time.Second
	}
	if o.DBTimeout <= 0 {
		o.DBTimeout = 5 * time.Second
	}
	if o.YieldToBids == 0 {
		o.YieldToBids = 30 * time.Millisecond
	}
	return o
}

// Relay publishes committed outbox events to JetStream and marks them
// published. Relays on several nodes take turns under a lease in the
// database (lease.go), so each channel's events reach JetStream in commit
// order, and a relay that stalls loses its turn after the lease.
//
// Every message carries its event id as Nats-Msg-Id, so a re-publish
// within the stream's Duplicates window is dropped, and the stream
// sequence of the message before it as Nats-Expected-Last-Sequence:
// JetStream stores a message only right after its predecessor. That fences
// off a relay that wakes from a stall with stale rows (whatever another
// relay published since moved the stream on), and it means a failure in
// the middle of a round never leaves a gap that later messages skip over.
// Only the relay publishes on the stream's subjects.
//
// The fence is the sequence, not Nats-Expected-Last-Msg-Id: on a
// replicated stream (GAVEL_NATS_REPLICAS=3) nats-server checks the latter
// only when each replica applies the message, and a mismatch there stops
// the stream for good ("critical write error"; seen with nats-server
// 2.15.2, internal/chaos found it). The expected sequence is checked by
// the stream leader before it proposes the message.
type Relay struct {
	s    *Service
	js   jetstream.JetStream
	opts RelayOptions
	log  *slog.Logger

	// refresh is set when JetStream refused a message for following the
	// wrong predecessor: the next round reads the stream's tail first.
	refresh bool
	// stall, if set, runs between reading a round's rows and publishing
	// them: tests pause a relay there.
	stall func(*turn)
}

// NewRelay returns a relay for s's outbox.
func NewRelay(s *Service, js jetstream.JetStream, opts RelayOptions) *Relay {
	opts = opts.withDefaults()
	return &Relay{s: s, js: js, opts: opts, log: s.log.With("component", "relay")}
}

// Run relays until ctx ends. While NATS or the database is unreachable it
// backs off and keeps every event in the outbox; afterwards it catches up
// in order.
func (r *Relay) Run(ctx context.Context) error {
	var (
		backoff time.Duration
		failing bool
		since   time.Time
	)
	for {
		r.s.yieldToBatches(ctx, r.opts.YieldToBids)
		res, err := r.round(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if !failing {
				failing, since = true, time.Now()
				r.log.Warn("relay cannot publish; events stay in the outbox", "err", err)
			}
			backoff = min(max(2*backoff, 50*time.Millisecond), 2*time.Second)
		default:
			backoff = 0
			// Recovered only once events really went out, or there was
			// nothing to send and NATS is connected: a round that was not
			// ours, or that had nothing to publish, proves nothing.
			if failing && (res.published > 0 || (res.ours && res.pending == 0 && r.connected())) {
				failing = false
				r.log.Info("relay publishing again", "after", time.Since(since).Round(time.Millisecond))
			}
		}
		if res.published >= r.opts.Batch && err == nil {
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
				// Keep backing off while a dependency is down rather than
				// spin on every commit.
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

func (r *Relay) connected() bool {
	nc := r.js.Conn()
	return nc != nil && nc.Status() == nats.CONNECTED
}

type pendingEvent struct {
	ID          int64
	ChannelKind string
	Subject     string
	EventID     string
	Payload     string
}

// relayMsg is one message of a round: an event row, or one event of a
// pack row (row is the index of its row in the round).
type relayMsg struct {
	row     int
	first   bool // the row's first message
	subject string
	eventID string
	payload string
}

// messages expands a round's rows into their messages, in order: a pack
// gives one per event. It stops after the row that reaches max messages,
// and returns the rows it expanded, so a round stays about one batch.
func messages(rows []pendingEvent, max int) ([]pendingEvent, []relayMsg, error) {
	msgs := make([]relayMsg, 0, len(rows))
	for i, row := range rows {
		if row.ChannelKind != packKind {
			msgs = append(msgs, relayMsg{row: i, first: true, subject: row.Subject, eventID: row.EventID, payload: row.Payload})
		} else {
			first := true
			err := unpack(row.Payload, func(e packedEvent) bool {
				msgs = append(msgs, relayMsg{row: i, first: first, subject: e.Subject, eventID: e.EventID, payload: e.Payload})
				first = false
				return true
			})
			if err != nil {
				return nil, nil, fmt.Errorf("event %d: %w", row.ID, err)
			}
		}
		if len(msgs) >= max {
			return rows[:i+1], msgs, nil
		}
	}
	return rows, msgs, nil
}

// doneRows returns the ids of the rows whose messages up to the first
// done of msgs (msgs may start part-way into a row whose earlier messages
// are stored already) are all stored, and whether a row is left with only
// some of them stored (a pack cut off by a failure).
func doneRows(rows []pendingEvent, msgs []relayMsg, done int) (ids []int64, partial bool) {
	whole := 0 // the rows before msgs[done].row are whole
	if done < len(msgs) {
		whole = msgs[done].row
		partial = !msgs[done].first
	} else if len(msgs) > 0 {
		whole = msgs[len(msgs)-1].row + 1
	}
	ids = make([]int64, whole)
	for i := range whole {
		ids[i] = rows[i].ID
	}
	return ids, partial
}

// roundResult says what a round did.
type roundResult struct {
	ours      bool // it held the turn
	pending   int  // unpublished events it found
	published int  // events it published and marked
}

// Once publishes up to one batch of unpublished events and reports how many
// it published. It publishes nothing while another relay holds the turn.
func (r *Relay) Once(ctx context.Context) (int, error) {
	res, err := r.round(ctx)
	return res.published, err
}

func (r *Relay) round(ctx context.Context) (roundResult, error) {
	var res roundResult
	t, ok, err := r.acquire(ctx)
	if err != nil || !ok {
		return res, err
	}
	res.ours = true
	rows, err := r.pending(ctx)
	if err != nil {
		return res, errors.Join(err, r.finish(ctx, t, nil, 0))
	}
	res.pending = len(rows)
	if len(rows) == 0 {
		return res, r.finish(ctx, t, nil, 0)
	}
	rows, msgs, err := messages(rows, r.opts.Batch)
	if err != nil {
		// Not a dependency's fault, and not one a retry mends: the round
		// fails loudly rather than skip an event.
		return res, errors.Join(err, r.finish(ctx, t, nil, 0))
	}
	prev := t.LastSeq
	if r.refresh {
		var marked int
		if prev, msgs, marked, err = r.reconcile(ctx, t, rows, msgs); err != nil {
			return res, errors.Join(err, r.finish(ctx, t, nil, 0))
		}
		res.published = marked
		if len(msgs) == 0 {
			return res, r.finish(ctx, t, nil, 0)
		}
	}
	if r.stall != nil {
		r.stall(&t)
	}
	done, last, pubErr := r.publish(ctx, t, msgs, prev)
	ids, partial := doneRows(rows, msgs, done)
	if isFenced(pubErr) || errors.Is(pubErr, errDuplicate) || partial {
		// A pack cut off part-way stays unmarked with some of its events in
		// the stream: the next round starts by finding them there.
		r.refresh = true
	}
	if err := r.finish(ctx, t, ids, last); err != nil {
		return res, errors.Join(pubErr, err)
	}
	res.published += done
	return res, pubErr
}

// pending reads up to one batch of unpublished events, oldest first.
func (r *Relay) pending(ctx context.Context) ([]pendingEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.DBTimeout)
	defer cancel()
	var rows []pendingEvent
	err := r.s.db.WithContext(ctx).
		Raw("SELECT id, channel_kind, subject, event_id, payload FROM events WHERE published_at IS NULL ORDER BY id LIMIT ?", r.opts.Batch).
		Scan(&rows).Error
	return rows, err
}

// errDuplicate stops a round at a message JetStream already held (a
// relay published it, then lost its turn or the database before marking
// it): the stream did not move on, so every later message of the round
// would be fenced off. The next round reconciles.
var errDuplicate = errors.New("relay: JetStream already held an event the outbox had not marked")

// publish sends msgs in order, the first expecting the stream's last
// sequence to be prev and each next one its predecessor's sequence, and
// returns how many of them, from the first, JetStream stored, and the
// stream sequence of the last of those. Only that prefix counts, so a
// failure never leaves a later event marked while an earlier one is not.
func (r *Relay) publish(ctx context.Context, t turn, msgs []relayMsg, prev uint64) (done int, last uint64, err error) {
	// The acknowledgements must be in before the turn could expire, or
	// marking would race another relay's turn.
	deadline := time.Now().Add(r.opts.AckTimeout)
	if end := t.acquired.Add(r.opts.Lease * 3 / 4); end.Before(deadline) {
		deadline = end
	}
	if time.Now().After(deadline) {
		// This relay stalled after taking its turn, which may already be
		// another's: publish nothing (the fence would refuse most of it).
		return 0, 0, errTurnLost
	}
	pctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	var pubErr error
	for i, m := range msgs {
		// The payload is a string no one writes, read from the outbox, and
		// nats copies Data into its buffer without writing it: the message
		// shares its bytes. A copy per message was a twentieth of what a
		// node allocated while a sale closed (#14).
		msg := &nats.Msg{Subject: m.subject, Data: unsafe.Slice(unsafe.StringData(m.payload), len(m.payload)), Header: nats.Header{}}
		f, err := r.js.PublishMsgAsync(msg, jetstream.WithMsgID(m.eventID), jetstream.WithExpectLastSequence(prev+uint64(i)))
		if err != nil {
			pubErr = err
			break
		}
		futures = append(futures, f)
	}
	last = prev
	for _, f := range futures {
		select {
		case ack := <-f.Ok():
			done++
			if ack.Duplicate {
				pubErr = errDuplicate
				break
			}
			last = ack.Sequence
			continue
		case err := <-f.Err():
			pubErr = err
		case <-pctx.Done():
			pubErr = errors.New("timed out waiting for JetStream acknowledgements")
		}
		break
	}
	return done, last, outage.Bus(pubErr)
}

// reconcile reads the stream's tail when JetStream refused the relay's
// expected predecessor, or a pack was cut off part-way: a relay that
// stalled, or lost the database, after publishing but before marking,
// left messages in the stream that the outbox still shows unpublished,
// and they are older than the Duplicates window would catch. The rows all
// of whose messages are there are marked published now (they are in the
// stream, in order), which ends the turn; otherwise the messages not there
// are returned, to follow the stream's last message.
func (r *Relay) reconcile(ctx context.Context, t turn, rows []pendingEvent, msgs []relayMsg) (last uint64, rest []relayMsg, marked int, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.AckTimeout)
	defer cancel()
	stream, err := r.js.Stream(ctx, domain.StreamName)
	if err != nil {
		return last, nil, 0, outage.Bus(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return last, nil, 0, outage.Bus(err)
	}
	last = info.State.LastSeq
	byID := make(map[string]int, len(msgs))
	for i, m := range msgs {
		byID[m.eventID] = i
	}
	// The messages the outbox missed form the stream's tail, and a prefix
	// of msgs: every turn starts with the oldest unmarked rows, so nothing
	// newer than them was stored before they were.
	found := 0
	for seq := info.State.LastSeq; seq > 0 && seq+uint64(len(msgs)) > info.State.LastSeq; seq-- {
		msg, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return last, nil, 0, outage.Bus(err)
		}
		i, ok := byID[msg.Header.Get(jetstream.MsgIDHeader)]
		if !ok {
			break
		}
		found = max(found, i+1)
	}
	r.refresh = false
	ids, partial := doneRows(rows, msgs, found)
	if len(ids) == 0 {
		return last, msgs[found:], 0, nil
	}
	// Marking ends the turn: the rest waits for the next one, which must
	// look again if a pack is still part-way.
	if err := r.finish(ctx, t, ids, last); err != nil {
		r.refresh = true
		return last, nil, 0, err
	}
	r.refresh = partial
	r.log.Warn("relay found events in the stream that the outbox had not marked; marked them", "events", found, "rows", len(ids))
	return last, nil, found, nil
}

// isFenced reports JetStream's refusal of a message whose expected
// predecessor is not the stream's last message.
func isFenced(err error) bool {
	var je jetstream.JetStreamError
	if !errors.As(err, &je) || je.APIError() == nil {
		return false
	}
	switch je.APIError().ErrorCode {
	case jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant:
		return true
	}
	return false
}
