package domain

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// InvoiceKind tells an invoice from a credit note; each has its own
// gap-free number series per seller.
type InvoiceKind string

// The invoice kinds.
const (
	KindInvoice    InvoiceKind = "invoice"
	KindCreditNote InvoiceKind = "credit_note"
)

// InvoiceStatus is where an invoice is in payment and fulfilment:
// issued → paid → shipped | collected, or cancelled by a credit note.
// A credit note is issued and stays so.
type InvoiceStatus string

// The invoice states.
const (
	InvoiceIssued    InvoiceStatus = "issued"
	InvoicePaid      InvoiceStatus = "paid"
	InvoiceShipped   InvoiceStatus = "shipped"
	InvoiceCollected InvoiceStatus = "collected"
	InvoiceCancelled InvoiceStatus = "cancelled"
)

// LineKind says what an invoice line charges for.
type LineKind string

// The line kinds. Every lot has a hammer line, then a premium line and a
// tax line when they are not zero; the shipping line comes from the
// buyer's checkout.
const (
	LineHammer   LineKind = "hammer"
	LinePremium  LineKind = "premium"
	LineTax      LineKind = "tax"
	LineShipping LineKind = "shipping"
)

// Defaults and limits of invoicing.
const (
	DefaultDueDays      = 14
	MaxDueDays          = 365
	MaxInstructionRunes = 2000
	MaxTrackingRunes    = 200
	DefaultOfferTTL     = 48 * time.Hour
	MinOfferTTL         = time.Hour
	MaxOfferTTL         = 14 * 24 * time.Hour
)

// InvoiceLine is one line of an invoice. Lines never change once issued.
type InvoiceLine struct {
	Kind        LineKind `json:"kind"`
	AuctionID   int64    `json:"auction_id,omitempty"`
	LotNumber   int      `json:"lot_number,omitempty"`
	Description string   `json:"description"`
	RateBPS     int64    `json:"rate_bps,omitempty"`
	Amount      int64    `json:"amount"`
}

// Party names the seller or the buyer on an invoice, as they were when it
// was issued.
type Party struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Checkout is the buyer's choice of one of the invoice's shipping options.
// It is recorded once and never changes; its charge is the invoice's
// shipping line.
type Checkout struct {
	Option   int            `json:"option"`
	Choice   ShippingOption `json:"choice"`
	ChosenAt time.Time      `json:"chosen_at"`
	ChosenBy int64          `json:"chosen_by"`
}

// Invoice is an invoice or a credit note. What it charges (lines, parties,
// number, dates, instructions, options) never changes once issued; only
// its payment and fulfilment state moves on.
type Invoice struct {
	ID        int64         `json:"id"`
	Kind      InvoiceKind   `json:"kind"`
	Number    int64         `json:"number"`
	Reference string        `json:"reference"` // "INV-00042", "CN-00003"
	Status    InvoiceStatus `json:"status"`
	Currency  string        `json:"currency"`
	Seller    Party         `json:"seller"`
	Buyer     Party         `json:"buyer"`
	SaleID    int64         `json:"sale_id,omitempty"`
	// CreditFor is the invoice a credit note cancels; CreditNoteID the
	// credit note that cancelled an invoice.
	CreditFor    int64  `json:"credit_for,omitempty"`
	CreditNoteID int64  `json:"credit_note_id,omitempty"`
	Reason       string `json:"reason,omitempty"` // a credit note's
	// OfferID is the offer after close whose acceptance made the invoice.
	OfferID             int64            `json:"offer_id,omitempty"`
	IssuedAt            time.Time        `json:"issued_at"`
	DueAt               time.Time        `json:"due_at"`
	PaymentInstructions string           `json:"payment_instructions"`
	ShippingOptions     []ShippingOption `json:"shipping_options"`
	CommissionBPS       int64            `json:"-"`
	Lines               []InvoiceLine    `json:"lines"`
	Checkout            *Checkout        `json:"checkout,omitempty"`
	Total               int64            `json:"total"`

	PaidAt           *time.Time `json:"paid_at,omitempty"`
	PaymentMethod    string     `json:"payment_method,omitempty"`
	PaymentReference string     `json:"payment_reference,omitempty"`
	ShippedAt        *time.Time `json:"shipped_at,omitempty"`
	CollectedAt      *time.Time `json:"collected_at,omitempty"`
	Tracking         string     `json:"tracking,omitempty"`
	CancelledAt      *time.Time `json:"cancelled_at,omitempty"`
	// Overdue is set by readers: issued, unpaid and past its due date.
	Overdue bool `json:"overdue"`
}

// Reference formats an invoice number for people: INV-00042, CN-00003.
func Reference(kind InvoiceKind, number int64) string {
	prefix := "INV-"
	if kind == KindCreditNote {
		prefix = "CN-"
	}
	s := strconv.FormatInt(number, 10)
	if len(s) < 5 {
		s = strings.Repeat("0", 5-len(s)) + s
	}
	return prefix + s
}

// SumLines adds amounts and fails rather than overflow.
func SumLines(lines []InvoiceLine) (int64, error) {
	var total int64
	for _, l := range lines {
		next := total + l.Amount
		if (l.Amount > 0 && next < total) || (l.Amount < 0 && next > total) || next > 64*MaxMoney || next < -64*MaxMoney {
			return 0, Errorf(CodeInvalid, "This invoice's total is too large.")
		}
		total = next
	}
	return total, nil
}

// LotSold is one lot on an invoice: what was sold, at what hammer price,
// under which fees.
type LotSold struct {
	AuctionID int64
	LotNumber int
	Title     string
	Hammer    int64
	Fees      Fees
}

// LotLines are the lines of one lot: the hammer, then the premium and the
// tax when they are not zero, rounded as Fees.Estimate rounds them.
func LotLines(l LotSold, currency string) []InvoiceLine {
	e := l.Fees.Estimate(l.Hammer)
	name := l.Title
	if l.LotNumber > 0 {
		name = "Lot " + strconv.Itoa(l.LotNumber) + ": " + l.Title
	}
	lines := []InvoiceLine{{Kind: LineHammer, AuctionID: l.AuctionID, LotNumber: l.LotNumber, Description: name + " (hammer price)", Amount: e.Hammer}}
	if e.Premium != 0 {
		lines = append(lines, InvoiceLine{Kind: LinePremium, AuctionID: l.AuctionID, LotNumber: l.LotNumber,
			Description: "Buyer's premium" + premiumRate(l.Fees, currency), Amount: e.Premium})
	}
	if e.Tax != 0 {
		lines = append(lines, InvoiceLine{Kind: LineTax, AuctionID: l.AuctionID, LotNumber: l.LotNumber,
			Description: l.Fees.Tax.Label + " " + FormatRate(l.Fees.Tax.RateBPS) + taxBase(l.Fees.Tax.On), RateBPS: l.Fees.Tax.RateBPS, Amount: e.Tax})
	}
	return lines
}

func premiumRate(f Fees, currency string) string {
	if len(f.BuyersPremium) == 1 {
		return " " + FormatRate(f.BuyersPremium[0].RateBPS)
	}
	return " (tiered: " + strings.TrimSuffix(strings.TrimPrefix(f.DescribePremium(currency), "Buyer's premium: "), ".") + ")"
}

func taxBase(on TaxBase) string {
	if on == TaxOnHammerAndPremium {
		return " on hammer and premium"
	}
	return " on premium"
}

// ShippingLine is the line a checkout adds.
func ShippingLine(o ShippingOption, currency string) InvoiceLine {
	d := strings.TrimSuffix(o.Describe(currency), ".")
	return InvoiceLine{Kind: LineShipping, Description: d, Amount: o.Amount}
}

// CreditLines are the lines of a credit note that cancels inv in full:
// each of its lines, and its shipping, negated.
func CreditLines(inv Invoice) []InvoiceLine {
	out := make([]InvoiceLine, 0, len(inv.Lines)+1)
	for _, l := range inv.Lines {
		if l.Amount == 0 && l.Kind == LineShipping {
			continue
		}
		l.Amount = -l.Amount
		l.Description = "Credit: " + l.Description
		out = append(out, l)
	}
	return out
}

// InvoiceStep is a change of an invoice's state.
type InvoiceStep string

// The steps a seller (or an admin) takes, and the buyer's checkout.
const (
	StepCheckout  InvoiceStep = "checkout"
	StepPaid      InvoiceStep = "paid"
	StepShipped   InvoiceStep = "shipped"
	StepCollected InvoiceStep = "collected"
	StepCredit    InvoiceStep = "credit_note"
)

// CheckStep says whether step may be taken on inv now, with a message a
// person can act on when not.
func CheckStep(inv Invoice, step InvoiceStep) error {
	if inv.Kind == KindCreditNote {
		return Errorf(CodeConflict, "A credit note has no payment or delivery steps.")
	}
	if inv.Status == InvoiceCancelled {
		return Errorf(CodeConflict, "Invoice %s was cancelled by a credit note.", inv.Reference)
	}
	var chosen *ShippingOption
	if inv.Checkout != nil {
		chosen = &inv.Checkout.Choice
	}
	switch step {
	case StepCheckout:
		switch {
		case len(inv.ShippingOptions) == 0:
			return Errorf(CodeConflict, "This invoice offers no delivery or collection choice.")
		case inv.Checkout != nil:
			return Errorf(CodeConflict, "Delivery or collection was already chosen for this invoice.")
		case inv.Status != InvoiceIssued:
			return Errorf(CodeConflict, "This invoice is already %s.", inv.Status)
		}
	case StepPaid:
		switch {
		case inv.Status != InvoiceIssued:
			return Errorf(CodeConflict, "This invoice is already %s.", inv.Status)
		case len(inv.ShippingOptions) > 0 && inv.Checkout == nil:
			return Errorf(CodeConflict, "The buyer has not chosen delivery or collection yet, so the total is not final. Choose for them, or wait.")
		}
	case StepShipped, StepCollected:
		switch {
		case inv.Status == InvoiceIssued:
			return Errorf(CodeConflict, "Mark the invoice paid first.")
		case inv.Status != InvoicePaid:
			return Errorf(CodeConflict, "This invoice is already %s.", inv.Status)
		case step == StepShipped && chosen != nil && chosen.Kind == ShippingPickup:
			return Errorf(CodeConflict, "The buyer chose collection; mark it collected instead.")
		case step == StepCollected && chosen != nil && chosen.Kind == ShippingDelivery:
			return Errorf(CodeConflict, "The buyer chose delivery; mark it shipped instead.")
		}
	case StepCredit:
		// Any state but cancelled: after payment, the credit note records
		// the refund the seller owes.
	default:
		return Errorf(CodeInvalid, "Unknown step %q.", step)
	}
	return nil
}

// CleanTracking checks a tracking reference or payment reference.
func CleanTracking(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > MaxTrackingRunes || !cleanText(s) {
		return "", Invalid(field, "Keep it to 200 characters of plain text.")
	}
	return s, nil
}

// IsOverdue reports whether inv is unpaid past its due date at now.
func IsOverdue(inv Invoice, now time.Time) bool {
	return inv.Kind == KindInvoice && inv.Status == InvoiceIssued && now.After(inv.DueAt)
}

// SellerSettings are a seller's defaults for new listings and invoices.
type SellerSettings struct {
	// Fees are applied to listings created without their own. Premium
	// tier bounds are in minor units of Currency, so a listing in another
	// currency must bring its own tiered premium.
	Fees                Fees   `json:"fees"`
	Currency            string `json:"currency,omitempty"`
	PaymentInstructions string `json:"payment_instructions"`
	DueDays             int    `json:"due_days"`
	// CommissionBPS is the platform's commission on this seller's hammer
	// prices, set by admins; nil: the platform default.
	CommissionBPS *int64 `json:"commission_bps,omitempty"`
}

// ValidateSellerSettings reports every problem at once, keyed by field.
func ValidateSellerSettings(s SellerSettings) error {
	fields := ValidateFees(s.Fees)
	if s.Currency != "" {
		if _, ok := LookupCurrency(s.Currency); !ok {
			fields["currency"] = "Choose a currency by its ISO 4217 code, such as EUR."
		}
	} else if len(s.Fees.BuyersPremium) > 1 {
		fields["currency"] = "Name the currency your premium tiers are in."
	}
	if utf8.RuneCountInString(s.PaymentInstructions) > MaxInstructionRunes || !utf8.ValidString(s.PaymentInstructions) ||
		strings.ContainsRune(s.PaymentInstructions, 0) {
		fields["payment_instructions"] = "Keep the payment instructions to 2,000 characters of text."
	}
	if s.DueDays < 1 || s.DueDays > MaxDueDays {
		fields["due_days"] = "Payment is due within 1 to 365 days."
	}
	return FieldErrors(fields)
}

// FeesFor returns the defaults to apply to a listing in currency, or an
// error when tiered bounds in another currency cannot apply.
func (s SellerSettings) FeesFor(currency string) (Fees, error) {
	if len(s.Fees.BuyersPremium) > 1 && s.Currency != "" && s.Currency != currency {
		return Fees{}, Invalid("buyers_premium", "Your default premium tiers are in "+s.Currency+
			"; give this "+currency+" listing its own buyers_premium.")
	}
	return s.Fees, nil
}

// CheckCommission validates a commission rate in basis points.
func CheckCommission(bps int64) error {
	if bps < 0 || bps > MaxRateBPS {
		return Invalid("rate_bps", "The commission rate_bps must be from 0 to 10000 (100%).")
	}
	return nil
}

// Commission is the platform's commission on a hammer price, rounded
// half up like every line.
func Commission(hammer, bps int64) int64 {
	if hammer <= 0 || bps <= 0 {
		return 0
	}
	var x u128
	x.addMul(uint64(hammer), uint64(bps))
	return int64(x.divHalfUp(MaxRateBPS))
}

// Payment is a payment received for an invoice.
type Payment struct {
	Method    string `json:"method"`    // "bank_transfer", "cash", or a provider's name
	Reference string `json:"reference"` // the bank's or provider's reference, if any
}

// InvoiceRole selects whose invoices a listing shows.
type InvoiceRole string

// The listing roles.
const (
	AsBuyer  InvoiceRole = "buyer"
	AsSeller InvoiceRole = "seller"
	AsAdmin  InvoiceRole = "all" // admins only
)

// InvoiceFilter selects invoices for a listing.
type InvoiceFilter struct {
	Role   InvoiceRole
	SaleID int64  // 0: any
	Status string // "": any; an InvoiceStatus, or "overdue"
	Limit  int
}
