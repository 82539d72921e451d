package bidding

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gavel-auctions/gavel/domain"
)

// pgStmt is a statement and the PostgreSQL types of its parameters.
// Declaring the types lets every parameter travel in binary (an array of a
// thousand ids is a length and a copy, not text PostgreSQL must parse)
// without a describe round trip first.
type pgStmt struct {
	sql   string
	types []uint32
}

// Parameter types used by the batch statements.
const (
	pgInt8s = pgtype.Int8ArrayOID
	pgInt2s = pgtype.Int2ArrayOID
	pgTexts = pgtype.TextArrayOID
	pgBools = pgtype.BoolArrayOID
	pgTimes = pgtype.TimestamptzArrayOID
)

// binaryResults asks for every result column in binary.
var binaryResults = []int16{pgx.BinaryFormatCode}

// pgPipe sends several statements to PostgreSQL in one round trip on a pgx
// connection: the extended protocol with unnamed statements and a single
// Sync. The pool is configured for the simple protocol, which has pgx quote
// every value into the SQL text; this sidesteps that for the bid path only.
// Nothing is prepared by name or cached, so an ALTER TABLE cannot leave a
// stale plan behind and PgBouncer in transaction mode keeps working, the
// reasons the pool uses the simple protocol in the first place.
//
// After an error PostgreSQL skips the rest of the statements up to the
// Sync, so a COMMIT queued behind a failed statement never runs.
type pgPipe struct {
	conn  *pgx.Conn
	batch pgconn.Batch
	args  pgArgs
	scans []func(pgx.Rows) error
	err   error
	// copyBuf holds the binary COPY of many events (copy_events.go),
	// kept between batches like args.
	copyBuf []byte
	// lots holds a batch's locked auctions, kept between batches: a
	// cascade's 500 rows grew a fresh map through every size on the way,
	// a twelfth of what a node allocated while a sale closed (#14).
	// Nothing outlives the batch with it: plans copy what they keep.
	lots map[int64]domain.Auction
}

// binaryParams declares every parameter binary.
var binaryParams = []int16{pgx.BinaryFormatCode}

// queue adds a statement whose parameters args encodes; scan, if not nil,
// reads its rows when the pipe is sent.
func (p *pgPipe) queue(st *pgStmt, scan func(pgx.Rows) error, args func(*pgArgs)) {
	if p.err != nil {
		return
	}
	p.args.reset()
	if args != nil {
		args(&p.args)
	}
	if len(p.args.ends) != len(st.types) {
		p.err = fmt.Errorf("bidding: %d parameters for a statement that takes %d", len(p.args.ends), len(st.types))
		return
	}
	// The batch copies the encoded statement now, so args is free again.
	p.batch.ExecParams(st.sql, p.args.values(), st.types, binaryParams, binaryResults)
	p.scans = append(p.scans, scan)
}

// send runs the queued statements, hands each one's rows to its scan
// function in order, and empties the pipe. It returns the first error and
// the command tag of the last statement.
func (p *pgPipe) send(ctx context.Context) (pgconn.CommandTag, error) {
	defer p.reset()
	if p.err != nil {
		return pgconn.CommandTag{}, p.err
	}
	var (
		tag      pgconn.CommandTag
		firstErr error
	)
	mrr := p.conn.PgConn().ExecBatch(ctx, &p.batch)
	for i := 0; mrr.NextResult(); i++ {
		rr := mrr.ResultReader()
		var err error
		if i < len(p.scans) && p.scans[i] != nil {
			rows := pgx.RowsFromResultReader(p.conn.TypeMap(), rr)
			err = p.scans[i](rows)
			// Close reads whatever the scan left, and the statement's error.
			rows.Close()
			err = errors.Join(err, rows.Err())
			tag = rows.CommandTag()
		} else {
			tag, err = rr.Close()
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if err := mrr.Close(); firstErr == nil {
		firstErr = err
	}
	return tag, firstErr
}

// reset drops whatever is queued, keeping the buffers.
func (p *pgPipe) reset() {
	p.batch = pgconn.Batch{}
	clear(p.scans)
	p.scans = p.scans[:0]
	p.err = nil
}

// pgArgs encodes a statement's parameters in PostgreSQL's binary format.
// Columns go as one-dimensional arrays written straight from the rows,
// without the boxing and reflection of pgx's general encoder, which took
// ~10% of the process's CPU at 10k bids/s.
type pgArgs struct {
	buf  []byte
	ends []int
	vals [][]byte
}

func (a *pgArgs) reset() {
	a.buf, a.ends = a.buf[:0], a.ends[:0]
}

// values returns the encoded parameters, valid until the next reset.
func (a *pgArgs) values() [][]byte {
	a.vals = a.vals[:0]
	start := 0
	for _, end := range a.ends {
		a.vals = append(a.vals, a.buf[start:end])
		start = end
	}
	return a.vals
}

func (a *pgArgs) int8(v int64) {
	a.buf = binary.BigEndian.AppendUint64(a.buf, uint64(v))
	a.ends = append(a.ends, len(a.buf))
}

// array starts a one-dimensional array of n elements of type elem, without
// nulls.
func (a *pgArgs) array(n int, elem uint32) {
	ndim := uint32(1)
	if n == 0 {
		ndim = 0 // an empty array has no dimensions
	}
	a.buf = binary.BigEndian.AppendUint32(a.buf, ndim)
	a.buf = binary.BigEndian.AppendUint32(a.buf, 0)
	a.buf = binary.BigEndian.AppendUint32(a.buf, elem)
	if n > 0 {
		a.buf = binary.BigEndian.AppendUint32(a.buf, uint32(n))
		a.buf = binary.BigEndian.AppendUint32(a.buf, 1)
	}
}

func (a *pgArgs) int8s(n int, at func(int) int64) {
	a.array(n, pgtype.Int8OID)
	for i := range n {
		a.buf = binary.BigEndian.AppendUint32(a.buf, 8)
		a.buf = binary.BigEndian.AppendUint64(a.buf, uint64(at(i)))
	}
	a.ends = append(a.ends, len(a.buf))
}

func (a *pgArgs) int2s(n int, at func(int) int16) {
	a.array(n, pgtype.Int2OID)
	for i := range n {
		a.buf = binary.BigEndian.AppendUint32(a.buf, 2)
		a.buf = binary.BigEndian.AppendUint16(a.buf, uint16(at(i)))
	}
	a.ends = append(a.ends, len(a.buf))
}

func (a *pgArgs) bools(n int, at func(int) bool) {
	a.array(n, pgtype.BoolOID)
	for i := range n {
		a.buf = binary.BigEndian.AppendUint32(a.buf, 1)
		var b byte
		if at(i) {
			b = 1
		}
		a.buf = append(a.buf, b)
	}
	a.ends = append(a.ends, len(a.buf))
}

func (a *pgArgs) texts(n int, at func(int) string) {
	a.array(n, pgtype.TextOID)
	for i := range n {
		s := at(i)
		a.buf = binary.BigEndian.AppendUint32(a.buf, uint32(len(s)))
		a.buf = append(a.buf, s...)
	}
	a.ends = append(a.ends, len(a.buf))
}

func (a *pgArgs) boolean(v bool) {
	var b byte
	if v {
		b = 1
	}
	a.buf = append(a.buf, b)
	a.ends = append(a.ends, len(a.buf))
}

// timestamp encodes one timestamptz, truncated to microseconds like times.
func (a *pgArgs) timestamp(t time.Time) {
	a.buf = binary.BigEndian.AppendUint64(a.buf, uint64(pgMicros(t)))
	a.ends = append(a.ends, len(a.buf))
}

func pgMicros(t time.Time) int64 {
	return t.Unix()*1_000_000 + int64(t.Nanosecond())/1000 - pgEpochMicros
}

// pgEpochMicros is 2000-01-01 UTC, PostgreSQL's timestamp epoch, in
// microseconds since the Unix epoch.
const pgEpochMicros = 946_684_800 * 1_000_000

// times encodes timestamptz values truncated to microseconds, as pgx does.
func (a *pgArgs) times(n int, at func(int) time.Time) {
	a.array(n, pgtype.TimestamptzOID)
	for i := range n {
		a.buf = binary.BigEndian.AppendUint32(a.buf, 8)
		a.buf = binary.BigEndian.AppendUint64(a.buf, uint64(pgMicros(at(i))))
	}
	a.ends = append(a.ends, len(a.buf))
}
