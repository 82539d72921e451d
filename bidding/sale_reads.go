package bidding

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// Sale returns one sale.
func (s *Service) Sale(ctx context.Context, id int64) (domain.Sale, error) {
	var row saleRow
	if err := s.db.WithContext(ctx).Raw("SELECT * FROM sales WHERE id = ?", id).Scan(&row).Error; err != nil {
		return domain.Sale{}, err
	}
	if row.ID == 0 {
		return domain.Sale{}, domain.ErrSaleNotFound
	}
	return row.toDomain(), nil
}

// Sales lists sales matching f: those running first (the next to close
// first), then upcoming ones by opening, then finished ones newest first.
func (s *Service) Sales(ctx context.Context, f domain.SaleFilter) ([]domain.Sale, error) {
	st := f.Status
	if len(st) == 0 {
		st = []domain.SaleStatus{domain.SaleScheduled, domain.SaleOpen, domain.SaleClosing}
	}
	statuses := make([]string, len(st))
	for i, v := range st {
		statuses[i] = string(v)
	}
	var q strings.Builder
	q.WriteString("SELECT * FROM sales WHERE status IN ?")
	args := []any{statuses}
	if f.SellerID != 0 {
		q.WriteString(" AND seller_id = ?")
		args = append(args, f.SellerID)
	}
	q.WriteString(` ORDER BY CASE status WHEN 'closing' THEN 0 WHEN 'open' THEN 1 WHEN 'scheduled' THEN 2 WHEN 'draft' THEN 3 ELSE 4 END,
		CASE WHEN status IN ('closing', 'open') THEN first_close_at END ASC,
		CASE WHEN status = 'scheduled' THEN opens_at END ASC, id DESC LIMIT ?`)
	args = append(args, clampLimit(f.Limit, 50, 500))
	var rows []saleRow
	if err := s.db.WithContext(ctx).Raw(q.String(), args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.Sale, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// SaleStats counts the lots of each sale by outcome.
func (s *Service) SaleStats(ctx context.Context, ids []int64) (map[int64]domain.SaleStats, error) {
	out := make(map[int64]domain.SaleStats, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	// sold is domain.Winner: closed, with a leader, at or above the reserve.
	const sold = "status = 'closed' AND leader_id IS NOT NULL AND current_price >= reserve_price"
	var rows []struct {
		SaleID    int64
		Lots      int
		Open      int
		Sold      int
		Closed    int
		Withdrawn int
		Bids      int
		Hammer    int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT sale_id, COUNT(*) AS lots,
		COALESCE(SUM(CASE WHEN status IN ('draft', 'scheduled', 'open') THEN 1 ELSE 0 END), 0) AS open,
		COALESCE(SUM(CASE WHEN `+sold+` THEN 1 ELSE 0 END), 0) AS sold,
		COALESCE(SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), 0) AS closed,
		COALESCE(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0) AS withdrawn,
		COALESCE(SUM(bid_count), 0) AS bids,
		COALESCE(SUM(CASE WHEN `+sold+` THEN current_price ELSE 0 END), 0) AS hammer
		FROM auctions WHERE sale_id IN ? GROUP BY sale_id`, ids).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.SaleID] = domain.SaleStats{Lots: r.Lots, Open: r.Open, Sold: r.Sold, Unsold: r.Closed - r.Sold,
			Withdrawn: r.Withdrawn, Bids: r.Bids, HammerTotal: r.Hammer}
	}
	// The ends read apart: SQLite returns an aggregate of a time as text.
	var ends []struct {
		SaleID int64
		EndsAt time.Time
		Next   bool
	}
	err = s.db.WithContext(ctx).Raw(`SELECT a.sale_id, a.ends_at, TRUE AS next FROM auctions a
		WHERE a.sale_id IN ? AND a.status IN ('scheduled', 'open') AND NOT EXISTS (
			SELECT 1 FROM auctions b WHERE b.sale_id = a.sale_id AND b.status IN ('scheduled', 'open')
			AND (b.ends_at < a.ends_at OR (b.ends_at = a.ends_at AND b.lot_number < a.lot_number)))
		UNION ALL
		SELECT a.sale_id, a.ends_at, FALSE AS next FROM auctions a
		WHERE a.sale_id IN ? AND a.status <> 'cancelled' AND NOT EXISTS (
			SELECT 1 FROM auctions b WHERE b.sale_id = a.sale_id AND b.status <> 'cancelled'
			AND (b.ends_at > a.ends_at OR (b.ends_at = a.ends_at AND b.lot_number > a.lot_number)))`, ids, ids).Scan(&ends).Error
	if err != nil {
		return nil, err
	}
	for _, e := range ends {
		st := out[e.SaleID]
		t := e.EndsAt.UTC()
		if e.Next {
			st.NextCloseAt = &t
		} else {
			st.LastCloseAt = &t
		}
		out[e.SaleID] = st
	}
	return out, nil
}

// Lots returns every lot of a sale in lot order, with the leader's name
// for privileged views and the sale's pause.
func (s *Service) Lots(ctx context.Context, saleID int64) ([]domain.Auction, error) {
	var rows []auctionWithLeader
	if err := s.db.WithContext(ctx).Raw(auctionSelect+" WHERE a.sale_id = ? ORDER BY a.lot_number", saleID).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.Auction, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// SaleResults returns every lot's outcome in lot order, with the buyers'
// names and emails (the seller's results export).
func (s *Service) SaleResults(ctx context.Context, saleID int64) ([]domain.LotResult, error) {
	var rows []struct {
		Row        auctionRow `gorm:"embedded"`
		BuyerName  string
		BuyerEmail string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT a.*, COALESCE(u.name, '') AS buyer_name, COALESCE(u.email, '') AS buyer_email
		FROM auctions a LEFT JOIN users u ON u.id = a.leader_id WHERE a.sale_id = ? ORDER BY a.lot_number`, saleID).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]domain.LotResult, len(rows))
	for i, r := range rows {
		out[i] = domain.ResultOf(r.Row.toDomain())
		if out[i].Sold {
			out[i].BuyerName, out[i].BuyerEmail = r.BuyerName, r.BuyerEmail
		}
	}
	return out, nil
}

// SaleSnapshot returns a sale and every published lot's state, read in
// one snapshot of the database so that they agree with the sale's log
// position (Sale.Seq): realtime nodes send it on connect and continue the
// sale's log from there.
func (s *Service) SaleSnapshot(ctx context.Context, saleID int64) (domain.Sale, []domain.Event, error) {
	var opts *sql.TxOptions
	if s.pg {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	var sale domain.Sale
	var lots []domain.Event
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var sr saleRow
		if err := tx.Raw("SELECT * FROM sales WHERE id = ?", saleID).Scan(&sr).Error; err != nil {
			return err
		}
		if sr.ID == 0 {
			return domain.ErrSaleNotFound
		}
		sale = sr.toDomain()
		var rows []auctionRow
		if err := tx.Raw("SELECT * FROM auctions WHERE sale_id = ? AND status <> 'draft' ORDER BY lot_number", saleID).
			Scan(&rows).Error; err != nil {
			return err
		}
		lots = make([]domain.Event, len(rows))
		for i, r := range rows {
			a := r.toDomain()
			a.PausedAt = sale.PausedAt
			lots[i] = domain.LotSnapshot(a)
		}
		return nil
	}, opts)
	return sale, lots, err
}

// SaleAliases returns the aliases a user bids under in a sale's lots, by
// lot: the lots they have bid on.
func (s *Service) SaleAliases(ctx context.Context, saleID, userID int64) (map[int64]string, error) {
	var rows []bidderRow
	err := s.db.WithContext(ctx).Raw(`SELECT ab.* FROM auction_bidders ab JOIN auctions a ON a.id = ab.auction_id
		WHERE a.sale_id = ? AND ab.user_id = ?`, saleID, userID).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.AuctionID] = r.Alias
	}
	return out, nil
}

// SaleBidCount counts the bids that still count on a sale's lots received
// since a time: the seller's dashboard shows bids per minute.
func (s *Service) SaleBidCount(ctx context.Context, saleID int64, since time.Time) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM bids b JOIN auctions a ON a.id = b.auction_id
		WHERE a.sale_id = ? AND b.received_at >= ? AND NOT b.voided`, saleID, since.UTC()).Scan(&n).Error
	return int(n), err
}
