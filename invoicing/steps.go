package invoicing

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// ErrInvoiceNotFound is also the answer to anyone who may not see an
// invoice, so that its existence does not leak.
var ErrInvoiceNotFound = &domain.Error{Code: domain.CodeNotFound, Message: "No such invoice."}

// loadTx reads an invoice with its lines and checkout in tx, locking its
// row when lock is set (every state change does, so two steps on one
// invoice take turns).
func (s *Service) loadTx(tx *gorm.DB, id int64, lock bool) (domain.Invoice, error) {
	q := "SELECT * FROM invoices WHERE id = ?"
	if lock {
		q += s.forUpdate()
	}
	var rows []invoiceRow
	if err := tx.Raw(q, id).Scan(&rows).Error; err != nil {
		return domain.Invoice{}, err
	}
	if len(rows) == 0 {
		return domain.Invoice{}, ErrInvoiceNotFound
	}
	var lines []lineRow
	if err := tx.Where("invoice_id = ?", id).Order("position").Find(&lines).Error; err != nil {
		return domain.Invoice{}, err
	}
	var cos []checkoutRow
	if err := tx.Where("invoice_id = ?", id).Limit(1).Find(&cos).Error; err != nil {
		return domain.Invoice{}, err
	}
	var co *checkoutRow
	if len(cos) == 1 {
		co = &cos[0]
	}
	return rows[0].toDomain(lines, co, s.now()), nil
}

// mayManage reports whether actor may take the seller's steps on inv.
func mayManage(actor domain.User, inv domain.Invoice) error {
	switch {
	case actor.ID == 0:
		return domain.ErrUnauthorized
	case actor.Suspended:
		return domain.ErrSuspended
	case actor.Admin || actor.ID == inv.Seller.ID:
		return nil
	case actor.ID == inv.Buyer.ID:
		return &domain.Error{Code: domain.CodeForbidden, Message: "Only the seller (or an administrator) marks payment and delivery."}
	}
	return ErrInvoiceNotFound
}

// mayView reports whether viewer may see inv.
func mayView(viewer domain.User, inv domain.Invoice) bool {
	return viewer.ID != 0 && (viewer.Admin || viewer.ID == inv.Seller.ID || viewer.ID == inv.Buyer.ID)
}

// step runs one state change on a locked invoice and commits it with its
// events and audit entry.
func (s *Service) step(ctx context.Context, id int64, fn func(tx *gorm.DB, inv domain.Invoice, now time.Time) (domain.Invoice, []domain.Event, error)) (domain.Invoice, error) {
	var out domain.Invoice
	err := s.out.Transact(ctx, func(tx *gorm.DB) ([]domain.Event, error) {
		inv, err := s.loadTx(tx, id, true)
		if err != nil {
			return nil, err
		}
		next, events, err := fn(tx, inv, s.now())
		out = next
		return events, err
	})
	return out, err
}

// setState writes the changing columns of an invoice.
func setState(tx *gorm.DB, id int64, cols map[string]any, now time.Time) error {
	cols["updated_at"] = now
	return tx.Model(&invoiceRow{}).Where("id = ?", id).Updates(cols).Error
}

// Checkout records the choice of delivery or collection: option is an
// index into the invoice's shipping options. The buyer chooses; the
// seller or an admin may choose for them. It cannot be changed.
func (s *Service) Checkout(ctx context.Context, actor domain.User, id int64, option int) (domain.Invoice, error) {
	return s.step(ctx, id, func(tx *gorm.DB, inv domain.Invoice, now time.Time) (domain.Invoice, []domain.Event, error) {
		if actor.ID != inv.Buyer.ID {
			if err := mayManage(actor, inv); err != nil {
				return inv, nil, err
			}
		} else if actor.Suspended {
			return inv, nil, domain.ErrSuspended
		}
		if err := domain.CheckStep(inv, domain.StepCheckout); err != nil {
			return inv, nil, err
		}
		if option < 0 || option >= len(inv.ShippingOptions) {
			return inv, nil, domain.Invalid("option", "Choose one of the invoice's delivery or collection options.")
		}
		choice := inv.ShippingOptions[option]
		if err := tx.Create(&checkoutRow{InvoiceID: inv.ID, OptionIndex: option, Choice: encodeJSON(choice), Amount: choice.Amount,
			ChosenBy: actor.ID, ChosenAt: now}).Error; err != nil {
			return inv, nil, err
		}
		if err := setState(tx, inv.ID, map[string]any{}, now); err != nil {
			return inv, nil, err
		}
		if err := audit(tx, actor.ID, "invoice_checkout", inv.ID, inv.Reference+": "+choice.Describe(inv.Currency), now); err != nil {
			return inv, nil, err
		}
		line := domain.ShippingLine(choice, inv.Currency)
		inv.Lines = append(inv.Lines, line)
		inv.Total += line.Amount
		inv.Checkout = &domain.Checkout{Option: option, Choice: choice, ChosenAt: now, ChosenBy: actor.ID}
		return inv, invoiceEvents(inv, "checkout", now, inv.Buyer.ID, inv.Seller.ID), nil
	})
}

// MarkPaid records a payment the seller (or an admin) received.
func (s *Service) MarkPaid(ctx context.Context, actor domain.User, id int64, p domain.Payment) (domain.Invoice, error) {
	method, ref, err := cleanPayment(p)
	if err != nil {
		return domain.Invoice{}, err
	}
	return s.step(ctx, id, func(tx *gorm.DB, inv domain.Invoice, now time.Time) (domain.Invoice, []domain.Event, error) {
		if err := mayManage(actor, inv); err != nil {
			return inv, nil, err
		}
		return s.paid(tx, inv, actor.ID, method, ref, now)
	})
}

// RecordPayment records a payment a PaymentProvider reports for invoice
// id (from its webhook); the audit log names the seller as the actor and
// the provider as the method.
func (s *Service) RecordPayment(ctx context.Context, id int64, p domain.Payment) (domain.Invoice, error) {
	method, ref, err := cleanPayment(p)
	if err != nil {
		return domain.Invoice{}, err
	}
	return s.step(ctx, id, func(tx *gorm.DB, inv domain.Invoice, now time.Time) (domain.Invoice, []domain.Event, error) {
		return s.paid(tx, inv, inv.Seller.ID, method, ref, now)
	})
}

func (s *Service) paid(tx *gorm.DB, inv domain.Invoice, actor int64, method, ref string, now time.Time) (domain.Invoice, []domain.Event, error) {
	if err := domain.CheckStep(inv, domain.StepPaid); err != nil {
		return inv, nil, err
	}
	if err := setState(tx, inv.ID, map[string]any{"status": string(domain.InvoicePaid), "paid_at": now,
		"payment_method": method, "payment_reference": ref}, now); err != nil {
		return inv, nil, err
	}
	if err := audit(tx, actor, "invoice_paid", inv.ID, joinNonEmpty(inv.Reference, method, ref), now); err != nil {
		return inv, nil, err
	}
	inv.Status, inv.PaidAt, inv.PaymentMethod, inv.PaymentReference, inv.Overdue = domain.InvoicePaid, &now, method, ref, false
	return inv, invoiceEvents(inv, "paid", now, inv.Buyer.ID, inv.Seller.ID), nil
}

// MarkShipped records that the lots were sent, with an optional tracking
// reference.
func (s *Service) MarkShipped(ctx context.Context, actor domain.User, id int64, tracking string) (domain.Invoice, error) {
	return s.fulfil(ctx, actor, id, domain.StepShipped, tracking)
}

// MarkCollected records that the buyer collected the lots; the reference
// is optional (a collection slip number).
func (s *Service) MarkCollected(ctx context.Context, actor domain.User, id int64, ref string) (domain.Invoice, error) {
	return s.fulfil(ctx, actor, id, domain.StepCollected, ref)
}

func (s *Service) fulfil(ctx context.Context, actor domain.User, id int64, step domain.InvoiceStep, ref string) (domain.Invoice, error) {
	ref, err := domain.CleanTracking("tracking", ref)
	if err != nil {
		return domain.Invoice{}, err
	}
	return s.step(ctx, id, func(tx *gorm.DB, inv domain.Invoice, now time.Time) (domain.Invoice, []domain.Event, error) {
		if err := mayManage(actor, inv); err != nil {
			return inv, nil, err
		}
		if err := domain.CheckStep(inv, step); err != nil {
			return inv, nil, err
		}
		status, col := domain.InvoiceShipped, "shipped_at"
		if step == domain.StepCollected {
			status, col = domain.InvoiceCollected, "collected_at"
		}
		if err := setState(tx, inv.ID, map[string]any{"status": string(status), col: now, "tracking": ref}, now); err != nil {
			return inv, nil, err
		}
		if err := audit(tx, actor.ID, "invoice_"+string(status), inv.ID, joinNonEmpty(inv.Reference, ref), now); err != nil {
			return inv, nil, err
		}
		inv.Status, inv.Tracking = status, ref
		if step == domain.StepCollected {
			inv.CollectedAt = &now
		} else {
			inv.ShippedAt = &now
		}
		return inv, invoiceEvents(inv, string(status), now, inv.Buyer.ID, inv.Seller.ID), nil
	})
}

// CreditNote cancels invoice id with a credit note and returns the credit
// note. A reason is required: it is printed on the credit note.
func (s *Service) CreditNote(ctx context.Context, actor domain.User, id int64, reason string) (domain.Invoice, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return domain.Invoice{}, domain.Invalid("reason", "Say why the invoice is cancelled; the credit note shows it.")
	case utf8.RuneCountInString(reason) > 500 || !utf8.ValidString(reason) || strings.ContainsRune(reason, 0):
		return domain.Invoice{}, domain.Invalid("reason", "Keep the reason to 500 characters of valid text.")
	}
	var cn domain.Invoice
	_, err := s.step(ctx, id, func(tx *gorm.DB, inv domain.Invoice, now time.Time) (domain.Invoice, []domain.Event, error) {
		if err := mayManage(actor, inv); err != nil {
			return inv, nil, err
		}
		if err := domain.CheckStep(inv, domain.StepCredit); err != nil {
			return inv, nil, err
		}
		var events []domain.Event
		var err error
		cn, events, err = s.creditNote(tx, inv, actor, reason, now)
		return inv, events, err
	})
	return cn, err
}

// FlagOverdue tells the sellers (and reminds the buyers) of invoices that
// passed their due date unpaid, once each, and returns how many.
func (s *Service) FlagOverdue(ctx context.Context) (int, error) {
	var ids []int64
	err := s.db.WithContext(ctx).Raw(`SELECT id FROM invoices WHERE status = 'issued' AND kind = 'invoice'
		AND overdue_notified_at IS NULL AND due_at < ? ORDER BY id LIMIT 500`, s.now()).Scan(&ids).Error
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		_, err := s.step(ctx, id, func(tx *gorm.DB, inv domain.Invoice, now time.Time) (domain.Invoice, []domain.Event, error) {
			res := tx.Model(&invoiceRow{}).Where("id = ? AND status = 'issued' AND overdue_notified_at IS NULL", inv.ID).
				Updates(map[string]any{"overdue_notified_at": now, "updated_at": now})
			if res.Error != nil || res.RowsAffected == 0 {
				return inv, nil, res.Error
			}
			n++
			return inv, invoiceEvents(inv, "overdue", now, inv.Seller.ID, inv.Buyer.ID), nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// cleanPayment checks a payment's method (default "manual") and
// reference.
func cleanPayment(p domain.Payment) (method, ref string, err error) {
	method = strings.TrimSpace(p.Method)
	if method == "" {
		method = "manual"
	}
	if utf8.RuneCountInString(method) > 40 || !utf8.ValidString(method) || strings.ContainsFunc(method, func(r rune) bool { return r < 0x20 }) {
		return "", "", domain.Invalid("method", "Name the payment method in up to 40 characters, such as bank_transfer.")
	}
	ref, err = domain.CleanTracking("reference", p.Reference)
	return method, ref, err
}

func joinNonEmpty(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ", ")
}
