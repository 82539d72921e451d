package main

import (
	"context"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/invoicing"
	"github.com/gavel-auctions/gavel/web"
)

// newInvoicing builds invoicing on the node's database, committing through
// the bidding service's outbox so its events reach /stream/me.
func (n *node) newInvoicing() {
	n.inv = invoicing.New(n.db, n.svc, invoicing.Config{CommissionBPS: n.cfg.CommissionBPS, Logger: n.log})
}

// startInvoicing wires invoicing on an API node: the job that settles
// closed lots, expires offers and flags overdue invoices, and the routes.
func (n *node) startInvoicing(jobCtx context.Context, deps *web.Deps) {
	n.run(func() { n.inv.Run(jobCtx) })
	deps.Invoicing = n.inv
}

// defaultFees is bidding's hook for sellers' default fees; invoicing keeps
// them. It is set before invoicing exists, hence the indirection.
func (n *node) defaultFees(ctx context.Context, sellerID int64, currency string) (*domain.Fees, error) {
	if n.inv == nil {
		return nil, nil
	}
	return n.inv.DefaultFees(ctx, sellerID, currency)
}

// demoSellerSettings gives the demo seller the fees of a typical house,
// once, so the demo shows premiums, VAT and checkout.
func demoSellerSettings(ctx context.Context, n *node, seller domain.User) error {
	if n.inv == nil {
		return nil
	}
	set, err := n.inv.SellerSettings(ctx, seller.ID)
	if err != nil || !set.Fees.IsZero() {
		return err
	}
	_, err = n.inv.PutSellerSettings(ctx, seller, domain.SellerSettings{
		Fees: domain.Fees{
			BuyersPremium: []domain.PremiumTier{{UpTo: 100000, RateBPS: 2500}, {RateBPS: 2000}},
			Tax:           &domain.Tax{Label: "VAT", RateBPS: 2100, On: domain.TaxOnPremium},
			Shipping: []domain.ShippingOption{
				{Kind: domain.ShippingPickup, Where: "Demo saleroom, Oudegracht 1, Utrecht", When: "Mon–Fri 10:00–17:00"},
				{Kind: domain.ShippingDelivery, Region: "Netherlands", Amount: 1500},
				{Kind: domain.ShippingDelivery, Region: "European Union", Amount: 3500},
			},
		},
		Currency:            "EUR",
		PaymentInstructions: "Bank transfer to NL91 GAVL 0123 4567 89 (Demo Seller), quoting the invoice number.",
		DueDays:             14,
	})
	return err
}
