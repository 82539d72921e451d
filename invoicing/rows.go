package invoicing

import (
	"encoding/json"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// Row structs mirror migrations/*/00009_invoicing.sql.

type invoiceRow struct {
	ID                  int64 `gorm:"primaryKey"`
	Kind                string
	SellerID            int64
	BuyerID             int64
	Number              int64
	SaleID              *int64
	CreditFor           *int64
	OfferID             *int64
	Currency            string
	SellerName          string
	SellerEmail         string
	BuyerName           string
	BuyerEmail          string
	PaymentInstructions string
	ShippingOptions     string
	CommissionBPS       int64 `gorm:"column:commission_bps"`
	LineCount           int
	Subtotal            int64
	Reason              string
	IssuedAt            time.Time
	DueAt               time.Time
	Status              string
	PaidAt              *time.Time
	PaymentMethod       string
	PaymentReference    string
	ShippedAt           *time.Time
	CollectedAt         *time.Time
	Tracking            string
	CancelledAt         *time.Time
	CreditNoteID        *int64
	OverdueNotifiedAt   *time.Time
	UpdatedAt           time.Time
}

func (invoiceRow) TableName() string { return "invoices" }

type lineRow struct {
	InvoiceID   int64 `gorm:"primaryKey;autoIncrement:false"`
	Position    int   `gorm:"primaryKey;autoIncrement:false"`
	Kind        string
	AuctionID   *int64
	LotNumber   int
	Description string
	RateBPS     int64 `gorm:"column:rate_bps"`
	Amount      int64
}

func (lineRow) TableName() string { return "invoice_lines" }

type checkoutRow struct {
	InvoiceID   int64 `gorm:"primaryKey;autoIncrement:false"`
	OptionIndex int
	Choice      string
	Amount      int64
	ChosenBy    int64
	ChosenAt    time.Time
}

func (checkoutRow) TableName() string { return "invoice_checkouts" }

type offerRow struct {
	ID        int64 `gorm:"primaryKey"`
	AuctionID int64
	SellerID  int64
	BuyerID   int64
	Kind      string
	Amount    int64
	Currency  string
	Status    string
	ExpiresAt time.Time
	CreatedAt time.Time
	DecidedAt *time.Time
	InvoiceID *int64
}

func (offerRow) TableName() string { return "offers" }

type settingsRow struct {
	UserID              int64 `gorm:"primaryKey;autoIncrement:false"`
	Fees                string
	Currency            string
	PaymentInstructions string
	DueDays             int
	CommissionBPS       *int64 `gorm:"column:commission_bps"`
	UpdatedAt           time.Time
}

func (settingsRow) TableName() string { return "seller_settings" }

// lotRow is what invoicing reads of an auction.
type lotRow struct {
	ID           int64
	SellerID     int64
	Title        string
	Currency     string
	Status       string
	StartPrice   int64
	ReservePrice int64
	CurrentPrice int64
	BidCount     int
	LeaderID     *int64
	LeaderMax    int64
	Fees         string
	SaleID       int64
	LotNumber    int
	SettledAt    *time.Time
	EndsAt       time.Time
}

// auction converts the columns the domain rules need.
func (r lotRow) auction() domain.Auction {
	a := domain.Auction{ID: r.ID, SellerID: r.SellerID, Title: r.Title, Currency: r.Currency, Status: domain.Status(r.Status),
		StartPrice: r.StartPrice, ReservePrice: r.ReservePrice, CurrentPrice: r.CurrentPrice, BidCount: r.BidCount,
		LeaderMax: r.LeaderMax, EndsAt: r.EndsAt.UTC()}
	if r.LeaderID != nil {
		a.LeaderID = *r.LeaderID
	}
	a.Fees = domain.DecodeFees(r.Fees)
	return a
}

func (r lotRow) sold(hammer int64) domain.LotSold {
	return domain.LotSold{AuctionID: r.ID, LotNumber: r.LotNumber, Title: r.Title, Hammer: hammer, Fees: r.auction().Terms()}
}

func encodeJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }

func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// toDomain assembles an invoice from its row, lines and checkout. The
// checkout's charge is the last line, so the total is the sum of the
// lines.
func (r invoiceRow) toDomain(lines []lineRow, co *checkoutRow, now time.Time) domain.Invoice {
	inv := domain.Invoice{
		ID: r.ID, Kind: domain.InvoiceKind(r.Kind), Number: r.Number, Reference: domain.Reference(domain.InvoiceKind(r.Kind), r.Number),
		Status: domain.InvoiceStatus(r.Status), Currency: r.Currency,
		Seller: domain.Party{ID: r.SellerID, Name: r.SellerName, Email: r.SellerEmail},
		Buyer:  domain.Party{ID: r.BuyerID, Name: r.BuyerName, Email: r.BuyerEmail},
		SaleID: val(r.SaleID), CreditFor: val(r.CreditFor), CreditNoteID: val(r.CreditNoteID), OfferID: val(r.OfferID),
		Reason:   r.Reason,
		IssuedAt: r.IssuedAt.UTC(), DueAt: r.DueAt.UTC(), PaymentInstructions: r.PaymentInstructions,
		CommissionBPS: r.CommissionBPS,
		PaidAt:        utcPtr(r.PaidAt), PaymentMethod: r.PaymentMethod, PaymentReference: r.PaymentReference,
		ShippedAt: utcPtr(r.ShippedAt), CollectedAt: utcPtr(r.CollectedAt), Tracking: r.Tracking, CancelledAt: utcPtr(r.CancelledAt),
		ShippingOptions: []domain.ShippingOption{},
		Lines:           make([]domain.InvoiceLine, 0, len(lines)+1),
	}
	if r.ShippingOptions != "" {
		_ = json.Unmarshal([]byte(r.ShippingOptions), &inv.ShippingOptions)
	}
	total := int64(0)
	for _, l := range lines {
		inv.Lines = append(inv.Lines, domain.InvoiceLine{Kind: domain.LineKind(l.Kind), AuctionID: val(l.AuctionID), LotNumber: l.LotNumber,
			Description: l.Description, RateBPS: l.RateBPS, Amount: l.Amount})
		total += l.Amount
	}
	if co != nil {
		c := &domain.Checkout{Option: co.OptionIndex, ChosenAt: co.ChosenAt.UTC(), ChosenBy: co.ChosenBy}
		_ = json.Unmarshal([]byte(co.Choice), &c.Choice)
		inv.Checkout = c
		line := domain.ShippingLine(c.Choice, r.Currency)
		line.Amount = co.Amount
		inv.Lines = append(inv.Lines, line)
		total += co.Amount
	}
	inv.Total = total
	inv.Overdue = domain.IsOverdue(inv, now)
	return inv
}

func (r offerRow) toDomain(title string, fees domain.Fees) domain.Offer {
	return domain.Offer{ID: r.ID, AuctionID: r.AuctionID, Title: title, SellerID: r.SellerID, BuyerID: r.BuyerID,
		Kind: domain.OfferKind(r.Kind), Amount: r.Amount, Currency: r.Currency, Estimate: fees.Estimate(r.Amount),
		Status: domain.OfferStatus(r.Status), ExpiresAt: r.ExpiresAt.UTC(), CreatedAt: r.CreatedAt.UTC(),
		DecidedAt: utcPtr(r.DecidedAt), InvoiceID: val(r.InvoiceID)}
}
