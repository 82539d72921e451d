package invoicing

import (
	"context"

	"github.com/gavel-auctions/gavel/domain"
)

// PaymentProvider is the one seam for taking payments. Today buyers pay by
// the seller's own means (bank transfer, cash at collection) and the
// seller marks the invoice paid; a card provider later implements this
// interface, is set as Config.Payments, and reports each settled payment
// with Service.RecordPayment from its webhook. Nothing else changes.
type PaymentProvider interface {
	// Name is recorded as the invoice's payment method when the provider
	// reports a payment.
	Name() string
	// Instructions tells the buyer how to pay inv.
	Instructions(inv domain.Invoice) string
	// CheckoutURL starts an online payment of inv's total and returns
	// where to send the buyer; "" when the provider takes no online
	// payments.
	CheckoutURL(ctx context.Context, inv domain.Invoice) (string, error)
}

// ManualPayments is the provider with no online payment: the buyer follows
// the seller's payment instructions, and the seller marks the invoice
// paid.
type ManualPayments struct{}

var _ PaymentProvider = ManualPayments{}

// Name implements PaymentProvider.
func (ManualPayments) Name() string { return "manual" }

// Instructions implements PaymentProvider: the seller's own text.
func (ManualPayments) Instructions(inv domain.Invoice) string {
	if inv.PaymentInstructions == "" {
		return "Contact the seller, " + inv.Seller.Name + " <" + inv.Seller.Email + ">, to arrange payment."
	}
	return inv.PaymentInstructions
}

// CheckoutURL implements PaymentProvider: no online payment.
func (ManualPayments) CheckoutURL(context.Context, domain.Invoice) (string, error) { return "", nil }

// PaymentInstructions returns how the buyer pays inv, from the provider.
func (s *Service) PaymentInstructions(inv domain.Invoice) string {
	return s.cfg.Payments.Instructions(inv)
}

// CheckoutURL starts an online payment of inv, when the provider offers
// one.
func (s *Service) CheckoutURL(ctx context.Context, inv domain.Invoice) (string, error) {
	return s.cfg.Payments.CheckoutURL(ctx, inv)
}
