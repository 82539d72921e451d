package salecsv_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/salecsv"
)

func TestEscapeCell(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                     "",
		"Clock":                "Clock",
		"=HYPERLINK(\"x\")":    "'=HYPERLINK(\"x\")",
		"+1":                   "'+1",
		"-2+3":                 "'-2+3",
		"@SUM(A1)":             "'@SUM(A1)",
		"\t=1":                 "'\t=1",
		"\r=1":                 "'\r=1",
		"a=1":                  "a=1",
		"12.50":                "12.50",
		"cmd|' /C calc'!A0":    "cmd|' /C calc'!A0",
		"=cmd|' /C calc'!A0":   "'=cmd|' /C calc'!A0",
		"‐ not a hyphen-minus": "‐ not a hyphen-minus",
	} {
		if got := salecsv.EscapeCell(in); got != want {
			t.Errorf("EscapeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteResults(t *testing.T) {
	t.Parallel()
	results := []domain.LotResult{
		{LotNumber: 1, Title: "=HYPERLINK(\"http://evil\")", Currency: "EUR", Status: domain.StatusClosed, Sold: true, Hammer: 12550,
			Bids: 3, BuyerName: "@Mallory", BuyerEmail: "m@example.com"},
		{LotNumber: 2, Title: "Globe, 19th c.", Currency: "EUR", Status: domain.StatusClosed, Bids: 1},
		{LotNumber: 3, Title: "-Camera", Currency: "EUR", Status: domain.StatusCancelled},
	}
	var buf bytes.Buffer
	if err := salecsv.WriteResults(&buf, results); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		salecsv.ResultColumns,
		{"1", "'=HYPERLINK(\"http://evil\")", "sold", "125.50", "EUR", "3", "'@Mallory", "m@example.com"},
		{"2", "Globe, 19th c.", "unsold", "", "EUR", "1", "", ""},
		{"3", "'-Camera", "withdrawn", "", "EUR", "0", "", ""},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("rows\n%q\nwant\n%q", rows, want)
	}
}
