package bidding

import (
	"encoding/binary"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gavel-auctions/gavel/domain"
)

// cascadeShift is one cascade of a batch: the lots of a sale after lot
// number after moved by, each up to its cap (domain.AppendCascade).
type cascadeShift struct {
	saleID int64
	after  int
	by     time.Duration
	at     time.Time // the batch's time: the moved lots' updated_at
}

// noteShift records a cascade that moved at least one lot.
func (p *batchPlan) noteShift(c cascadeShift) {
	for _, s := range p.shifts {
		if s.saleID == c.saleID {
			p.shiftedTwice = true
		}
	}
	p.shifts = append(p.shifts, c)
}

// stmtShiftLots writes one cascade's moves as PostgreSQL arithmetic on the
// rows instead of 500 values sent back: the later lots are already locked
// (stmtLockAuctions) and were read in this transaction, so the server
// computes from the same ends, caps and statuses that domain.AppendCascade
// judged. The WHERE is the rule's test for a move (a lot still open or
// scheduled whose cap is past its end: with a positive shift, exactly the
// lots whose end moves) minus the lots bid on in the batch ($5), which
// stmtSaveStates writes whole. The shift is the rule's, truncated to the
// microsecond: each moved end was read from the database, so it is whole
// microseconds, and the stored end is what storing the rule's end would
// store. The count must be the plan's ($6), or the cast fails and with it
// the transaction, before its COMMIT runs: events announcing a move the
// rows do not have must never commit.
//
// In pgbench (docs/BENCHMARKS.md, "Session 9 (lead)") this form took
// 2.4–2.9 ms over 499 lots where the 4-array stmtSaveMoves took 3.2–4.6.
var stmtShiftLots = pgStmt{sql: `WITH u AS (
		UPDATE auctions SET seq = seq + 1, updated_at = $4,
			ends_at = LEAST(ends_at + $3::interval, original_ends_at + make_interval(secs => max_extension_seconds))
		WHERE sale_id = $1 AND lot_number > $2 AND status IN ('scheduled', 'open')
			AND original_ends_at + make_interval(secs => max_extension_seconds) > ends_at AND id <> ALL($5)
		RETURNING 1)
	SELECT CASE WHEN count(*) = $6 THEN 0
		ELSE ('cascade moved ' || count(*) || ' lots of sale ' || $1 || ', its plan ' || $6)::int END FROM u`,
	types: []uint32{pgtype.Int8OID, pgtype.Int8OID, pgtype.IntervalOID, pgtype.TimestamptzOID, pgInt8s, pgtype.Int8OID}}

// queueShifts queues stmtShiftLots for each cascade of p, if they can
// stand for the moves: each sale cascaded at most once in the batch, so
// every lot a shift moves had the end it read from the database, in whole
// microseconds (a second shift of the same lots would truncate twice).
// shifted are the indexes in as of the lots only a cascade moved, own the
// others; it reports false, queuing nothing, when the moves must go as
// values.
func queueShifts(pipe *pgPipe, p *batchPlan, as []domain.Auction, shifted, own []int32) bool {
	if len(p.shifts) == 0 || p.shiftedTwice {
		return false
	}
	moves := make(map[int64]int64, len(p.shifts))
	for _, i := range shifted {
		moves[as[i].SaleID]++
	}
	for _, c := range p.shifts {
		n := moves[c.saleID]
		if n == 0 {
			// Every lot it moved was bid on too, and written whole.
			continue
		}
		pipe.queue(&stmtShiftLots, nil, func(a *pgArgs) {
			a.int8(c.saleID)
			a.int8(int64(c.after))
			a.interval(c.by)
			a.timestamp(c.at)
			a.int8s(len(own), func(i int) int64 { return as[own[i]].ID })
			a.int8(n)
		})
	}
	return true
}

// interval encodes a duration as PostgreSQL's binary interval, truncated
// to microseconds: microseconds, then days and months (none).
func (a *pgArgs) interval(d time.Duration) {
	a.buf = binary.BigEndian.AppendUint64(a.buf, uint64(d.Microseconds()))
	a.buf = binary.BigEndian.AppendUint32(a.buf, 0)
	a.buf = binary.BigEndian.AppendUint32(a.buf, 0)
	a.ends = append(a.ends, len(a.buf))
}
