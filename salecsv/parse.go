// Package salecsv reads a sale's lots from a CSV file and writes a sale's
// results as CSV. It imports only domain: the web layer hands it the
// bytes of an upload and gets back the lots or every problem with them.
package salecsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gavel-auctions/gavel/domain"
)

// Limits of one file.
const (
	MaxLots     = 5000
	MaxProblems = 500 // problems listed; the rest are counted
	maxCellLen  = 20_000
)

// Problem is one thing wrong with a file: its spreadsheet row (1 is the
// header; 0 for the file as a whole), the column, and what to do.
type Problem struct {
	Row     int    `json:"row"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

// Lot is one valid row.
type Lot struct {
	Row int
	domain.LotInput
	// Category is the optional category column, kept for when sales have
	// categories; nothing uses it yet.
	Category string
}

// Result is a parsed file: the lots when there is no problem, else every
// problem found (at most MaxProblems, with Omitted counting the rest).
type Result struct {
	Lots     []Lot
	Problems []Problem
	Omitted  int
	// Valid holds the rows that passed on their own, even when others did
	// not, so that a caller can check them further (against the lots the
	// sale has) and still list every problem at once.
	Valid []Lot
}

// OK reports whether the file is valid as a whole.
func (r Result) OK() bool { return len(r.Problems) == 0 && r.Omitted == 0 }

// Columns are the required columns, in the order the API documents them.
var Columns = domain.LotFields

// optional columns may be present; any other column is refused, so that a
// misspelt one is not silently dropped.
var optional = []string{"increment", "category"}

// amountColumns hold money in major units of the sale's currency.
var amountColumns = map[string]bool{"start_price": true, "reserve": true, "low_estimate": true, "high_estimate": true,
	"buy_now": true, "increment": true}

// Parse reads a CSV file of lots for a sale in currency. Amounts are in
// major units ("12.50"), as people type them; a UTF-8 byte order mark is
// allowed. Nothing about the file is trusted: every problem is reported
// with its row and column, and lots are returned only when there is none.
func Parse(data []byte, currency string) Result {
	r := parse(data, currency)
	r.Valid = r.Lots
	if !r.OK() {
		r.Lots = nil
	}
	return r
}

func parse(data []byte, currency string) Result {
	var r Result
	add := func(row int, col, msg string) {
		if len(r.Problems) >= MaxProblems {
			r.Omitted++
			return
		}
		r.Problems = append(r.Problems, Problem{Row: row, Column: col, Message: msg})
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		add(0, "", "The file is not UTF-8 text. Save it as \"CSV UTF-8\" (in Excel: File › Save As › CSV UTF-8) and upload it again.")
		return r
	}
	if bytes.IndexByte(data, 0) >= 0 {
		add(0, "", "The file contains NUL bytes: it is not a text CSV file.")
		return r
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // rows of the wrong width are reported, not fatal
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		add(0, "", "The file is empty. The first row must name the columns: "+strings.Join(Columns, ", ")+".")
		return r
	}
	if err != nil {
		add(1, "", csvMessage(err))
		return r
	}
	cols, ok := readHeader(header, add)
	if !ok {
		return r
	}
	seen := map[int]int{} // lot number → first row
	rows := rowCounter{data: data}
	rows.advance(cr.InputOffset())
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		row := rows.next(cr, err)
		if err != nil {
			// A broken quote ends the file: what follows cannot be trusted.
			add(row, "", csvMessage(err))
			return r
		}
		if len(r.Lots)+1 > MaxLots {
			n := len(r.Lots) + 1 + countRest(cr)
			r.Problems, r.Omitted, r.Lots = nil, 0, nil
			add(0, "", fmt.Sprintf("The file has %d lots; a file may have at most %d. Split it in two.", n, MaxLots))
			return r
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line of spaces
		}
		if len(rec) != len(header) {
			add(row, "", fmt.Sprintf("This row has %d cells; the header has %d. Check for a missing or extra comma.", len(rec), len(header)))
			continue
		}
		lot, bad := readRow(rec, cols, row, currency, add)
		if bad {
			continue
		}
		if first, dup := seen[lot.LotNumber]; dup {
			add(row, "lot_number", fmt.Sprintf("Lot number %d is already used in row %d. Each lot needs its own number.", lot.LotNumber, first))
			continue
		}
		seen[lot.LotNumber] = row
		r.Lots = append(r.Lots, lot)
	}
	if len(r.Lots) == 0 && len(r.Problems) == 0 {
		add(0, "", "The file has a header but no lots.")
	}
	return r
}

// rowCounter numbers records as a spreadsheet shows them: a cell with line
// breaks stays in one row, and a blank line is a row of its own (the CSV
// reader skips it).
type rowCounter struct {
	data    []byte
	offset  int64 // bytes consumed so far
	line    int   // lines completed up to offset
	row     int   // spreadsheet row of the last record
	started bool
}

// advance counts the line breaks up to offset.
func (c *rowCounter) advance(offset int64) {
	if offset > int64(len(c.data)) {
		offset = int64(len(c.data))
	}
	c.line += bytes.Count(c.data[c.offset:offset], []byte("\n"))
	c.offset = offset
	if !c.started {
		c.started, c.row = true, 1 // the header
	}
}

// next returns the row of the record just read: one after the previous,
// plus the blank lines between them.
func (c *rowCounter) next(cr *csv.Reader, err error) int {
	start := c.line + 1
	var pe *csv.ParseError
	if err == nil {
		start, _ = cr.FieldPos(0)
	} else if errors.As(err, &pe) {
		start = pe.StartLine
	}
	c.row += 1 + max(0, start-c.line-1)
	c.advance(cr.InputOffset())
	return c.row
}

// readHeader maps column names to their index, reporting missing,
// duplicate and unknown columns.
func readHeader(header []string, add func(int, string, string)) (map[string]int, bool) {
	cols := map[string]int{}
	ok := true
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case name == "":
			add(1, "", fmt.Sprintf("Column %d has no name.", i+1))
			ok = false
		case !known(name):
			add(1, truncate(name, 40), fmt.Sprintf("Unknown column %q. The columns are %s (and optionally %s).",
				truncate(name, 40), strings.Join(Columns, ", "), strings.Join(optional, ", ")))
			ok = false
		case hasKey(cols, name):
			add(1, name, fmt.Sprintf("Column %q appears twice.", name))
			ok = false
		default:
			cols[name] = i
		}
	}
	for _, c := range Columns {
		if !hasKey(cols, c) {
			add(1, c, fmt.Sprintf("Column %q is missing. The first row must name the columns: %s.", c, strings.Join(Columns, ", ")))
			ok = false
		}
	}
	return cols, ok
}

func known(name string) bool {
	for _, c := range Columns {
		if c == name {
			return true
		}
	}
	for _, c := range optional {
		if c == name {
			return true
		}
	}
	return false
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

// readRow reads one data row; bad is true when it had a problem.
func readRow(rec []string, cols map[string]int, row int, currency string, add func(int, string, string)) (Lot, bool) {
	lot := Lot{Row: row}
	bad := false
	cell := func(name string) string {
		i, ok := cols[name]
		if !ok {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	for name := range cols {
		if len(cell(name)) > maxCellLen {
			add(row, name, fmt.Sprintf("This cell is longer than %d characters.", maxCellLen))
			bad = true
		}
	}
	if bad {
		return lot, true
	}
	if v := cell("lot_number"); v == "" {
		add(row, "lot_number", "Enter a lot number.")
		bad = true
	} else if n, err := strconv.Atoi(v); err != nil || n < 1 || n > domain.MaxLotNumber {
		add(row, "lot_number", fmt.Sprintf("The lot number must be a whole number from 1 to %d, got %q.", domain.MaxLotNumber, truncate(v, 20)))
		bad = true
	} else {
		lot.LotNumber = n
	}
	lot.Title = cell("title")
	// Spreadsheets write line breaks inside a cell as CRLF.
	lot.Description = strings.ReplaceAll(cell("description"), "\r\n", "\n")
	lot.Category = cell("category")
	targets := map[string]*int64{"start_price": &lot.StartPrice, "reserve": &lot.Reserve, "low_estimate": &lot.LowEstimate,
		"high_estimate": &lot.HighEstimate, "buy_now": &lot.BuyNow, "increment": &lot.Increment}
	parsed := map[string]bool{}
	for _, name := range append(Columns[:len(Columns):len(Columns)], "increment") {
		dst, isAmount := targets[name]
		v := cell(name)
		if !isAmount || v == "" {
			continue
		}
		amount, err := domain.ParseAmount(v, currency)
		if err != nil {
			add(row, name, domain.ErrorMessage(err)+" (got "+strconv.Quote(truncate(v, 20))+"; amounts are in "+currency+")")
			bad = true
			continue
		}
		*dst = amount
		parsed[name] = true
	}
	// The domain's own checks, on what parsed: one message per column.
	fields := domain.ValidateLotInput(lot.LotInput)
	for _, name := range append(Columns[:len(Columns):len(Columns)], "increment") {
		msg, ok := fields[name]
		if !ok || (amountColumns[name] && cell(name) != "" && !parsed[name]) || (name == "lot_number" && lot.LotNumber == 0) {
			continue
		}
		add(row, name, msg)
		bad = true
	}
	return lot, bad
}

func countRest(cr *csv.Reader) int {
	n := 0
	for {
		if _, err := cr.Read(); err != nil {
			return n
		}
		n++
	}
}

// csvMessage explains a CSV syntax error without Go's wording.
func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
			return fmt.Sprintf("A quote (\") is out of place at line %d, column %d. Put quotes around the whole cell and double any quote inside it (\"\").", pe.Line, pe.Column)
		}
	}
	return "The file is not valid CSV."
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
