package bidding

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestBatchesAcrossAuctions sends concurrent bids on several auctions
// through one queue, so batches span auctions, each bid with an
// Idempotency-Key and some sent twice at once. Every acknowledged bid must
// be stored once under the id on its receipt; each auction's and each
// user's events must be gap-free in id order; price events and recorded
// receipts must carry the right bid id.
func TestBatchesAcrossAuctions(t *testing.T) {
	dialects(t, func(t *testing.T, db *gorm.DB) {
		s := New(db, Options{Now: newClock(t0).now, PasswordCost: bcrypt.MinCost, Shards: 1})
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		seller := mustUser(t, s, false)
		const nAuctions, nBidders, perBidder = 5, 10, 12
		auctions := make([]domain.Auction, nAuctions)
		for i := range auctions {
			auctions[i] = mustAuction(t, s, seller, nil)
		}
		bidders := make([]domain.User, nBidders)
		for i := range bidders {
			bidders[i] = mustUser(t, s, false)
		}

		var (
			mu       sync.Mutex
			receipts = map[string]domain.Receipt{} // by Idempotency-Key
			bidIDs   = map[int64]bool{}
			wg       sync.WaitGroup
		)
		place := func(u domain.User, auctionID int64, in domain.BidInput) {
			r, err := s.PlaceBid(context.Background(), u, auctionID, in)
			switch domain.ErrorCode(err) {
			case "":
			case domain.CodeConflict:
				return
			default:
				t.Errorf("bid: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if prev, ok := receipts[in.IdempotencyKey]; ok && (prev.BidID != r.BidID || prev.Seq != r.Seq) {
				t.Errorf("key %s answered with bids %d and %d", in.IdempotencyKey, prev.BidID, r.BidID)
			}
			receipts[in.IdempotencyKey] = r
			bidIDs[r.BidID] = true
		}
		for w, u := range bidders {
			wg.Go(func() {
				for j := range perBidder {
					a := auctions[(w+j)%nAuctions]
					cur, err := s.Auction(context.Background(), a.ID)
					if err != nil {
						t.Error(err)
						return
					}
					in := domain.BidInput{Amount: domain.MinNextBid(cur), IdempotencyKey: fmt.Sprintf("w%d-%d", w, j)}
					if j%4 == 0 {
						in.MaxAmount = in.Amount + 500
					}
					if j%3 == 0 {
						// The same request twice at once, as a client retrying
						// a POST: one bid at most, one receipt.
						wg.Go(func() { place(u, a.ID, in) })
					}
					place(u, a.ID, in)
				}
			})
		}
		wg.Wait()
		if len(bidIDs) == 0 {
			t.Fatal("no bid was accepted")
		}

		type stored struct{ ID, AuctionID, BidderID, Seq int64 }
		var bids []stored
		if err := db.Raw("SELECT id, auction_id, bidder_id, seq FROM bids").Scan(&bids).Error; err != nil {
			t.Fatal(err)
		}
		if len(bids) != len(bidIDs) {
			t.Fatalf("%d bid rows for %d acknowledged bids", len(bids), len(bidIDs))
		}
		byID := map[int64]stored{}
		bySeq := map[bidKey]int64{}
		for _, b := range bids {
			byID[b.ID] = b
			bySeq[bidKey{b.AuctionID, b.Seq}] = b.ID
		}
		for key, r := range receipts {
			b, ok := byID[r.BidID]
			if !ok || b.AuctionID != r.AuctionID || b.Seq != r.Seq {
				t.Fatalf("receipt for %s names bid %d (auction %d seq %d), stored as %+v", key, r.BidID, r.AuctionID, r.Seq, b)
			}
		}
		var recorded []idempotencyRow
		if err := db.Find(&recorded).Error; err != nil {
			t.Fatal(err)
		}
		for _, row := range recorded {
			st, ok := storedReceipt(row.AuctionID, row.Receipt)
			rc := st.receipt
			if want := receipts[row.Key]; !ok || rc.BidID != want.BidID || rc.Seq != want.Seq {
				t.Fatalf("recorded receipt for %s: %+v, want bid %d", row.Key, rc, want.BidID)
			}
		}
		if len(recorded) != len(receipts) {
			t.Fatalf("%d recorded receipts for %d accepted keys", len(recorded), len(receipts))
		}

		// The relay publishes in id order, so id order must be log order.
		checkLog := func(kind domain.ChannelKind, id int64) int {
			var seqs []int64
			if err := db.Raw("SELECT seq FROM events WHERE channel_kind = ? AND channel_id = ? ORDER BY id", string(kind), id).Scan(&seqs).Error; err != nil {
				t.Fatal(err)
			}
			for i, seq := range seqs {
				if seq != int64(i+1) {
					t.Fatalf("%s %d: events in id order have seqs %v, want 1..%d", kind, id, seqs, len(seqs))
				}
			}
			return len(seqs)
		}
		for _, a := range auctions {
			checkLog(domain.ChannelAuction, a.ID)
			got := mustGet(t, s, a.ID)
			n := 0
			for _, b := range bids {
				if b.AuctionID == a.ID {
					n++
				}
			}
			if got.BidCount != n {
				t.Fatalf("auction %d: bid_count %d, %d bid rows", a.ID, got.BidCount, n)
			}
			for _, e := range eventsOf(t, s, domain.AuctionChannel(a.ID)) {
				if e.BidAmount != 0 && e.BidID != bySeq[bidKey{a.ID, e.Seq}] {
					t.Fatalf("auction %d seq %d: event names bid %d, stored bid is %d", a.ID, e.Seq, e.BidID, bySeq[bidKey{a.ID, e.Seq}])
				}
			}
		}
		outbid := 0
		for _, u := range bidders {
			n := checkLog(domain.ChannelUser, u.ID)
			for i, e := range eventsOf(t, s, domain.UserChannel(u.ID)) {
				if e.UserSeq != int64(i+1) || e.ID != domain.MakeID(domain.UserChannel(u.ID), int64(i+1)) {
					t.Fatalf("user %d: personal event %d carries user_seq %d and id %q", u.ID, i+1, e.UserSeq, e.ID)
				}
			}
			var last int64
			if err := db.Raw("SELECT event_seq FROM users WHERE id = ?", u.ID).Scan(&last).Error; err != nil {
				t.Fatal(err)
			}
			if last != int64(n) {
				t.Fatalf("user %d: event_seq %d with %d personal events", u.ID, last, n)
			}
			outbid += n
		}
		if outbid == 0 {
			t.Fatal("no outbid events: the personal path went untested")
		}
	})
}

// TestEventRowsPayload checks that the outbox payload is exactly what
// json.Marshal makes of the event, positions and ids filled in.
func TestEventRowsPayload(t *testing.T) {
	t.Parallel()
	prev := t0.Add(-time.Minute)
	events := []domain.Event{
		{Type: domain.EventPrice, AuctionID: 7, Seq: 3, Title: "<Lamp> & \"shade\"", Currency: "EUR", CurrentPrice: 1200,
			BidID: 9, BidAmount: 1200, Bidder: "Bidder 2", EndsAt: t0, PreviousEndsAt: &prev, CommittedAt: t0},
		{Type: domain.EventOutbid, AuctionID: 7, Seq: 3, UserID: 5, CommittedAt: t0},
		{Type: domain.EventOutbid, AuctionID: 8, Seq: 1, UserID: 5, CommittedAt: t0},
	}
	rows, err := eventRows(events, map[int64]int64{5: 41}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range events {
		if e.Type.Personal() {
			e.UserSeq = int64(40 + i)
		}
		e.ID = domain.MakeID(e.Channel(), e.ChannelSeq())
		want, _ := json.Marshal(e)
		if rows[i].Payload != string(want) || rows[i].EventID != e.ID || rows[i].Seq != e.ChannelSeq() {
			t.Fatalf("row %d: %+v\nwant payload %s", i, rows[i], want)
		}
	}
}

// TestPipelineOnPostgres checks the binary parameter encoders against
// PostgreSQL, and that a COMMIT queued behind a failed statement does not
// commit.
func TestPipelineOnPostgres(t *testing.T) {
	db := testpg.DB(t)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		pipe := pgPipe{conn: c}

		ints := []int64{0, -1, 42, math.MaxInt64, math.MinInt64}
		texts := []string{"", "plain", `a "quote", a \backslash, {braces}`, "ünïcødé €", "NULL"}
		bools := []bool{true, false, true}
		times := []time.Time{t0, t0.Add(1500 * time.Nanosecond), time.Date(1969, 7, 20, 20, 17, 40, 999_999_999, time.UTC)}
		var (
			gotInts            []int64
			gotTexts, gotEmpty []string
			gotBools           []bool
			gotTimes           []time.Time
			gotOne             int64
		)
		stmt := pgStmt{sql: "SELECT $1::bigint[], $2::text[], $3::boolean[], $4::timestamptz[], $5::bigint, $6::text[]",
			types: []uint32{pgInt8s, pgTexts, pgBools, pgTimes, pgtype.Int8OID, pgTexts}}
		pipe.queue(&stmt, func(rows pgx.Rows) error {
			for rows.Next() {
				if err := rows.Scan(&gotInts, &gotTexts, &gotBools, &gotTimes, &gotOne, &gotEmpty); err != nil {
					return err
				}
			}
			return rows.Err()
		}, func(a *pgArgs) {
			a.int8s(len(ints), func(i int) int64 { return ints[i] })
			a.texts(len(texts), func(i int) string { return texts[i] })
			a.bools(len(bools), func(i int) bool { return bools[i] })
			a.times(len(times), func(i int) time.Time { return times[i] })
			a.int8(7)
			a.texts(0, nil)
		})
		if _, err := pipe.send(ctx); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotInts, ints) || !slices.Equal(gotTexts, texts) || !slices.Equal(gotBools, bools) || gotOne != 7 || len(gotEmpty) != 0 {
			t.Fatalf("round trip: %v %q %v %d %q", gotInts, gotTexts, gotBools, gotOne, gotEmpty)
		}
		for i, tm := range times {
			if want := tm.Truncate(time.Microsecond); !gotTimes[i].Equal(want) {
				t.Fatalf("time %d came back as %v, want %v", i, gotTimes[i], want)
			}
		}

		if _, err := c.Exec(ctx, "CREATE TEMP TABLE pipe_probe (v bigint)"); err != nil {
			t.Fatal(err)
		}
		insert := pgStmt{sql: "INSERT INTO pipe_probe VALUES ($1)", types: []uint32{pgtype.Int8OID}}
		fail := pgStmt{sql: "SELECT 1 / 0"}
		pipe.queue(&stmtBegin, nil, nil)
		pipe.queue(&insert, nil, func(a *pgArgs) { a.int8(1) })
		pipe.queue(&fail, nil, nil)
		if err := commitPipe(ctx, &pipe); err == nil || retryable(err) {
			t.Fatalf("a failed statement before COMMIT: %v, want division by zero", err)
		}
		if st := c.PgConn().TxStatus(); st != 'E' {
			t.Fatalf("transaction status %q after the failure, want E (failed, not committed)", st)
		}
		if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := c.QueryRow(ctx, "SELECT count(*) FROM pipe_probe").Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d rows (%v) after the failed transaction, want 0", n, err)
		}
		_, err := c.Exec(ctx, "DROP TABLE pipe_probe")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
