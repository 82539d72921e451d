package domain

import "time"

// LotOutcome is what became of a lot, for statements.
type LotOutcome string

// The outcomes: sold (on an invoice that stands), unsold (closed without
// one: no bids, reserve not met, or its invoice was cancelled and not
// re-sold), withdrawn (cancelled), or still running.
const (
	OutcomeSold      LotOutcome = "sold"
	OutcomeUnsold    LotOutcome = "unsold"
	OutcomeWithdrawn LotOutcome = "withdrawn"
	OutcomeOpen      LotOutcome = "open"
)

// StatementLot is one lot of a statement.
type StatementLot struct {
	AuctionID     int64         `json:"auction_id"`
	LotNumber     int           `json:"lot_number,omitempty"`
	Title         string        `json:"title"`
	Outcome       LotOutcome    `json:"outcome"`
	ClosedAt      time.Time     `json:"closed_at"`
	Hammer        int64         `json:"hammer"`
	Premium       int64         `json:"premium"`
	Tax           int64         `json:"tax"`
	CommissionBPS int64         `json:"commission_bps"`
	Commission    int64         `json:"commission"`
	InvoiceID     int64         `json:"invoice_id,omitempty"`
	Invoice       string        `json:"invoice,omitempty"` // its reference
	InvoiceStatus InvoiceStatus `json:"invoice_status,omitempty"`
	Buyer         string        `json:"buyer,omitempty"`
}

// Statement is a seller's account of a sale or a period, in one currency.
// NetPayable is what the seller keeps of the proceeds: hammer plus premium
// less the platform's commission. Tax and shipping are collected for the
// tax office and the carrier and shown apart.
type Statement struct {
	SellerID   int64          `json:"seller_id"`
	SaleID     int64          `json:"sale_id,omitempty"`
	From       *time.Time     `json:"from,omitempty"`
	To         *time.Time     `json:"to,omitempty"`
	Currency   string         `json:"currency"`
	Sold       int            `json:"lots_sold"`
	Unsold     int            `json:"lots_unsold"`
	Withdrawn  int            `json:"lots_withdrawn"`
	Open       int            `json:"lots_open"`
	Hammer     int64          `json:"hammer_total"`
	Premium    int64          `json:"premium_total"`
	Tax        int64          `json:"tax_total"`
	Shipping   int64          `json:"shipping_total"`
	Commission int64          `json:"commission"`
	NetPayable int64          `json:"net_payable"`
	Lots       []StatementLot `json:"lots"`
}

// Summarize fills a statement's counts and totals from its lots (whose
// Commission it computes from each lot's rate) and shipping.
func Summarize(st Statement, shipping int64) Statement {
	st.Sold, st.Unsold, st.Withdrawn, st.Open = 0, 0, 0, 0
	st.Hammer, st.Premium, st.Tax, st.Commission = 0, 0, 0, 0
	for i := range st.Lots {
		l := &st.Lots[i]
		switch l.Outcome {
		case OutcomeSold:
			st.Sold++
		case OutcomeUnsold:
			st.Unsold++
		case OutcomeWithdrawn:
			st.Withdrawn++
		default:
			st.Open++
		}
		l.Commission = Commission(l.Hammer, l.CommissionBPS)
		st.Hammer += l.Hammer
		st.Premium += l.Premium
		st.Tax += l.Tax
		st.Commission += l.Commission
	}
	if st.Lots == nil {
		st.Lots = []StatementLot{}
	}
	st.Shipping = shipping
	st.NetPayable = st.Hammer + st.Premium - st.Commission
	return st
}
