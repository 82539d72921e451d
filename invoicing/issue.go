package invoicing

import (
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// nextNumber takes the next number of a seller's series in tx. The UPDATE
// locks the counter row until tx ends, so a concurrent issuer waits and
// then takes the number after ours; if tx rolls back, so does the number:
// no gaps, no duplicates.
func nextNumber(tx *gorm.DB, sellerID int64, kind domain.InvoiceKind) (int64, error) {
	if err := tx.Exec(`INSERT INTO invoice_counters (seller_id, kind, last_number) VALUES (?, ?, 0)
		ON CONFLICT (seller_id, kind) DO NOTHING`, sellerID, string(kind)).Error; err != nil {
		return 0, err
	}
	var n int64
	err := tx.Raw(`UPDATE invoice_counters SET last_number = last_number + 1 WHERE seller_id = ? AND kind = ?
		RETURNING last_number`, sellerID, string(kind)).Scan(&n).Error
	if err == nil && n == 0 {
		err = errors.New("invoicing: no counter row")
	}
	return n, err
}

// party reads a user's name and email as they are now, for the document.
func party(tx *gorm.DB, id int64) (domain.Party, error) {
	var p domain.Party
	err := tx.Raw("SELECT id, name, email FROM users WHERE id = ?", id).Scan(&p).Error
	if err == nil && p.ID == 0 {
		err = domain.ErrUserNotFound
	}
	return p, err
}

// issueSpec is an invoice to issue.
type issueSpec struct {
	sellerID, buyerID int64
	saleID            int64
	offerID           int64
	currency          string
	lots              []domain.LotSold
}

// issue writes a new invoice for spec in tx, numbered in the seller's
// series, and returns it with its events (to the buyer and the seller).
func (s *Service) issue(tx *gorm.DB, spec issueSpec, now time.Time) (domain.Invoice, []domain.Event, error) {
	seller, err := party(tx, spec.sellerID)
	if err != nil {
		return domain.Invoice{}, nil, err
	}
	buyer, err := party(tx, spec.buyerID)
	if err != nil {
		return domain.Invoice{}, nil, err
	}
	set, err := s.settingsTx(tx, spec.sellerID)
	if err != nil {
		return domain.Invoice{}, nil, err
	}
	commission, err := s.commissionTx(tx, set)
	if err != nil {
		return domain.Invoice{}, nil, err
	}
	var lines []domain.InvoiceLine
	for _, l := range spec.lots {
		lines = append(lines, domain.LotLines(l, spec.currency)...)
	}
	subtotal, err := domain.SumLines(lines)
	if err != nil {
		return domain.Invoice{}, nil, err
	}
	// Lots of one invoice share their seller's (or sale's) options; the
	// first lot's are the invoice's.
	options := []domain.ShippingOption{}
	if len(spec.lots) > 0 && len(spec.lots[0].Fees.Shipping) > 0 {
		options = spec.lots[0].Fees.Shipping
	}
	number, err := nextNumber(tx, spec.sellerID, domain.KindInvoice)
	if err != nil {
		return domain.Invoice{}, nil, err
	}
	row := invoiceRow{
		Kind: string(domain.KindInvoice), SellerID: spec.sellerID, BuyerID: spec.buyerID, Number: number,
		Currency: spec.currency, SellerName: seller.Name, SellerEmail: seller.Email, BuyerName: buyer.Name, BuyerEmail: buyer.Email,
		PaymentInstructions: set.PaymentInstructions, ShippingOptions: encodeJSON(options), CommissionBPS: commission,
		LineCount: len(lines), Subtotal: subtotal, IssuedAt: now, DueAt: now.AddDate(0, 0, set.DueDays),
		Status: string(domain.InvoiceIssued), UpdatedAt: now,
	}
	if spec.saleID != 0 {
		row.SaleID = ptr(spec.saleID)
	}
	if spec.offerID != 0 {
		row.OfferID = ptr(spec.offerID)
	}
	if err := tx.Create(&row).Error; err != nil {
		return domain.Invoice{}, nil, err
	}
	if err := insertLines(tx, row.ID, lines); err != nil {
		return domain.Invoice{}, nil, err
	}
	inv := row.toDomain(linesOf(row.ID, lines), nil, now)
	if err := audit(tx, spec.sellerID, "invoice_issued", row.ID, inv.Reference+" to "+buyer.Name, now); err != nil {
		return domain.Invoice{}, nil, err
	}
	return inv, invoiceEvents(inv, "issued", now, inv.Buyer.ID, inv.Seller.ID), nil
}

func linesOf(id int64, lines []domain.InvoiceLine) []lineRow {
	rows := make([]lineRow, len(lines))
	for i, l := range lines {
		rows[i] = lineRow{InvoiceID: id, Position: i + 1, Kind: string(l.Kind), LotNumber: l.LotNumber,
			Description: l.Description, RateBPS: l.RateBPS, Amount: l.Amount}
		if l.AuctionID != 0 {
			rows[i].AuctionID = ptr(l.AuctionID)
		}
	}
	return rows
}

func insertLines(tx *gorm.DB, id int64, lines []domain.InvoiceLine) error {
	if len(lines) == 0 {
		return nil
	}
	return tx.CreateInBatches(linesOf(id, lines), 500).Error
}

// invoiceEvents are the personal invoice events of a change, one per
// recipient.
func invoiceEvents(inv domain.Invoice, change string, now time.Time, to ...int64) []domain.Event {
	note := &domain.InvoiceNote{ID: inv.ID, Kind: inv.Kind, Reference: inv.Reference, Status: inv.Status, Total: inv.Total,
		BuyerID: inv.Buyer.ID, SellerID: inv.Seller.ID, DueAt: inv.DueAt, Change: change}
	var auctionID int64
	title := ""
	for _, l := range inv.Lines {
		if l.Kind == domain.LineHammer {
			auctionID, title = l.AuctionID, l.Description
			break
		}
	}
	out := make([]domain.Event, 0, len(to))
	for _, u := range to {
		out = append(out, domain.Event{Type: domain.EventInvoice, UserID: u, AuctionID: auctionID, Title: title,
			Currency: inv.Currency, Invoice: note, CommittedAt: now})
	}
	return out
}

// creditNote cancels inv in full with a credit note, in tx: a new document
// in the seller's credit-note series whose lines negate inv's.
func (s *Service) creditNote(tx *gorm.DB, inv domain.Invoice, actor domain.User, reason string, now time.Time) (domain.Invoice, []domain.Event, error) {
	number, err := nextNumber(tx, inv.Seller.ID, domain.KindCreditNote)
	if err != nil {
		return domain.Invoice{}, nil, err
	}
	lines := domain.CreditLines(inv)
	subtotal, err := domain.SumLines(lines)
	if err != nil {
		return domain.Invoice{}, nil, err
	}
	row := invoiceRow{
		Kind: string(domain.KindCreditNote), SellerID: inv.Seller.ID, BuyerID: inv.Buyer.ID, Number: number, CreditFor: ptr(inv.ID),
		Currency: inv.Currency, SellerName: inv.Seller.Name, SellerEmail: inv.Seller.Email, BuyerName: inv.Buyer.Name,
		BuyerEmail: inv.Buyer.Email, PaymentInstructions: "", ShippingOptions: "[]", CommissionBPS: inv.CommissionBPS,
		LineCount: len(lines), Subtotal: subtotal, Reason: reason, IssuedAt: now, DueAt: now,
		Status: string(domain.InvoiceIssued), UpdatedAt: now,
	}
	if inv.SaleID != 0 {
		row.SaleID = ptr(inv.SaleID)
	}
	if err := tx.Create(&row).Error; err != nil {
		if uniqueViolation(err) {
			return domain.Invoice{}, nil, domain.Errorf(domain.CodeConflict, "Invoice %s already has a credit note.", inv.Reference)
		}
		return domain.Invoice{}, nil, err
	}
	if err := insertLines(tx, row.ID, lines); err != nil {
		return domain.Invoice{}, nil, err
	}
	res := tx.Model(&invoiceRow{}).Where("id = ? AND status <> ?", inv.ID, string(domain.InvoiceCancelled)).
		Updates(map[string]any{"status": string(domain.InvoiceCancelled), "cancelled_at": now, "credit_note_id": row.ID, "updated_at": now})
	if res.Error != nil {
		return domain.Invoice{}, nil, res.Error
	}
	if res.RowsAffected != 1 {
		return domain.Invoice{}, nil, domain.Errorf(domain.CodeConflict, "Invoice %s was already cancelled.", inv.Reference)
	}
	cn := row.toDomain(linesOf(row.ID, lines), nil, now)
	msg := cn.Reference + " cancels " + inv.Reference
	if reason != "" {
		msg += ": " + reason
	}
	if err := audit(tx, actor.ID, "invoice_credit_note", inv.ID, msg, now); err != nil {
		return domain.Invoice{}, nil, err
	}
	inv.Status, inv.CancelledAt, inv.CreditNoteID = domain.InvoiceCancelled, &now, cn.ID
	events := invoiceEvents(inv, "cancelled", now, inv.Buyer.ID, inv.Seller.ID)
	return cn, append(events, invoiceEvents(cn, "issued", now, inv.Buyer.ID)...), nil
}
