package bidding

import (
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// lotSet says which of a sale's lots a change locks.
type lotSet []string

var (
	allLots      = lotSet{"draft", "scheduled", "open", "closed", "cancelled"}
	unclosedLots = lotSet{"draft", "scheduled", "open"}
	runningLots  = lotSet{"scheduled", "open"}
)

// lockSale locks a sale and those of its lots in set, in the global lock
// order (auctions by id, then sales), and returns the lots in lot order
// with the sale's pause on them.
//
// Lots are locked before the sale, so one added meanwhile by a
// transaction that held the sale could be missed: every writer of a
// sale's lots holds the sale's lock, so once we hold it a second read
// finds and locks any such lot.
func (s *Service) lockSale(tx *gorm.DB, id int64, set lotSet) (domain.Sale, []domain.Auction, error) {
	var rows []auctionRow
	if err := tx.Raw("SELECT * FROM auctions WHERE sale_id = ? AND status IN ? ORDER BY id"+s.forUpdate(), id, []string(set)).
		Scan(&rows).Error; err != nil {
		return domain.Sale{}, nil, err
	}
	var sr saleRow
	if err := tx.Raw("SELECT * FROM sales WHERE id = ?"+s.forUpdate(), id).Scan(&sr).Error; err != nil {
		return domain.Sale{}, nil, err
	}
	if sr.ID == 0 {
		return domain.Sale{}, nil, domain.ErrSaleNotFound
	}
	seen := make([]int64, len(rows))
	for i, r := range rows {
		seen[i] = r.ID
	}
	q := "SELECT * FROM auctions WHERE sale_id = ? AND status IN ?"
	args := []any{id, []string(set)}
	if len(seen) > 0 {
		q += " AND id NOT IN ?"
		args = append(args, seen)
	}
	var late []auctionRow
	if err := tx.Raw(q+" ORDER BY id"+s.forUpdate(), args...).Scan(&late).Error; err != nil {
		return domain.Sale{}, nil, err
	}
	rows = append(rows, late...)
	sale := sr.toDomain()
	lots := make([]domain.Auction, len(rows))
	for i, r := range rows {
		lots[i] = r.toDomain()
		lots[i].PausedAt = sale.PausedAt
	}
	domain.SortLots(lots)
	return sale, lots, nil
}

// saveSale writes a sale's settings and state; its log's head is only
// moved by writeEvents.
func saveSale(tx *gorm.DB, sale domain.Sale) error {
	row := saleToRow(sale)
	return tx.Model(&saleRow{}).Where("id = ?", sale.ID).Select("*").Omit("id", "seller_id", "created_at", "event_seq").
		Updates(&row).Error
}

// lotChunk bounds the lots saved per statement: 10 parameters each, and
// PostgreSQL takes at most 65,535.
const lotChunk = 1000

// saveLots writes what a sale's lifecycle changes on its lots: status,
// times, seq and the copy of the sale's fees. On PostgreSQL it is one
// statement per thousand lots, so a pause or resume of a 5,000-lot sale,
// or a fee edit, is a handful of round trips.
func (s *Service) saveLots(tx *gorm.DB, lots []domain.Auction) error {
	if !s.pg {
		for _, a := range lots {
			err := tx.Model(&auctionRow{}).Where("id = ?", a.ID).Updates(map[string]any{
				"status": string(a.Status), "seq": a.Seq, "starts_at": a.StartsAt.UTC(), "ends_at": a.EndsAt.UTC(),
				"ends_floor": a.EndsAt.UTC(), "original_ends_at": a.OriginalEndsAt.UTC(), "currency": a.Currency, "soft_close_seconds": a.SoftCloseSeconds,
				"fees": domain.EncodeFees(a.Fees), "updated_at": a.UpdatedAt.UTC(),
			}).Error
			if err != nil {
				return err
			}
		}
		return nil
	}
	for chunk := range slices.Chunk(lots, lotChunk) {
		var q strings.Builder
		q.WriteString(`UPDATE auctions AS a SET status = v.status, seq = v.seq, starts_at = v.starts_at, ends_at = v.ends_at,
			ends_floor = v.ends_at, original_ends_at = v.original_ends_at, currency = v.currency, soft_close_seconds = v.soft_close_seconds,
			fees = v.fees, updated_at = v.updated_at FROM (VALUES `)
		args := make([]any, 0, len(chunk)*10)
		for i, a := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?::bigint, ?::text, ?::bigint, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::text, ?::int, ?::text, ?::timestamptz)")
			args = append(args, a.ID, string(a.Status), a.Seq, a.StartsAt.UTC(), a.EndsAt.UTC(), a.OriginalEndsAt.UTC(),
				a.Currency, a.SoftCloseSeconds, domain.EncodeFees(a.Fees), a.UpdatedAt.UTC())
		}
		q.WriteString(`) AS v(id, status, seq, starts_at, ends_at, original_ends_at, currency, soft_close_seconds, fees, updated_at)
			WHERE a.id = v.id`)
		if err := tx.Exec(q.String(), args...).Error; err != nil {
			return err
		}
	}
	return nil
}
