package invoicing

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// settleBatch bounds the closed lots one Settle looks at.
const settleBatch = 500

// Settling is driven by the auctions table itself rather than by events:
// a closed lot with no settled_at is work to do, found through a partial
// index that holds only such lots. Nothing depends on an event's
// retention, a consumer's position or the relay being up, and a node that
// dies mid-way leaves its lots unsettled for the next pass. Each lot (or
// each buyer's lots of a sale) is claimed by setting settled_at in the
// transaction that issues its invoice, so racing nodes issue it once.

// lotColumns are the auction columns invoicing reads; sale_id and
// lot_number only once sales exist (issue #14).
func (s *Service) lotColumns() string {
	cols := `a.id, a.seller_id, a.title, a.currency, a.status, a.start_price, a.reserve_price, a.current_price,
		a.bid_count, a.leader_id, a.leader_max, a.fees, a.settled_at, a.ends_at`
	if s.hasSales {
		return cols + ", COALESCE(a.sale_id, 0) AS sale_id, COALESCE(a.lot_number, 0) AS lot_number"
	}
	return cols + ", 0 AS sale_id, 0 AS lot_number"
}

// Settle issues the invoices of closed lots that have none yet: one per
// single listing sold, and one per buyer of a sale once every lot of the
// sale has closed (a sale's invoices are issued when it ends, so each
// buyer gets one invoice for all their lots). Unsold lots are marked
// settled without an invoice. It returns the number of invoices issued.
func (s *Service) Settle(ctx context.Context) (int, error) {
	// Single listings and sales are looked up apart: the closed lots of a
	// sale still running wait, unsettled, and must not crowd single
	// listings out of a bounded batch.
	single := ""
	if s.hasSales {
		single = " AND a.sale_id IS NULL"
	}
	var lots []lotRow
	err := s.db.WithContext(ctx).Raw("SELECT "+s.lotColumns()+` FROM auctions a
		WHERE a.status = 'closed' AND a.settled_at IS NULL`+single+" ORDER BY a.id LIMIT ?", settleBatch).Scan(&lots).Error
	if err != nil {
		return 0, err
	}
	issued := 0
	var errs []error
	for _, l := range lots {
		n, err := s.settleLots(ctx, []int64{l.ID}, 0)
		issued += n
		errs = append(errs, err)
	}
	if !s.hasSales {
		return issued, errors.Join(errs...)
	}
	var sales []int64
	err = s.db.WithContext(ctx).Raw(`SELECT d.sale_id FROM (SELECT DISTINCT sale_id FROM auctions
		WHERE status = 'closed' AND settled_at IS NULL AND sale_id IS NOT NULL) d
		WHERE NOT EXISTS (SELECT 1 FROM auctions b WHERE b.sale_id = d.sale_id AND b.status NOT IN ('closed', 'cancelled'))
		ORDER BY d.sale_id LIMIT ?`, settleBatch).Scan(&sales).Error
	if err != nil {
		return issued, errors.Join(append(errs, err)...)
	}
	for _, id := range sales {
		n, err := s.settleSale(ctx, id)
		issued += n
		errs = append(errs, err)
	}
	return issued, errors.Join(errs...)
}

// settleSale settles a sale whose lots have all closed or been withdrawn:
// one invoice per winning buyer, lots in lot order.
func (s *Service) settleSale(ctx context.Context, saleID int64) (int, error) {
	db := s.db.WithContext(ctx)
	var running int64
	if err := db.Raw(`SELECT count(*) FROM auctions WHERE sale_id = ? AND status NOT IN ('closed', 'cancelled')`, saleID).
		Scan(&running).Error; err != nil || running > 0 {
		return 0, err
	}
	var lots []lotRow
	if err := db.Raw("SELECT "+s.lotColumns()+` FROM auctions a WHERE a.sale_id = ? AND a.status = 'closed'
		AND a.settled_at IS NULL ORDER BY a.lot_number, a.id`, saleID).Scan(&lots).Error; err != nil {
		return 0, err
	}
	byBuyer := map[int64][]int64{}
	var order []int64
	var unsold []int64
	for _, l := range lots {
		w := domain.Winner(l.auction())
		if w == 0 {
			unsold = append(unsold, l.ID)
			continue
		}
		if _, ok := byBuyer[w]; !ok {
			order = append(order, w)
		}
		byBuyer[w] = append(byBuyer[w], l.ID)
	}
	issued := 0
	var errs []error
	for _, buyer := range order {
		n, err := s.settleLots(ctx, byBuyer[buyer], saleID)
		issued += n
		errs = append(errs, err)
	}
	if len(unsold) > 0 {
		_, err := s.settleLots(ctx, unsold, saleID)
		errs = append(errs, err)
	}
	return issued, errors.Join(errs...)
}

// settleLots claims closed lots (all won by one buyer, or all unsold) and
// issues their invoice in the same transaction. Lots another node claimed
// first are left to it.
func (s *Service) settleLots(ctx context.Context, ids []int64, saleID int64) (int, error) {
	issued := 0
	err := s.out.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
		issued = 0
		now := s.now()
		res := tx.Exec("UPDATE auctions SET settled_at = ? WHERE id IN ? AND status = 'closed' AND settled_at IS NULL", now, ids)
		if res.Error != nil {
			return nil, res.Error
		}
		if res.RowsAffected != int64(len(ids)) {
			return nil, errNothing
		}
		var lots []lotRow
		if err := tx.Raw("SELECT "+s.lotColumns()+" FROM auctions a WHERE a.id IN ? ORDER BY "+s.lotOrder(), ids).Scan(&lots).Error; err != nil {
			return nil, err
		}
		spec := issueSpec{saleID: saleID}
		for _, l := range lots {
			a := l.auction()
			w := domain.Winner(a)
			if w == 0 {
				continue
			}
			if spec.buyerID != 0 && spec.buyerID != w {
				return nil, errors.New("invoicing: lots of several buyers claimed together")
			}
			spec.sellerID, spec.buyerID, spec.currency = a.SellerID, w, a.Currency
			spec.lots = append(spec.lots, l.sold(a.CurrentPrice))
		}
		if len(spec.lots) == 0 {
			return nil, nil
		}
		_, events, err := s.issue(tx, spec, now)
		if err != nil {
			return nil, err
		}
		issued = 1
		return events, nil
	})
	if errors.Is(err, errNothing) {
		return 0, nil
	}
	return issued, err
}

func (s *Service) lotOrder() string {
	if s.hasSales {
		return "a.lot_number, a.id"
	}
	return "a.id"
}

// uniqueViolation reports a unique-constraint error on either dialect.
func uniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
