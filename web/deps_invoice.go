package web

import (
	"context"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// Invoicing is what happens after the hammer: invoices and credit notes,
// payment and fulfilment, offers after close, seller settings and
// statements. A nil Deps.Invoicing leaves its routes out. Every method
// checks who may do what; a viewer who may not see an invoice is told it
// does not exist.
type Invoicing interface {
	Invoice(ctx context.Context, viewer domain.User, id int64) (domain.Invoice, error)
	Invoices(ctx context.Context, viewer domain.User, f domain.InvoiceFilter) ([]domain.Invoice, error)
	// LotInvoice is the standing invoice of a lot that viewer may see.
	LotInvoice(ctx context.Context, viewer domain.User, auctionID int64) (domain.Invoice, bool, error)
	Checkout(ctx context.Context, actor domain.User, id int64, option int) (domain.Invoice, error)
	MarkPaid(ctx context.Context, actor domain.User, id int64, p domain.Payment) (domain.Invoice, error)
	MarkShipped(ctx context.Context, actor domain.User, id int64, tracking string) (domain.Invoice, error)
	MarkCollected(ctx context.Context, actor domain.User, id int64, ref string) (domain.Invoice, error)
	// CreditNote cancels an invoice and returns the credit note.
	CreditNote(ctx context.Context, actor domain.User, id int64, reason string) (domain.Invoice, error)
	// PaymentInstructions says how the buyer pays (the payment provider's
	// words); CheckoutURL starts an online payment, "" when there is none.
	PaymentInstructions(inv domain.Invoice) string
	CheckoutURL(ctx context.Context, inv domain.Invoice) (string, error)
	PDF(inv domain.Invoice) ([]byte, error)

	MakeOffer(ctx context.Context, seller domain.User, auctionID int64, ttlHours int) (domain.Offer, error)
	AcceptOffer(ctx context.Context, buyer domain.User, offerID int64) (domain.Offer, error)
	DeclineOffer(ctx context.Context, buyer domain.User, offerID int64) (domain.Offer, error)
	Offers(ctx context.Context, viewer domain.User, asSeller bool, auctionID int64) ([]domain.Offer, error)

	SellerSettings(ctx context.Context, sellerID int64) (domain.SellerSettings, error)
	PutSellerSettings(ctx context.Context, seller domain.User, in domain.SellerSettings) (domain.SellerSettings, error)
	PlatformCommission(ctx context.Context) (int64, error)
	SetCommission(ctx context.Context, admin domain.User, sellerID int64, bps *int64) error

	SaleStatement(ctx context.Context, viewer domain.User, saleID int64) (domain.Statement, error)
	PeriodStatements(ctx context.Context, viewer domain.User, sellerID int64, from, to time.Time) ([]domain.Statement, error)
	StatementCSV(sts []domain.Statement) []byte
}
