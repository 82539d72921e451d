package invoicing

import (
	"bytes"
	"context"
	"encoding/csv"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// maxStatementLots bounds a period statement; a longer period is refused
// with a request to narrow it.
const maxStatementLots = 20000

// ErrNoSales answers sale statements while sales do not exist.
var ErrNoSales = &domain.Error{Code: domain.CodeNotFound, Message: "No such sale."}

// SaleStatement is the statement of one sale, for its seller or an admin.
func (s *Service) SaleStatement(ctx context.Context, viewer domain.User, saleID int64) (domain.Statement, error) {
	if viewer.ID == 0 {
		return domain.Statement{}, domain.ErrUnauthorized
	}
	if !s.hasSales {
		return domain.Statement{}, ErrNoSales
	}
	var owner []int64
	if err := s.db.WithContext(ctx).Raw("SELECT DISTINCT seller_id FROM auctions WHERE sale_id = ?", saleID).Scan(&owner).Error; err != nil {
		return domain.Statement{}, err
	}
	if len(owner) == 0 || (!viewer.Admin && owner[0] != viewer.ID) {
		return domain.Statement{}, ErrNoSales
	}
	sts, err := s.statements(ctx, "a.sale_id = ?", []any{saleID})
	if err != nil || len(sts) == 0 {
		return domain.Statement{SellerID: owner[0], SaleID: saleID, Lots: []domain.StatementLot{}}, err
	}
	st := sts[0]
	st.SaleID = saleID
	return st, nil
}

// PeriodStatements are a seller's statements of the lots that closed (or
// were withdrawn) in [from, to), one per currency.
func (s *Service) PeriodStatements(ctx context.Context, viewer domain.User, sellerID int64, from, to time.Time) ([]domain.Statement, error) {
	switch {
	case viewer.ID == 0:
		return nil, domain.ErrUnauthorized
	case sellerID != viewer.ID && !viewer.Admin:
		return nil, domain.ErrNotAdmin
	case !to.After(from):
		return nil, domain.Invalid("to", "The period must end after it starts.")
	}
	from, to = from.UTC(), to.UTC()
	// A closed or cancelled lot's end floor is its end (migration 00016),
	// and the floor is what the index of ended lots holds.
	sts, err := s.statements(ctx, "a.seller_id = ? AND a.status IN ('closed', 'cancelled') AND a.ends_floor >= ? AND a.ends_floor < ?",
		[]any{sellerID, from, to})
	for i := range sts {
		sts[i].SellerID, sts[i].From, sts[i].To = sellerID, &from, &to
	}
	return sts, err
}

type statementLine struct {
	AuctionID     int64
	Kind          string
	Amount        int64
	InvoiceID     int64
	Number        int64
	Status        string
	BuyerName     string
	CommissionBPS int64 `gorm:"column:commission_bps"`
}

// statements builds statements of the lots matching where, one per
// currency.
func (s *Service) statements(ctx context.Context, where string, args []any) ([]domain.Statement, error) {
	db := s.db.WithContext(ctx)
	var lots []lotRow
	if err := db.Raw("SELECT "+s.lotColumns()+" FROM auctions a WHERE "+where+" ORDER BY "+s.lotOrder()+" LIMIT ?",
		append(append([]any{}, args...), maxStatementLots+1)...).Scan(&lots).Error; err != nil {
		return nil, err
	}
	if len(lots) > maxStatementLots {
		return nil, domain.Invalid("from", "That period holds more than 20,000 lots; choose a shorter one.")
	}
	var lines []statementLine
	if err := db.Raw(`SELECT l.auction_id, l.kind, l.amount, i.id AS invoice_id, i.number, i.status, i.buyer_name, i.commission_bps
		FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id JOIN auctions a ON a.id = l.auction_id
		WHERE i.kind = 'invoice' AND i.status <> 'cancelled' AND `+where, args...).Scan(&lines).Error; err != nil {
		return nil, err
	}
	var ship []struct {
		Currency string
		Amount   int64
	}
	if err := db.Raw(`SELECT i.currency, SUM(c.amount) AS amount FROM invoice_checkouts c JOIN invoices i ON i.id = c.invoice_id
		WHERE i.kind = 'invoice' AND i.status <> 'cancelled' AND i.id IN (SELECT DISTINCT l.invoice_id FROM invoice_lines l
		JOIN auctions a ON a.id = l.auction_id WHERE `+where+`) GROUP BY i.currency`, args...).Scan(&ship).Error; err != nil {
		return nil, err
	}
	byLot := map[int64][]statementLine{}
	for _, l := range lines {
		byLot[l.AuctionID] = append(byLot[l.AuctionID], l)
	}
	byCur := map[string]*domain.Statement{}
	for _, l := range lots {
		st := byCur[l.Currency]
		if st == nil {
			st = &domain.Statement{SellerID: l.SellerID, Currency: l.Currency}
			byCur[l.Currency] = st
		}
		sl := domain.StatementLot{AuctionID: l.ID, LotNumber: l.LotNumber, Title: l.Title, ClosedAt: l.EndsAt.UTC()}
		switch l.Status {
		case string(domain.StatusClosed):
			sl.Outcome = domain.OutcomeUnsold
		case string(domain.StatusCancelled):
			sl.Outcome = domain.OutcomeWithdrawn
		default:
			sl.Outcome = domain.OutcomeOpen
		}
		for _, x := range byLot[l.ID] {
			switch domain.LineKind(x.Kind) {
			case domain.LineHammer:
				sl.Outcome, sl.Hammer, sl.CommissionBPS = domain.OutcomeSold, x.Amount, x.CommissionBPS
				sl.InvoiceID, sl.Invoice, sl.InvoiceStatus, sl.Buyer = x.InvoiceID, domain.Reference(domain.KindInvoice, x.Number),
					domain.InvoiceStatus(x.Status), x.BuyerName
			case domain.LinePremium:
				sl.Premium += x.Amount
			case domain.LineTax:
				sl.Tax += x.Amount
			}
		}
		st.Lots = append(st.Lots, sl)
	}
	shipBy := map[string]int64{}
	for _, x := range ship {
		shipBy[x.Currency] = x.Amount
	}
	out := make([]domain.Statement, 0, len(byCur))
	for cur, st := range byCur {
		out = append(out, domain.Summarize(*st, shipBy[cur]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out, nil
}

// number matches the amounts and counts the CSV writes itself; they are
// the only cells left unescaped.
var number = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// CSVCell makes a cell safe to open in a spreadsheet: text starting with
// =, +, -, @, a tab or a carriage return would run as a formula, so it
// gets a leading apostrophe (OWASP's advice). Plain numbers stay numbers.
func CSVCell(s string) string {
	if s == "" || number.MatchString(s) {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// StatementCSV writes statements as CSV: a row per lot, then a totals row
// per statement. Amounts are in major units of the statement's currency.
func StatementCSV(sts []domain.Statement) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	row := func(cells ...string) {
		for i, c := range cells {
			cells[i] = CSVCell(c)
		}
		_ = w.Write(cells)
	}
	row("currency", "auction_id", "lot", "title", "outcome", "closed_at", "invoice", "invoice_status", "buyer",
		"hammer", "premium", "tax", "commission_rate", "commission", "net")
	for _, st := range sts {
		m := func(v int64) string { return domain.FormatAmount(v, st.Currency) }
		for _, l := range st.Lots {
			lot := ""
			if l.LotNumber > 0 {
				lot = strconv.Itoa(l.LotNumber)
			}
			rate := ""
			if l.Outcome == domain.OutcomeSold {
				rate = domain.FormatRate(l.CommissionBPS)
			}
			row(st.Currency, strconv.FormatInt(l.AuctionID, 10), lot, l.Title, string(l.Outcome), l.ClosedAt.Format(time.RFC3339),
				l.Invoice, string(l.InvoiceStatus), l.Buyer, m(l.Hammer), m(l.Premium), m(l.Tax), rate, m(l.Commission),
				m(l.Hammer+l.Premium-l.Commission))
		}
		row(st.Currency, "", "", "TOTAL: "+strconv.Itoa(st.Sold)+" sold, "+strconv.Itoa(st.Unsold)+" unsold, "+
			strconv.Itoa(st.Withdrawn)+" withdrawn; shipping collected "+m(st.Shipping), "", "", "", "", "",
			m(st.Hammer), m(st.Premium), m(st.Tax), "", m(st.Commission), m(st.NetPayable))
	}
	w.Flush()
	return buf.Bytes()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// StatementCSV is the package function, for callers that hold a Service.
func (s *Service) StatementCSV(sts []domain.Statement) []byte { return StatementCSV(sts) }
