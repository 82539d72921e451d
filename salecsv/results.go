package salecsv

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/gavel-auctions/gavel/domain"
)

// ResultColumns head a results export.
var ResultColumns = []string{"lot", "title", "result", "hammer_price", "currency", "bids", "buyer", "buyer_email"}

// WriteResults writes a sale's results, one row per lot in lot order:
// hammer prices in major units, and the buyer's name and email (only the
// seller receives this file). Every cell is escaped against formula
// injection.
func WriteResults(w io.Writer, results []domain.LotResult) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // what spreadsheets expect
	if err := cw.Write(ResultColumns); err != nil {
		return err
	}
	for _, r := range results {
		outcome, hammer := "unsold", ""
		switch {
		case r.Sold:
			outcome, hammer = "sold", domain.FormatAmount(r.Hammer, r.Currency)
		case r.Status == domain.StatusCancelled:
			outcome = "withdrawn"
		case r.Status != domain.StatusClosed:
			outcome = "open"
		}
		row := []string{strconv.Itoa(r.LotNumber), r.Title, outcome, hammer, r.Currency, strconv.Itoa(r.Bids), r.BuyerName, r.BuyerEmail}
		for i := range row {
			row[i] = EscapeCell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// EscapeCell keeps a spreadsheet from running a cell as a formula (CSV
// injection, OWASP): a cell starting with =, +, -, @, a tab or a carriage
// return gets a leading apostrophe, which spreadsheets show as text.
func EscapeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
