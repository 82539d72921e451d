package bidding

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
)

// copyEventsMin is the number of events from which a batch writes them
// with COPY instead of the pipe's INSERT: a bid that cascades over 500
// lots writes 500 `extended` events. COPY inserts them a heap page at a
// time (one WAL record per page, not per row: ~500 fewer records and
// ~25 KB less WAL for 500 events), at the price of a round trip of its
// own, which a bid's few events would not repay.
const copyEventsMin = 64

// stmtCopyEvents names the columns in the order copyEventRows writes them.
// Each row draws its id from the column's default as COPY reads it, so
// the ids follow the order of the rows, as the relay needs.
const stmtCopyEvents = `COPY events (channel_kind, channel_id, seq, event_id, type, subject, payload, created_at,
	sale_id, sale_seq) FROM STDIN (FORMAT binary)`

// writeEventsPG writes a batch's events in its transaction: queued on the
// pipe, or, for many, sent at once with COPY.
func writeEventsPG(ctx context.Context, pipe *pgPipe, rows []eventRow) error {
	if len(rows) < copyEventsMin {
		queueEvents(pipe, rows)
		return nil
	}
	pipe.copyBuf = copyEventRows(pipe.copyBuf[:0], rows)
	tag, err := pipe.conn.PgConn().CopyFrom(ctx, bytes.NewReader(pipe.copyBuf), stmtCopyEvents)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != int64(len(rows)) {
		return fmt.Errorf("bidding: COPY wrote %d of %d events", tag.RowsAffected(), len(rows))
	}
	return nil
}

// copyEventRows appends rows to b in PostgreSQL's binary COPY format:
// a header, then per row its field count and each field as a length and
// its binary value (-1 for NULL), then a trailer.
func copyEventRows(b []byte, rows []eventRow) []byte {
	b = append(b, "PGCOPY\n\xff\r\n\x00"...)
	b = binary.BigEndian.AppendUint32(b, 0) // flags
	b = binary.BigEndian.AppendUint32(b, 0) // header extension length
	text := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	int8 := func(v int64) {
		b = binary.BigEndian.AppendUint32(b, 8)
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	nullable := func(p *int64) {
		if p == nil || *p == 0 {
			b = binary.BigEndian.AppendUint32(b, 0xffffffff) // -1: NULL
			return
		}
		int8(*p)
	}
	for i := range rows {
		r := &rows[i]
		b = binary.BigEndian.AppendUint16(b, 10)
		text(r.ChannelKind)
		int8(r.ChannelID)
		int8(r.Seq)
		text(r.EventID)
		text(r.Type)
		text(r.Subject)
		text(r.Payload)
		int8(pgMicros(r.CreatedAt))
		nullable(r.SaleID)
		nullable(r.SaleSeq)
	}
	return binary.BigEndian.AppendUint16(b, 0xffff) // -1: the end
}
