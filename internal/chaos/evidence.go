package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gavel-auctions/gavel/domain"
)

// Evidence is everything the checks judge: what the clients saw, and what
// the database and JetStream hold at the end.
type Evidence struct {
	Bound    time.Duration // the nodes' dependency timeout
	Requests []Request
	Acks     []Ack
	Watchers []WatcherLog
	Faults   []*Fault
	Auctions []int64 // the storm's
	// Baseline is the period before the first fault.
	BaselineFrom, BaselineTo time.Time
	// StormEnd is when the last bidder stopped; End when the run did.
	StormEnd, End time.Time

	DB     DBState
	Stream []StreamMsg
}

// DBState is what the database holds.
type DBState struct {
	Auctions    map[int64]domain.Auction
	Bids        map[int64][]BidRow // by auction, in seq order
	BidsByID    map[int64]BidRow
	Aliases     map[[2]int64]string // (auction, user) → alias
	Events      []EventRow          // in id order
	Unpublished int
}

// BidRow is one row of bids.
type BidRow struct {
	ID, Auction, Bidder, Amount, MaxAmount, Seq int64
	BuyNow, Voided                              bool
	ReceivedAt                                  time.Time
}

// EventRow is one row of the outbox.
type EventRow struct {
	ID        int64
	Channel   string // "auction:7", "user:3"
	Seq       int64
	EventID   string
	Type      string
	Published bool
}

// StreamMsg is one message of the JetStream stream.
type StreamMsg struct {
	Seq     uint64
	MsgID   string // its Nats-Msg-Id
	EventID string // the id in its payload
	Channel string
	ChanSeq int64
	Type    string
}

// loadDB reads the database's state.
func loadDB(ctx context.Context, dsn string) (DBState, error) {
	st := DBState{Auctions: map[int64]domain.Auction{}, Bids: map[int64][]BidRow{}, BidsByID: map[int64]BidRow{}, Aliases: map[[2]int64]string{}}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return st, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT id, seller_id, currency, start_price, reserve_price, buy_now_price, increment, starts_at,
		ends_at, original_ends_at, soft_close_seconds, max_extension_seconds, status, current_price, bid_count,
		coalesce(leader_id, 0), leader_max, leader_alias, bidder_count, seq, updated_at FROM auctions`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var a domain.Auction
		var maxExt int
		var status string
		if err := rows.Scan(&a.ID, &a.SellerID, &a.Currency, &a.StartPrice, &a.ReservePrice, &a.BuyNowPrice, &a.Increment, &a.StartsAt,
			&a.EndsAt, &a.OriginalEndsAt, &a.SoftCloseSeconds, &maxExt, &status, &a.CurrentPrice, &a.BidCount,
			&a.LeaderID, &a.LeaderMax, &a.LeaderAlias, &a.BidderCount, &a.Seq, &a.UpdatedAt); err != nil {
			return st, err
		}
		a.Status, a.MaxExtension = domain.Status(status), time.Duration(maxExt)*time.Second
		st.Auctions[a.ID] = a
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	rows, err = conn.Query(ctx, `SELECT id, auction_id, bidder_id, amount, max_amount, seq, buy_now, voided, received_at FROM bids ORDER BY auction_id, seq`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var b BidRow
		if err := rows.Scan(&b.ID, &b.Auction, &b.Bidder, &b.Amount, &b.MaxAmount, &b.Seq, &b.BuyNow, &b.Voided, &b.ReceivedAt); err != nil {
			return st, err
		}
		st.Bids[b.Auction] = append(st.Bids[b.Auction], b)
		st.BidsByID[b.ID] = b
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	rows, err = conn.Query(ctx, `SELECT auction_id, user_id, alias FROM auction_bidders`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var a, u int64
		var alias string
		if err := rows.Scan(&a, &u, &alias); err != nil {
			return st, err
		}
		st.Aliases[[2]int64{a, u}] = alias
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	if st.Events, err = queryEvents(ctx, conn, `SELECT `+eventColumns+` FROM events ORDER BY id`); err != nil {
		return st, err
	}
	for _, e := range st.Events {
		if !e.Published {
			st.Unpublished++
		}
	}
	return st, nil
}

const eventColumns = "id, channel_kind, channel_id, seq, event_id, type, published_at IS NOT NULL, " +
	"CASE WHEN channel_kind = 'pack' THEN payload ELSE '' END"

// queryEvents reads event rows selected as eventColumns. A pack row (a run
// of covered lot events in one row, bidding/eventpack.go) gives one
// EventRow per event in it, each with the pack's row id, as the relay
// publishes them.
func queryEvents(ctx context.Context, conn *pgx.Conn, sql string, args ...any) ([]EventRow, error) {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	var out []EventRow
	for rows.Next() {
		var e EventRow
		var kind, pack string
		var ch int64
		if err := rows.Scan(&e.ID, &kind, &ch, &e.Seq, &e.EventID, &e.Type, &e.Published, &pack); err != nil {
			return nil, err
		}
		if kind != "pack" {
			e.Channel = fmt.Sprintf("%s:%d", kind, ch)
			out = append(out, e)
			continue
		}
		if out, err = unpackEvents(out, e, pack); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// unpackEvents appends the events of a pack's payload (lines of subject,
// tab, event id, tab, JSON) to out as rows like row.
func unpackEvents(out []EventRow, row EventRow, payload string) ([]EventRow, error) {
	for line := range strings.Lines(payload) {
		parts := strings.SplitN(strings.TrimSuffix(line, "\n"), "\t", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("event pack %d: malformed line", row.ID)
		}
		var ev domain.Event
		if err := json.Unmarshal([]byte(parts[2]), &ev); err != nil {
			return nil, fmt.Errorf("event pack %d: %w", row.ID, err)
		}
		ch := ev.Channel()
		out = append(out, EventRow{ID: row.ID, Channel: fmt.Sprintf("%s:%d", ch.Kind, ch.ID), Seq: ev.ChannelSeq(),
			EventID: parts[1], Type: string(ev.Type), Published: row.Published})
	}
	return out, nil
}

// loadLateEvents reads the rows of the given event ids: events committed
// (and published) after loadDB's snapshot.
func loadLateEvents(ctx context.Context, dsn string, ids []string) ([]EventRow, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := queryEvents(ctx, conn, `SELECT `+eventColumns+` FROM events WHERE event_id = ANY($1) OR channel_kind = 'pack' ORDER BY id`, ids)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	return slices.DeleteFunc(rows, func(e EventRow) bool { return !want[e.EventID] }), nil
}

// loadStream reads every message of the event stream, in stream order.
func loadStream(ctx context.Context, natsURL string) ([]StreamMsg, error) {
	nc, err := nats.Connect(natsURL, nats.Name("chaos-checker"))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	stream, err := js.Stream(ctx, domain.StreamName)
	if err != nil {
		return nil, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, err
	}
	last := info.State.LastSeq
	if last == 0 {
		return nil, nil
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	var out []StreamMsg
	for {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return out, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return out, err
			}
			var e domain.Event
			if err := json.Unmarshal(m.Data(), &e); err != nil {
				return out, fmt.Errorf("stream message %d: %w", meta.Sequence.Stream, err)
			}
			ch := e.Channel()
			out = append(out, StreamMsg{Seq: meta.Sequence.Stream, MsgID: m.Headers().Get(jetstream.MsgIDHeader), EventID: e.ID,
				Channel: fmt.Sprintf("%s:%d", ch.Kind, ch.ID), ChanSeq: e.ChannelSeq(), Type: string(e.Type)})
			if meta.Sequence.Stream >= last {
				return out, nil
			}
		}
		if err := batch.Error(); err != nil {
			return out, err
		}
		if n == 0 {
			return out, fmt.Errorf("the stream ended at %d of %d messages", len(out), last)
		}
	}
}
