package bidding

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gavel-auctions/gavel/domain"
)

// The batch transaction's statements on PostgreSQL. Each takes whole
// columns as arrays, so its text is the same for 1 bid or 500.
var (
	stmtBegin  = pgStmt{sql: "BEGIN"}
	stmtCommit = pgStmt{sql: "COMMIT"}
	// Every statement here reaches rows by primary key. On small tables
	// whose hot rows carry runs of dead versions (1,000 auctions and 512
	// users in the storm benchmark) the planner instead scanned and hashed
	// whole tables, twice per batch, which cost ~1 ms of server CPU a batch.
	// SET LOCAL keeps the index plans for this transaction only.
	stmtIndexPlans = pgStmt{sql: "SET LOCAL enable_seqscan = off"}

	// Auctions are locked in id order so that concurrent batches never wait
	// on each other in a cycle; NO KEY UPDATE, as forUpdate explains. With
	// the lots bid on come the later unclosed lots of their sales in cascade
	// mode that a bid may move: locked here, in the same global order,
	// rather than after judging, which could deadlock with a batch bidding
	// on one of them. A bid can move them only if it extends its own lot,
	// which it can only do inside that lot's soft-close window ($2 is the
	// batch's latest receipt time), so bids outside every window lock no
	// later lot; and only if it raises the price or takes the lead, which a
	// bid no larger than the price with a leader cannot ($4, parallel to
	// $1, is the batch's largest amount on each lot): the snipe that lost
	// to another in the batch before locks no ~500 lots only to be
	// refused. $3 locks them regardless (the retry of a batch whose guess
	// proved wrong, as when a struck bid lowered the price meanwhile: see
	// errLaterLots). cascade_from tells judging which
	// lots' later lots are locked. The descriptions stay behind: nothing
	// here changes or sends them, and 500 lots' worth is a lot to read.
	stmtLockAuctions = pgStmt{sql: `WITH b AS MATERIALIZED (
			SELECT a.sale_id, min(a.lot_number) AS n FROM auctions a
			JOIN sales s ON s.id = a.sale_id AND s.soft_close_mode = 'cascade'
			JOIN unnest($1::bigint[], $4::bigint[]) AS v(id, top) ON v.id = a.id
			WHERE $3 OR (a.soft_close_seconds > 0
				AND a.ends_at <= $2::timestamptz + make_interval(secs => a.soft_close_seconds)
				AND (a.leader_id IS NULL OR v.top > a.current_price))
			GROUP BY a.sale_id),
		k AS (SELECT unnest($1::bigint[]) AS id
			UNION SELECT l.id FROM b JOIN auctions l ON l.sale_id = b.sale_id AND l.lot_number > b.n
			WHERE l.status IN ('scheduled', 'open'))
		SELECT id, seller_id, title, currency, start_price, reserve_price,
		buy_now_price, increment, starts_at, ends_at, original_ends_at, soft_close_seconds, max_extension_seconds,
		status, current_price, bid_count, leader_id, leader_max, leader_alias, bidder_count, seq, sale_id, lot_number,
		low_estimate, high_estimate, fees, created_at, updated_at,
		COALESCE((SELECT b.n FROM b WHERE b.sale_id = auctions.sale_id), 0) AS cascade_from
		FROM auctions WHERE id IN (SELECT id FROM k) ORDER BY id FOR NO KEY UPDATE`,
		types: []uint32{pgInt8s, pgtype.TimestamptzOID, pgtype.BoolOID, pgInt8s}}
	// The sales of the lots bid on, after the auctions (the global lock
	// order is auctions, sales, users): pause state and the head of each
	// sale's log, which this batch's lot events extend.
	stmtLockSales = pgStmt{sql: `SELECT id, seller_id, title, currency, increment, status, opens_at, first_close_at,
		gap_seconds, soft_close_seconds, soft_close_mode, paused_at, event_seq, created_at, updated_at
		FROM sales WHERE id IN (SELECT sale_id FROM auctions WHERE id = ANY($1)) ORDER BY id FOR NO KEY UPDATE`,
		types: []uint32{pgInt8s}}
	stmtSaveSaleSeqs = pgStmt{sql: `UPDATE sales AS s SET event_seq = v.seq
		FROM unnest($1::bigint[], $2::bigint[]) AS v(id, seq) WHERE s.id = v.id`, types: []uint32{pgInt8s, pgInt8s}}
	// Ids for every bid that may be accepted, drawn after the auctions are
	// locked so that, as with the column default, a later batch on the same
	// auction draws larger ones; knowing them before the insert lets the
	// events and receipts that carry them go in the same round trip.
	// Rejected bids leave gaps, as rolled-back inserts always have. The
	// sequence is looked up once: per row, the lookup cost 9× the nextval.
	stmtBidIDs = pgStmt{sql: `WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('bids', 'id')::regclass AS seq)
		SELECT nextval(s.seq) FROM s, generate_series(1, $1)`,
		types: []uint32{pgtype.Int8OID}}
	stmtSuspended = pgStmt{sql: `SELECT id FROM users WHERE id = ANY($1) AND suspended`, types: []uint32{pgInt8s}}
	stmtAliases   = pgStmt{sql: `SELECT b.auction_id, b.user_id, b.alias FROM auction_bidders b
		JOIN unnest($1::bigint[], $2::bigint[]) AS k(auction_id, user_id) ON b.auction_id = k.auction_id AND b.user_id = k.user_id`,
		types: []uint32{pgInt8s, pgInt8s}}
	stmtReceipts = pgStmt{sql: `SELECT r.user_id, r.key, r.auction_id, r.receipt FROM idempotency_keys r
		JOIN unnest($1::bigint[], $2::text[]) AS k(user_id, key) ON r.user_id = k.user_id AND r.key = k.key`,
		types: []uint32{pgInt8s, pgTexts}}

	// Users are locked in id order before the bulk UPDATE, which would lock
	// them in whatever order its join produces.
	stmtLockUsers   = pgStmt{sql: `SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, types: []uint32{pgInt8s}}
	stmtReserveSeqs = pgStmt{sql: `UPDATE users AS u SET event_seq = u.event_seq + v.n
		FROM unnest($1::bigint[], $2::bigint[]) AS v(id, n) WHERE u.id = v.id RETURNING u.id, u.event_seq`,
		types: []uint32{pgInt8s, pgInt8s}}
	stmtInsertBidders = pgStmt{sql: `INSERT INTO auction_bidders (auction_id, user_id, alias)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[])`, types: []uint32{pgInt8s, pgInt8s, pgTexts}}
	stmtInsertBids = pgStmt{sql: `INSERT INTO bids (id, auction_id, bidder_id, amount, max_amount, buy_now, seq, received_at, raised)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::boolean[], $7::bigint[], $8::timestamptz[], $9::boolean[])`,
		types: []uint32{pgInt8s, pgInt8s, pgInt8s, pgInt8s, pgInt8s, pgBools, pgInt8s, pgTimes, pgBools}}
	stmtInsertAutoBids = pgStmt{sql: `INSERT INTO auto_bids (auction_id, seq, pos, bidder_id, amount)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::bigint[], $5::bigint[])`,
		types: []uint32{pgInt8s, pgInt8s, pgInt2s, pgInt8s, pgInt8s}}

	// The relay publishes in id order, so the ids must follow the order of
	// the rows: ORDER BY the array position makes that explicit.
	stmtInsertEvents = pgStmt{sql: `INSERT INTO events (channel_kind, channel_id, seq, event_id, type, subject, payload, created_at,
			sale_id, sale_seq)
		SELECT kind, channel_id, seq, event_id, type, subject, payload, created_at, NULLIF(sale_id, 0), NULLIF(sale_seq, 0)
		FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],
			$9::bigint[], $10::bigint[])
			WITH ORDINALITY AS v(kind, channel_id, seq, event_id, type, subject, payload, created_at, sale_id, sale_seq, n)
		ORDER BY n`, types: []uint32{pgTexts, pgInt8s, pgInt8s, pgTexts, pgTexts, pgTexts, pgTexts, pgTimes, pgInt8s, pgInt8s}}
	// A key reused on another auction by a concurrent transaction loses
	// quietly here; its first use stays the recorded one.
	stmtInsertReceipts = pgStmt{sql: `INSERT INTO idempotency_keys (user_id, key, auction_id, receipt, created_at)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::timestamptz[])
		ON CONFLICT DO NOTHING`, types: []uint32{pgInt8s, pgTexts, pgInt8s, pgTexts, pgTimes}}
	// leader_id 0 means no leader: NULL in the table. Every lot written
	// here was bid on in the batch, so its end floor follows its
	// end; the lots only a cascade moved go through stmtShiftLots
	// (cascade_pg.go) or stmtSaveMoves.
	stmtSaveStates = pgStmt{sql: `UPDATE auctions AS a SET status = v.status, current_price = v.current_price,
		bid_count = v.bid_count, leader_id = NULLIF(v.leader_id, 0), leader_max = v.leader_max, leader_alias = v.leader_alias,
		bidder_count = v.bidder_count, seq = v.seq, ends_at = v.ends_at, updated_at = v.updated_at, ends_floor = v.ends_at
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::bigint[],
			$9::bigint[], $10::timestamptz[], $11::timestamptz[])
			AS v(id, status, current_price, bid_count, leader_id, leader_max, leader_alias, bidder_count, seq, ends_at, updated_at)
		WHERE a.id = v.id`, types: []uint32{pgInt8s, pgTexts, pgInt8s, pgInt8s, pgInt8s, pgInt8s, pgTexts, pgInt8s, pgInt8s, pgTimes, pgTimes}}
	// A lot only a cascade moved changed its end, seq and updated_at and
	// nothing else, and keeps its end floor (00016), so three columns are
	// written, not eleven. A 500-lot cascade is almost all such lots: leaving
	// out the other seven columns' ~3,500 unchanged values took ~1 ms off
	// its p50 in BenchmarkSaleBids (docs/SALES.md, "Session 9"). Since
	// session 10 a batch's cascades are written as their shifts
	// (stmtShiftLots); this statement is for the batches whose shifts
	// cannot stand for the moves.
	stmtSaveMoves = pgStmt{sql: `UPDATE auctions AS a SET seq = v.seq, ends_at = v.ends_at, updated_at = v.updated_at
		FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS v(id, seq, ends_at, updated_at)
		WHERE a.id = v.id`, types: []uint32{pgInt8s, pgInt8s, pgTimes, pgTimes}}
)

// commitBatchPG is commitBatch on PostgreSQL: the same transaction as
// commitBatchGORM, run on a pooled connection's pgx.Conn in two or three
// round trips. Through GORM and the simple protocol a 127-bid batch built
// and PostgreSQL parsed ~200 KB of SQL.
func (s *Service) commitBatchPG(ctx context.Context, batch []*bidCall, held *heldConn) (*batchPlan, error) {
	keys := keysOf(batch)
	var p *batchPlan
	err := retryTx(ctx, func() error {
		conn, err := held.get(ctx, s.pgx)
		if err != nil {
			return err
		}
		err = conn.Raw(func(dc any) error {
			sc, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("bidding: driver connection is %T, not pgx", dc)
			}
			c := sc.Conn()
			p, err = s.batchTxPG(ctx, c, batch, keys, false)
			if errors.Is(err, errLaterLots) {
				// A bid extended a lot whose later lots the first statement
				// did not lock (its guess said it could not): again, with
				// them locked from the start, in the global order.
				rollback(ctx, c)
				p, err = s.batchTxPG(ctx, c, batch, keys, true)
			}
			if err != nil {
				rollback(ctx, c)
			}
			return err
		})
		if err != nil {
			// The connection may be broken or mid-transaction: the next
			// attempt takes a fresh one.
			held.release()
		}
		return err
	})
	return p, err
}

// rollback ends c's transaction, if it is in one. database/sql does not
// know about this transaction. Should the rollback fail too, pgx's
// ResetSession discards a connection still in a transaction before its
// next use.
func rollback(ctx context.Context, c *pgx.Conn) {
	if c.PgConn().TxStatus() != 'I' {
		_, _ = c.Exec(ctx, "ROLLBACK")
	}
}

// batchTxPG runs one attempt of a batch's transaction:
//
//  1. begin, lock the auctions, read what judging needs, draw bid ids;
//  2. write the bids, aliases, auction events, receipts and auction state,
//     then lock the users with personal events and reserve their positions;
//  3. write the personal events and commit.
//
// Personal events come last because every concurrent batch has some
// outbid user in common with this one: their row locks, held until commit,
// serialize batches, so as little as possible happens while they are held.
// Without personal events, step 2 commits. allLater locks the later lots
// of every cascade-mode sale bid on, whether or not a bid may extend.
func (s *Service) batchTxPG(ctx context.Context, c *pgx.Conn, batch []*bidCall, k batchKeys, allLater bool) (*batchPlan, error) {
	if st := c.PgConn().TxStatus(); st != 'I' {
		// BEGIN inside a transaction only warns; never build on one.
		return nil, fmt.Errorf("bidding: pooled connection in transaction state %q: %w", st, driver.ErrBadConn)
	}
	var pipe *pgPipe
	select {
	case pipe = <-s.pipes:
	default:
		pipe = new(pgPipe)
	}
	pipe.conn = c
	defer func() {
		pipe.reset()
		pipe.conn = nil
		select {
		case s.pipes <- pipe:
		default: // as many idle as batches ever ran at once, up to 8
		}
	}()
	if pipe.lots == nil {
		pipe.lots = make(map[int64]domain.Auction, len(k.auctions))
	}
	auctions := pipe.lots
	clear(auctions)
	st := newBatchState()
	bidIDs := make([]int64, 0, len(batch))
	queueReads(pipe, k, latestReceipt(batch), allLater, auctions, st)
	pipe.queue(&stmtBidIDs, func(rows pgx.Rows) error {
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			bidIDs = append(bidIDs, id)
		}
		return rows.Err()
	}, func(a *pgArgs) { a.int8(int64(len(batch))) })
	if _, err := pipe.send(ctx); err != nil {
		return nil, err
	}
	if s.stallBatch != nil {
		s.stallBatch()
	}

	now := s.now()
	p := applyBatch(batch, auctions, st, now)
	if p.laterLotsMissing {
		return nil, errLaterLots
	}
	if len(p.bids) == 0 {
		// Nothing to write; the commit only releases the locks.
		return p, commitPipe(ctx, pipe)
	}
	if len(bidIDs) < len(p.bids) {
		return nil, errors.New("bidding: fewer bid ids than bids")
	}
	for i := range p.bids {
		p.bids[i].ID = bidIDs[i]
	}
	p.setBidIDs()

	if bs := p.newBidders; len(bs) > 0 {
		pipe.queue(&stmtInsertBidders, nil, func(a *pgArgs) {
			a.int8s(len(bs), func(i int) int64 { return bs[i].AuctionID })
			a.int8s(len(bs), func(i int) int64 { return bs[i].UserID })
			a.texts(len(bs), func(i int) string { return bs[i].Alias })
		})
	}
	queueBids(pipe, p.bids)
	if len(p.autos) > 0 {
		queueAutoBids(pipe, p.autos)
	}
	saleNext := make(map[int64]int64, len(st.sales))
	for id, sale := range st.sales {
		saleNext[id] = sale.Seq + 1
	}
	rows, err := eventRows(p.events, nil, saleNext)
	if err != nil {
		return nil, err
	}
	if err := writeEventsPG(ctx, pipe, rows); err != nil {
		return nil, err
	}
	queueSaleSeqs(pipe, st.sales, saleNext)
	if idem := p.idempotencyRows(batch, now); len(idem) > 0 {
		queueReceipts(pipe, idem)
	}
	queueStates(pipe, p)
	if len(p.personal) == 0 {
		return p, commitPipe(ctx, pipe)
	}

	userIDs, perUser := personalCounts(p.personal)
	next := make(map[int64]int64, len(userIDs))
	pipe.queue(&stmtLockUsers, nil, func(a *pgArgs) {
		a.int8s(len(userIDs), func(i int) int64 { return userIDs[i] })
	})
	pipe.queue(&stmtReserveSeqs, func(rows pgx.Rows) error {
		for rows.Next() {
			var id, last int64
			if err := rows.Scan(&id, &last); err != nil {
				return err
			}
			next[id] = last - perUser[id] + 1
		}
		return rows.Err()
	}, func(a *pgArgs) {
		a.int8s(len(userIDs), func(i int) int64 { return userIDs[i] })
		a.int8s(len(userIDs), func(i int) int64 { return perUser[userIDs[i]] })
	})
	if _, err := pipe.send(ctx); err != nil {
		return nil, err
	}
	if len(next) != len(userIDs) {
		return nil, errors.New("writeEvents: personal event for a missing user")
	}
	if rows, err = eventRows(p.personal, next, nil); err != nil {
		return nil, err
	}
	if err := writeEventsPG(ctx, pipe, rows); err != nil {
		return nil, err
	}
	return p, commitPipe(ctx, pipe)
}

// queueReads queues the start of a batch's transaction: begin, lock the
// auctions (with the later lots that bids received by latest may move, or
// all of them), and read suspensions, aliases and earlier receipts into st.
func queueReads(pipe *pgPipe, k batchKeys, latest time.Time, allLater bool, auctions map[int64]domain.Auction, st batchState) {
	pipe.queue(&stmtBegin, nil, nil)
	pipe.queue(&stmtIndexPlans, nil, nil)
	pipe.queue(&stmtLockAuctions, func(rows pgx.Rows) error {
		// One row and one list of destinations serve every row (a cascade
		// reads ~500); the nullable ids go through pgtype values, which
		// scan without reflection or an allocation each.
		var r auctionRow
		var from int64
		var leader, sale pgtype.Int8
		var lot pgtype.Int4
		var lotN int
		dest := []any{&r.ID, &r.SellerID, &r.Title, &r.Currency, &r.StartPrice, &r.ReservePrice,
			&r.BuyNowPrice, &r.Increment, &r.StartsAt, &r.EndsAt, &r.OriginalEndsAt, &r.SoftCloseSeconds, &r.MaxExtensionSeconds,
			&r.Status, &r.CurrentPrice, &r.BidCount, &leader, &r.LeaderMax, &r.LeaderAlias, &r.BidderCount, &r.Seq,
			&sale, &lot, &r.LowEstimate, &r.HighEstimate, &r.Fees, &r.CreatedAt, &r.UpdatedAt, &from}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			r.LeaderID, r.SaleID, r.LotNumber = nil, nil, nil
			if leader.Valid {
				r.LeaderID = &leader.Int64
			}
			if sale.Valid {
				r.SaleID = &sale.Int64
			}
			if lot.Valid {
				lotN = int(lot.Int32)
				r.LotNumber = &lotN
			}
			auctions[r.ID] = r.toDomain()
			if from > 0 && r.SaleID != nil {
				st.laterFrom[*r.SaleID] = int(from)
			}
		}
		return rows.Err()
	}, func(a *pgArgs) {
		a.int8s(len(k.auctions), func(i int) int64 { return k.auctions[i] })
		// Rounded up: the guess may lock more than needed, never less.
		a.timestamp(latest.Add(time.Microsecond))
		a.boolean(allLater)
		a.int8s(len(k.auctions), func(i int) int64 {
			if i < len(k.tops) {
				return k.tops[i]
			}
			return math.MaxInt64 // no amounts given: guess that every bid may extend
		})
	})
	pipe.queue(&stmtLockSales, func(rows pgx.Rows) error {
		for rows.Next() {
			var r saleRow
			if err := rows.Scan(&r.ID, &r.SellerID, &r.Title, &r.Currency, &r.Increment, &r.Status, &r.OpensAt, &r.FirstCloseAt,
				&r.GapSeconds, &r.SoftCloseSeconds, &r.SoftCloseMode, &r.PausedAt, &r.EventSeq, &r.CreatedAt, &r.UpdatedAt); err != nil {
				return err
			}
			st.sales[r.ID] = r.toDomain()
		}
		return rows.Err()
	}, func(a *pgArgs) { a.int8s(len(k.auctions), func(i int) int64 { return k.auctions[i] }) })
	pipe.queue(&stmtSuspended, func(rows pgx.Rows) error {
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			st.suspended[id] = true
		}
		return rows.Err()
	}, func(a *pgArgs) { a.int8s(len(k.users), func(i int) int64 { return k.users[i] }) })
	pipe.queue(&stmtAliases, func(rows pgx.Rows) error {
		for rows.Next() {
			var a aliasKey
			var alias string
			if err := rows.Scan(&a.auction, &a.user, &alias); err != nil {
				return err
			}
			st.aliases[a] = alias
		}
		return rows.Err()
	}, func(a *pgArgs) {
		a.int8s(len(k.aliases), func(i int) int64 { return k.aliases[i].auction })
		a.int8s(len(k.aliases), func(i int) int64 { return k.aliases[i].user })
	})
	if len(k.idem) == 0 {
		return
	}
	pipe.queue(&stmtReceipts, func(rows pgx.Rows) error {
		for rows.Next() {
			var ik idemKey
			var auctionID int64
			var data string
			if err := rows.Scan(&ik.user, &ik.key, &auctionID, &data); err != nil {
				return err
			}
			if rc, ok := storedReceipt(auctionID, data); ok {
				st.receipts[ik] = rc
			}
		}
		return rows.Err()
	}, func(a *pgArgs) {
		a.int8s(len(k.idem), func(i int) int64 { return k.idem[i].user })
		a.texts(len(k.idem), func(i int) string { return k.idem[i].key })
	})
}

// commitPipe queues COMMIT, sends the pipe, and reports whether the
// transaction committed: only then may receipts go out.
func commitPipe(ctx context.Context, pipe *pgPipe) error {
	pipe.queue(&stmtCommit, nil, nil)
	tag, err := pipe.send(ctx)
	if err != nil {
		if _, answered := errors.AsType[*pgconn.PgError](err); !answered {
			// The server never answered: the COMMIT may have run.
			return fmt.Errorf("%w: %w", errCommitUnknown, err)
		}
		return err
	}
	if tag.String() != "COMMIT" {
		return fmt.Errorf("bidding: batch transaction ended with %q, not COMMIT", tag.String())
	}
	return nil
}

func queueBids(pipe *pgPipe, bids []bidRow) {
	n := len(bids)
	pipe.queue(&stmtInsertBids, nil, func(a *pgArgs) {
		a.int8s(n, func(i int) int64 { return bids[i].ID })
		a.int8s(n, func(i int) int64 { return bids[i].AuctionID })
		a.int8s(n, func(i int) int64 { return bids[i].BidderID })
		a.int8s(n, func(i int) int64 { return bids[i].Amount })
		a.int8s(n, func(i int) int64 { return bids[i].MaxAmount })
		a.bools(n, func(i int) bool { return bids[i].BuyNow })
		a.int8s(n, func(i int) int64 { return bids[i].Seq })
		a.times(n, func(i int) time.Time { return bids[i].ReceivedAt })
		a.bools(n, func(i int) bool { return bids[i].Raised })
	})
}

func queueAutoBids(pipe *pgPipe, autos []autoBidRow) {
	n := len(autos)
	pipe.queue(&stmtInsertAutoBids, nil, func(a *pgArgs) {
		a.int8s(n, func(i int) int64 { return autos[i].AuctionID })
		a.int8s(n, func(i int) int64 { return autos[i].Seq })
		a.int2s(n, func(i int) int16 { return int16(autos[i].Pos) })
		a.int8s(n, func(i int) int64 { return autos[i].BidderID })
		a.int8s(n, func(i int) int64 { return autos[i].Amount })
	})
}

func queueEvents(pipe *pgPipe, events []eventRow) {
	n := len(events)
	pipe.queue(&stmtInsertEvents, nil, func(a *pgArgs) {
		a.texts(n, func(i int) string { return events[i].ChannelKind })
		a.int8s(n, func(i int) int64 { return events[i].ChannelID })
		a.int8s(n, func(i int) int64 { return events[i].Seq })
		a.texts(n, func(i int) string { return events[i].EventID })
		a.texts(n, func(i int) string { return events[i].Type })
		a.texts(n, func(i int) string { return events[i].Subject })
		a.texts(n, func(i int) string { return events[i].Payload })
		a.times(n, func(i int) time.Time { return events[i].CreatedAt })
		a.int8s(n, func(i int) int64 { return deref(events[i].SaleID) })
		a.int8s(n, func(i int) int64 { return deref(events[i].SaleSeq) })
	})
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// queueSaleSeqs records the new head of each sale log that eventRows
// advanced from its locked value.
func queueSaleSeqs(pipe *pgPipe, sales map[int64]domain.Sale, next map[int64]int64) {
	var ids, seqs []int64
	for id, sale := range sales {
		if head := next[id] - 1; head > sale.Seq {
			ids, seqs = append(ids, id), append(seqs, head)
		}
	}
	if len(ids) == 0 {
		return
	}
	pipe.queue(&stmtSaveSaleSeqs, nil, func(a *pgArgs) {
		a.int8s(len(ids), func(i int) int64 { return ids[i] })
		a.int8s(len(ids), func(i int) int64 { return seqs[i] })
	})
}

func queueReceipts(pipe *pgPipe, rows []idempotencyRow) {
	n := len(rows)
	pipe.queue(&stmtInsertReceipts, nil, func(a *pgArgs) {
		a.int8s(n, func(i int) int64 { return rows[i].UserID })
		a.texts(n, func(i int) string { return rows[i].Key })
		a.int8s(n, func(i int) int64 { return rows[i].AuctionID })
		a.texts(n, func(i int) string { return rows[i].Receipt })
		a.times(n, func(i int) time.Time { return rows[i].CreatedAt })
	})
}

// queueStates writes the touched lots: those bid on with every column
// judging may change, those only a cascade moved as the cascade's shift
// (stmtShiftLots) or, where that cannot stand for them, with
// stmtSaveMoves. The two are split by index, not copied (a cascade touches
// ~500 lots), and a batch that moved nothing, as most do, is not split at
// all.
func queueStates(pipe *pgPipe, p *batchPlan) {
	as, moved := p.touched, p.moved
	own := func(i int) *domain.Auction { return &as[i] }
	n := len(as)
	if len(moved) > 0 {
		ownIdx := make([]int32, 0, len(as)-len(moved))
		shifted := make([]int32, 0, len(moved))
		for i := range as {
			if moved[as[i].ID] {
				shifted = append(shifted, int32(i))
			} else {
				ownIdx = append(ownIdx, int32(i))
			}
		}
		own, n = func(i int) *domain.Auction { return &as[ownIdx[i]] }, len(ownIdx)
		if m := len(shifted); !queueShifts(pipe, p, as, shifted, ownIdx) {
			pipe.queue(&stmtSaveMoves, nil, func(a *pgArgs) {
				a.int8s(m, func(i int) int64 { return as[shifted[i]].ID })
				a.int8s(m, func(i int) int64 { return as[shifted[i]].Seq })
				a.times(m, func(i int) time.Time { return as[shifted[i]].EndsAt })
				a.times(m, func(i int) time.Time { return as[shifted[i]].UpdatedAt })
			})
		}
	}
	if n == 0 {
		return
	}
	pipe.queue(&stmtSaveStates, nil, func(a *pgArgs) {
		a.int8s(n, func(i int) int64 { return own(i).ID })
		a.texts(n, func(i int) string { return string(own(i).Status) })
		a.int8s(n, func(i int) int64 { return own(i).CurrentPrice })
		a.int8s(n, func(i int) int64 { return int64(own(i).BidCount) })
		a.int8s(n, func(i int) int64 { return own(i).LeaderID })
		a.int8s(n, func(i int) int64 { return own(i).LeaderMax })
		a.texts(n, func(i int) string { return own(i).LeaderAlias })
		a.int8s(n, func(i int) int64 { return int64(own(i).BidderCount) })
		a.int8s(n, func(i int) int64 { return own(i).Seq })
		a.times(n, func(i int) time.Time { return own(i).EndsAt })
		a.times(n, func(i int) time.Time { return own(i).UpdatedAt })
	})
}
