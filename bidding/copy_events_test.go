package bidding

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

// TestWriteEventsPG writes a few events and many through writeEventsPG:
// the many go by COPY (nothing is left queued on the pipe), and either
// way every column, NULLs included, reads back as written, with ids in the
// order of the rows.
func TestWriteEventsPG(t *testing.T) {
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
	for _, n := range []int{3, copyEventsMin, 500} {
		events := make([]domain.Event, n)
		for i := range events {
			events[i] = domain.Event{Type: domain.EventExtended, AuctionID: int64(900_000 + i), Seq: int64(n), Currency: "EUR",
				Title: fmt.Sprintf("Lot \"%d\" ünï\\", i), EndsAt: t0.Add(time.Duration(i) * time.Second), CommittedAt: t0.Add(1500 * time.Nanosecond),
				SaleID: 77, LotNumber: i + 1, Covered: i%2 == 0}
		}
		rows, err := eventRows(events, nil, map[int64]int64{77: int64(1000 * n)})
		if err != nil {
			t.Fatal(err)
		}
		err = conn.Raw(func(dc any) error {
			c := dc.(*stdlib.Conn).Conn()
			pipe := pgPipe{conn: c}
			if _, err := c.Exec(ctx, "BEGIN"); err != nil {
				return err
			}
			if err := writeEventsPG(ctx, &pipe, rows); err != nil {
				return err
			}
			if queued := len(pipe.scans) > 0; queued != (n < copyEventsMin) {
				t.Errorf("%d events: queued on the pipe %v, want %v", n, queued, n < copyEventsMin)
			}
			return commitPipe(ctx, &pipe)
		})
		if err != nil {
			t.Fatalf("%d events: %v", n, err)
		}
		var got []eventRow
		if err := db.Where("channel_kind = 'auction' AND seq = ?", n).Order("id").Find(&got).Error; err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("%d events: read back %d", n, len(got))
		}
		for i, g := range got {
			w := rows[i]
			if g.ChannelKind != w.ChannelKind || g.ChannelID != w.ChannelID || g.Seq != w.Seq || g.EventID != w.EventID ||
				g.Type != w.Type || g.Subject != w.Subject || g.Payload != w.Payload || !g.CreatedAt.Equal(w.CreatedAt.Truncate(time.Microsecond)) ||
				g.PublishedAt != nil || deref(g.SaleID) != deref(w.SaleID) || deref(g.SaleSeq) != deref(w.SaleSeq) {
				t.Fatalf("%d events: row %d read back as %+v, wrote %+v", n, i, g, w)
			}
			if i > 0 && g.ID <= got[i-1].ID {
				t.Fatalf("%d events: ids out of row order: %d after %d", n, g.ID, got[i-1].ID)
			}
		}
	}
}
