package bidding

import (
	"context"
)

// LeadLots returns the ids of each sale's first n lots in lot order,
// withdrawn lots left out, in one query whatever the number of sales: a
// sale's card shows the cover of the first of them that has a photo.
func (s *Service) LeadLots(ctx context.Context, saleIDs []int64, n int) (map[int64][]int64, error) {
	out := make(map[int64][]int64, len(saleIDs))
	if len(saleIDs) == 0 || n <= 0 {
		return out, nil
	}
	var rows []struct {
		SaleID int64
		ID     int64
	}
	// The window reads each sale's lots through the (sale_id, lot_number)
	// index; PostgreSQL and SQLite (3.25+) both have ROW_NUMBER.
	err := s.db.WithContext(ctx).Raw(`SELECT sale_id, id FROM (
		SELECT sale_id, id, lot_number, ROW_NUMBER() OVER (PARTITION BY sale_id ORDER BY lot_number) AS pos
		FROM auctions WHERE sale_id IN ? AND status <> 'cancelled') firsts
		WHERE pos <= ? ORDER BY sale_id, lot_number`, saleIDs, n).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.SaleID] = append(out[r.SaleID], r.ID)
	}
	return out, nil
}
