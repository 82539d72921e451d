package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/domain"
)

// A tamper breaks one promise on purpose, in the database, in JetStream or
// in what the clients recorded, and names the check that must then fail.
// undo, if set, puts the database back, so one tamper does not make
// another check fail for the wrong reason.
type tamper struct {
	name  string
	check string
	apply func(ctx context.Context, st *selfTest) (undo func() error, err error)
}

type selfTest struct {
	c    *Cluster
	ev   *Evidence // a copy the tamper may change
	conn *pgx.Conn
	// The message a stream tamper copies, kept across its attempts.
	tamperedSubject string
	tamperedData    []byte
}

// SelfTest shows that the checkers can fail: after a run whose checks
// passed, it tampers with the evidence in turn (deleting an acknowledged
// bid, changing a price, leaving an outbox row, adding a second close,
// duplicating and reordering events, breaking a watcher's sequence, adding
// a 500 and a slow request) and runs the check each tamper targets, which
// must now fail. Each row passes when its check failed.
func SelfTest(ctx context.Context, c *Cluster, ev *Evidence) ([]Result, error) {
	// The nodes first: their relays would publish an event the tamper
	// marks unpublished, again, and so break other checks than its own.
	c.StopNodes()
	conn, err := pgx.Connect(ctx, c.AppURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	byName := map[string]checker{}
	for _, ch := range checkers() {
		byName[ch.name] = ch
	}
	var out []Result
	for _, t := range tampers() {
		st := &selfTest{c: c, ev: cloneEvidence(ev), conn: conn}
		undo, err := t.apply(ctx, st)
		if err != nil {
			return out, fmt.Errorf("self-test %q: %w", t.name, err)
		}
		var ok bool
		var detail string
		if t.check == "recovery" {
			ok = allOK(recoveries(st.ev))
			detail = "recovery rows all pass"
			if !ok {
				detail = "a recovery row fails"
			}
		} else {
			ch, found := byName[t.check]
			if !found {
				return out, fmt.Errorf("self-test %q: no check %q", t.name, t.check)
			}
			ok, detail = ch.fn(st.ev)
		}
		if undo != nil {
			if err := undo(); err != nil {
				return out, fmt.Errorf("self-test %q: undo: %w", t.name, err)
			}
		}
		out = append(out, Result{Check: "self-test: " + t.name, OK: !ok, Detail: "→ " + detail})
	}
	return out, nil
}

func cloneEvidence(ev *Evidence) *Evidence {
	c := *ev
	c.Requests = slices.Clone(ev.Requests)
	c.Acks = slices.Clone(ev.Acks)
	c.Watchers = make([]WatcherLog, len(ev.Watchers))
	for i, w := range ev.Watchers {
		c.Watchers[i] = w
		c.Watchers[i].Got = slices.Clone(w.Got)
	}
	c.Stream = slices.Clone(ev.Stream)
	return &c
}

// reload reads the database again into the evidence under test.
func (st *selfTest) reload(ctx context.Context) error {
	db, err := loadDB(ctx, st.c.AppURL)
	st.ev.DB = db
	return err
}

func (st *selfTest) exec(ctx context.Context, sql string, args ...any) error {
	_, err := st.conn.Exec(ctx, sql, args...)
	return err
}

// dbTamper runs sql, reloads the database, and undoes with undoSQL.
func dbTamper(sql, undoSQL string, args func(st *selfTest) []any) func(context.Context, *selfTest) (func() error, error) {
	return func(ctx context.Context, st *selfTest) (func() error, error) {
		a := args(st)
		if err := st.exec(ctx, sql, a...); err != nil {
			return nil, err
		}
		undo := func() error { return st.exec(context.Background(), undoSQL, a...) }
		return undo, st.reload(ctx)
	}
}

func firstAck(st *selfTest) Ack { return st.ev.Acks[0] }

func tampers() []tamper {
	return []tamper{
		{"delete an acknowledged bid", "every 201 bid is in the database with the amount acknowledged",
			func(ctx context.Context, st *selfTest) (func() error, error) {
				a := firstAck(st)
				b := st.ev.DB.BidsByID[a.BidID]
				if err := st.exec(ctx, "DELETE FROM bids WHERE id = $1", a.BidID); err != nil {
					return nil, err
				}
				undo := func() error {
					return st.exec(context.Background(), `INSERT INTO bids (id, auction_id, bidder_id, amount, max_amount, buy_now, seq, received_at, voided)
						VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, b.ID, b.Auction, b.Bidder, b.Amount, b.MaxAmount, b.BuyNow, b.Seq, b.ReceivedAt, b.Voided)
				}
				return undo, st.reload(ctx)
			}},
		{"change a committed price", "the final state equals a replay of the accepted bids",
			dbTamper("UPDATE auctions SET current_price = current_price + 1 WHERE id = $1",
				"UPDATE auctions SET current_price = current_price - 1 WHERE id = $1",
				func(st *selfTest) []any { return []any{firstAck(st).Auction} })},
		{"leave an event in the outbox", "no event is left in the outbox",
			dbTamper("UPDATE events SET published_at = NULL WHERE id = (SELECT max(id) FROM events) AND $1::bigint > 0",
				"UPDATE events SET published_at = now() WHERE published_at IS NULL AND $1::bigint > 0",
				func(*selfTest) []any { return []any{1} })},
		{"close an auction twice", "every auction closed exactly once",
			func(ctx context.Context, st *selfTest) (func() error, error) {
				id := st.ev.Auctions[0]
				seq := st.ev.DB.Auctions[id].Seq + 1
				eventID := domain.MakeID(domain.AuctionChannel(id), seq)
				if err := st.exec(ctx, `INSERT INTO events (channel_kind, channel_id, seq, event_id, type, subject, payload, created_at, published_at)
					VALUES ('auction', $1, $2, $3, 'closed', 'x', '{}', now(), now())`, id, seq, eventID); err != nil {
					return nil, err
				}
				undo := func() error { return st.exec(context.Background(), "DELETE FROM events WHERE event_id = $1", eventID) }
				return undo, st.reload(ctx)
			}},
		{"a watcher misses an event", "every watcher got every event once, in order, across nodes", watcherTamper(func(g []Got, i int) []Got { return slices.Delete(g, i, i+1) })},
		{"a watcher gets an event twice", "every watcher got every event once, in order, across nodes", watcherTamper(func(g []Got, i int) []Got { return slices.Insert(g, i, g[i]) })},
		{"a watcher gets two events out of order", "every watcher got every event once, in order, across nodes", watcherTamper(func(g []Got, i int) []Got { g[i], g[i+1] = g[i+1], g[i]; return g })},
		{"a node answers 500", "5xx answers are only 503, with Retry-After",
			func(_ context.Context, st *selfTest) (func() error, error) {
				st.ev.Requests = append(st.ev.Requests, Request{Kind: "bid", Node: st.c.APINodes()[0].Service, Start: st.ev.End, End: st.ev.End, Status: 500, Code: "internal"})
				return nil, nil
			}},
		{"a request waits past the bound", "no request waited past the bound",
			func(_ context.Context, st *selfTest) (func() error, error) {
				// On a node no fault stalled then: those are not held to
				// the bound.
				start := st.ev.BaselineFrom
				end := start.Add(st.ev.Bound + 5*time.Second)
				for _, n := range st.c.Nodes {
					if !stalled(st.ev, n.Service, start, end) {
						st.ev.Requests = append(st.ev.Requests, Request{Kind: "setup", Node: n.Service, Start: start, End: end, Status: 503})
						return nil, nil
					}
				}
				return nil, errors.New("every node was stalled in the first seconds of the run")
			}},
		{"events stop reaching watchers after a fault", "recovery",
			func(_ context.Context, st *selfTest) (func() error, error) {
				f := st.ev.Faults[0]
				for i := range st.ev.Watchers {
					st.ev.Watchers[i].Got = slices.DeleteFunc(st.ev.Watchers[i].Got, func(g Got) bool { return g.Committed.After(f.Start) })
				}
				return nil, nil
			}},
		// JetStream last: a stream cannot be put back.
		{"duplicate an event in JetStream", "JetStream holds every event once, in order", streamTamper(false)},
		{"reorder an event in JetStream", "JetStream holds every event once, in order", streamTamper(true)},
	}
}

// watcherTamper edits the longest watcher log somewhere in its middle.
func watcherTamper(edit func(g []Got, i int) []Got) func(context.Context, *selfTest) (func() error, error) {
	return func(_ context.Context, st *selfTest) (func() error, error) {
		best := 0
		for i, w := range st.ev.Watchers {
			if len(w.Got) > len(st.ev.Watchers[best].Got) {
				best = i
			}
		}
		w := &st.ev.Watchers[best]
		if len(w.Got) < 4 {
			return nil, errors.New("no watcher saw enough events to tamper with")
		}
		// Two consecutive events of one auction, so a swap is a reorder.
		i := len(w.Got) / 2
		for ; i+1 < len(w.Got) && w.Got[i].Auction != w.Got[i+1].Auction; i++ {
		}
		w.Got = edit(w.Got, i)
		return nil, nil
	}
}

// streamTamper publishes a copy of an event already in the stream under a
// new Nats-Msg-Id; with reorder it first deletes the original, so the
// event now follows its successors. The copy of a duplicate is deleted
// again afterwards; a reorder cannot be undone, so it comes last. NATS may
// still be electing a stream leader after the faults, so it tries a few
// times.
func streamTamper(reorder bool) func(context.Context, *selfTest) (func() error, error) {
	return func(ctx context.Context, st *selfTest) (func() error, error) {
		var err error
		for range 10 {
			var copySeq uint64
			if copySeq, err = tamperStream(ctx, st, reorder); err == nil {
				if reorder {
					return nil, nil
				}
				return func() error {
					return withStream(context.Background(), st.c, func(_ jetstream.JetStream, s jetstream.Stream) error {
						return s.DeleteMsg(context.Background(), copySeq)
					})
				}, nil
			}
			if !sleep(ctx, time.Second) {
				break
			}
		}
		return nil, err
	}
}

// withStream runs f with a connection to the event stream.
func withStream(ctx context.Context, c *Cluster, f func(jetstream.JetStream, jetstream.Stream) error) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(c.NATSURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	stream, err := js.Stream(ctx, domain.StreamName)
	if err != nil {
		return err
	}
	return f(js, stream)
}

func tamperStream(ctx context.Context, st *selfTest, reorder bool) (copySeq uint64, err error) {
	if len(st.ev.Stream) == 0 {
		return 0, errors.New("no stream messages to tamper with")
	}
	// An auction event in the middle of the stream, not its channel's
	// last, so moving it to the end breaks the order.
	m := st.ev.Stream[len(st.ev.Stream)/3]
	err = withStream(ctx, st.c, func(js jetstream.JetStream, stream jetstream.Stream) error {
		raw, err := stream.GetMsg(ctx, m.Seq)
		if reorder && errors.Is(err, jetstream.ErrMsgNotFound) && st.tamperedData != nil {
			// Deleted by an attempt whose answer was lost.
			raw, err = &jetstream.RawStreamMsg{Subject: st.tamperedSubject, Data: st.tamperedData}, nil
		}
		if err != nil {
			return err
		}
		st.tamperedSubject, st.tamperedData = raw.Subject, raw.Data
		if reorder {
			if err := stream.DeleteMsg(ctx, m.Seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				return err
			}
		}
		ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: raw.Subject, Data: raw.Data},
			jetstream.WithMsgID(fmt.Sprintf("tampered-%t-%s", reorder, m.EventID)))
		if err != nil {
			return err
		}
		copySeq = ack.Sequence
		return nil
	})
	if err != nil {
		return 0, err
	}
	// A read that fails (NATS still settling after the faults) returns
	// what it got so far, possibly nothing: keep the list from before, so
	// that the retry picks the same event, whose copy the Nats-Msg-Id
	// then deduplicates. Replacing it left the retry an empty list, and an
	// index out of range (CI, TestFaultSuiteShort).
	msgs, err := loadStream(ctx, st.c.NATSURL())
	if err != nil {
		return 0, err
	}
	st.ev.Stream = msgs
	return copySeq, nil
}
