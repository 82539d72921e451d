package invoicing

import (
	"context"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
)

// Invoice returns invoice id as viewer may see it: its buyer, its seller
// and admins. Anyone else is told there is no such invoice.
func (s *Service) Invoice(ctx context.Context, viewer domain.User, id int64) (domain.Invoice, error) {
	if viewer.ID == 0 {
		return domain.Invoice{}, domain.ErrUnauthorized
	}
	inv, err := s.loadTx(s.db.WithContext(ctx), id, false)
	if err != nil {
		return domain.Invoice{}, err
	}
	if !mayView(viewer, inv) {
		return domain.Invoice{}, ErrInvoiceNotFound
	}
	return inv, nil
}

// Invoices lists viewer's invoices and credit notes, newest first, with
// their lines.
func (s *Service) Invoices(ctx context.Context, viewer domain.User, f domain.InvoiceFilter) ([]domain.Invoice, error) {
	if viewer.ID == 0 {
		return nil, domain.ErrUnauthorized
	}
	var q strings.Builder
	q.WriteString("SELECT * FROM invoices WHERE 1=1")
	var args []any
	switch f.Role {
	case domain.AsSeller:
		q.WriteString(" AND seller_id = ?")
		args = append(args, viewer.ID)
	case domain.AsAdmin:
		if !viewer.Admin {
			return nil, domain.ErrNotAdmin
		}
	default:
		q.WriteString(" AND buyer_id = ?")
		args = append(args, viewer.ID)
	}
	if f.SaleID != 0 {
		q.WriteString(" AND sale_id = ?")
		args = append(args, f.SaleID)
	}
	switch f.Status {
	case "":
	case "overdue":
		q.WriteString(" AND kind = 'invoice' AND status = 'issued' AND due_at < ?")
		args = append(args, s.now())
	default:
		q.WriteString(" AND status = ?")
		args = append(args, f.Status)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	q.WriteString(" ORDER BY id DESC LIMIT ?")
	args = append(args, limit)
	db := s.db.WithContext(ctx)
	var rows []invoiceRow
	if err := db.Raw(q.String(), args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return []domain.Invoice{}, nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var lines []lineRow
	if err := db.Where("invoice_id IN ?", ids).Order("invoice_id, position").Find(&lines).Error; err != nil {
		return nil, err
	}
	var cos []checkoutRow
	if err := db.Where("invoice_id IN ?", ids).Find(&cos).Error; err != nil {
		return nil, err
	}
	byInv := map[int64][]lineRow{}
	for _, l := range lines {
		byInv[l.InvoiceID] = append(byInv[l.InvoiceID], l)
	}
	coBy := map[int64]*checkoutRow{}
	for i := range cos {
		coBy[cos[i].InvoiceID] = &cos[i]
	}
	now := s.now()
	out := make([]domain.Invoice, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain(byInv[r.ID], coBy[r.ID], now)
	}
	return out, nil
}

// LotInvoice returns the standing invoice of a lot that viewer may see
// (the buyer's, or any for the seller and admins), and whether there is
// one: the lot page links to it.
func (s *Service) LotInvoice(ctx context.Context, viewer domain.User, auctionID int64) (domain.Invoice, bool, error) {
	if viewer.ID == 0 {
		return domain.Invoice{}, false, nil
	}
	var ids []int64
	err := s.db.WithContext(ctx).Raw(`SELECT i.id FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
		WHERE l.auction_id = ? AND l.kind = 'hammer' AND i.kind = 'invoice' AND i.status <> 'cancelled'
		AND (i.buyer_id = ? OR i.seller_id = ? OR ?) ORDER BY i.id DESC LIMIT 1`,
		auctionID, viewer.ID, viewer.ID, viewer.Admin).Scan(&ids).Error
	if err != nil || len(ids) == 0 {
		return domain.Invoice{}, false, err
	}
	inv, err := s.Invoice(ctx, viewer, ids[0])
	return inv, err == nil, err
}

// InvoiceURL is the path of userID's standing invoice for a lot, "" while
// there is none; the notifier links it from the "you won" email.
func (s *Service) InvoiceURL(ctx context.Context, auctionID, userID int64) string {
	inv, ok, err := s.LotInvoice(ctx, domain.User{ID: userID}, auctionID)
	if err != nil || !ok || inv.Buyer.ID != userID {
		return ""
	}
	return "/invoices/" + itoa(inv.ID)
}
