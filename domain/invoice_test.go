package domain_test

import (
	"errors"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

// TestCheckStep walks the invoice states: payment waits for the buyer's
// choice when there is one, fulfilment follows payment and matches the
// choice, a cancelled invoice and a credit note take no step.
func TestCheckStep(t *testing.T) {
	t.Parallel()
	pickup := domain.ShippingOption{Kind: domain.ShippingPickup, Where: "Saleroom"}
	delivery := domain.ShippingOption{Kind: domain.ShippingDelivery, Region: "EU", Amount: 2500}
	inv := func(status domain.InvoiceStatus, options []domain.ShippingOption, chosen *domain.ShippingOption) domain.Invoice {
		i := domain.Invoice{Kind: domain.KindInvoice, Reference: "INV-00001", Status: status, ShippingOptions: options}
		if chosen != nil {
			i.Checkout = &domain.Checkout{Choice: *chosen}
		}
		return i
	}
	both := []domain.ShippingOption{pickup, delivery}
	tests := []struct {
		name string
		inv  domain.Invoice
		step domain.InvoiceStep
		ok   bool
	}{
		{"checkout on an issued invoice", inv(domain.InvoiceIssued, both, nil), domain.StepCheckout, true},
		{"checkout twice", inv(domain.InvoiceIssued, both, &pickup), domain.StepCheckout, false},
		{"checkout without options", inv(domain.InvoiceIssued, nil, nil), domain.StepCheckout, false},
		{"paid before the choice", inv(domain.InvoiceIssued, both, nil), domain.StepPaid, false},
		{"paid after the choice", inv(domain.InvoiceIssued, both, &delivery), domain.StepPaid, true},
		{"paid with nothing to choose", inv(domain.InvoiceIssued, nil, nil), domain.StepPaid, true},
		{"paid twice", inv(domain.InvoicePaid, both, &delivery), domain.StepPaid, false},
		{"shipped before payment", inv(domain.InvoiceIssued, both, &delivery), domain.StepShipped, false},
		{"shipped after payment", inv(domain.InvoicePaid, both, &delivery), domain.StepShipped, true},
		{"shipped when collection was chosen", inv(domain.InvoicePaid, both, &pickup), domain.StepShipped, false},
		{"collected when delivery was chosen", inv(domain.InvoicePaid, both, &delivery), domain.StepCollected, false},
		{"collected after payment", inv(domain.InvoicePaid, both, &pickup), domain.StepCollected, true},
		{"collected with nothing chosen", inv(domain.InvoicePaid, nil, nil), domain.StepCollected, true},
		{"collected twice", inv(domain.InvoiceCollected, both, &pickup), domain.StepCollected, false},
		{"credit note after payment", inv(domain.InvoicePaid, both, &pickup), domain.StepCredit, true},
		{"any step once cancelled", inv(domain.InvoiceCancelled, both, &pickup), domain.StepCredit, false},
		{"a credit note has no steps", domain.Invoice{Kind: domain.KindCreditNote, Status: domain.InvoiceIssued}, domain.StepPaid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := domain.CheckStep(tt.inv, tt.step)
			if tt.ok != (err == nil) {
				t.Fatalf("CheckStep(%s, %s) = %v, want ok=%v", tt.inv.Status, tt.step, err, tt.ok)
			}
			var de *domain.Error
			if err != nil && (!errors.As(err, &de) || de.Message == "") {
				t.Errorf("refusal without a message a person can act on: %v", err)
			}
		})
	}
}
