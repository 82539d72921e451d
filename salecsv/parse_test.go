package salecsv_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/salecsv"
)

const header = "lot_number,title,description,start_price,reserve,low_estimate,high_estimate,buy_now\n"

func TestParseValid(t *testing.T) {
	t.Parallel()
	file := "\xef\xbb\xbf" + "Title,LOT_NUMBER,start_price,reserve,low_estimate,high_estimate,buy_now,description,category\r\n" +
		`"Clock, brass",1,12.50,20,15,25,,"Runs well.` + "\r\n" + `Wound weekly, ""as new"""` + ",Clocks\r\n" +
		"Globe,2,100,,,,250,,\r\n" +
		"\r\n" +
		"Camera,10,45.5,,40,60,,35mm,\r\n"
	r := salecsv.Parse([]byte(file), "EUR")
	if !r.OK() {
		t.Fatalf("problems %+v", r.Problems)
	}
	want := []salecsv.Lot{
		{Row: 2, LotInput: domain.LotInput{LotNumber: 1, Title: "Clock, brass", Description: "Runs well.\nWound weekly, \"as new\"",
			StartPrice: 1250, Reserve: 2000, LowEstimate: 1500, HighEstimate: 2500}, Category: "Clocks"},
		{Row: 3, LotInput: domain.LotInput{LotNumber: 2, Title: "Globe", StartPrice: 10000, BuyNow: 25000}},
		{Row: 5, LotInput: domain.LotInput{LotNumber: 10, Title: "Camera", Description: "35mm", StartPrice: 4550, LowEstimate: 4000, HighEstimate: 6000}},
	}
	if !slices.Equal(r.Lots, want) {
		t.Errorf("lots\n%+v\nwant\n%+v", r.Lots, want)
	}
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		want []salecsv.Problem // row, column; messages checked for a word
		word string
	}{
		{name: "latin-1", file: header + "1,Caf\xe9 table,,10,,,,\n", want: []salecsv.Problem{{Row: 0}}, word: "UTF-8"},
		{name: "empty", file: "", want: []salecsv.Problem{{Row: 0}}, word: "empty"},
		{name: "header only", file: header, want: []salecsv.Problem{{Row: 0}}, word: "no lots"},
		{name: "missing column", file: "lot_number,title,start_price\n1,x,1\n", want: []salecsv.Problem{
			{Row: 1, Column: "description"}, {Row: 1, Column: "reserve"}, {Row: 1, Column: "low_estimate"},
			{Row: 1, Column: "high_estimate"}, {Row: 1, Column: "buy_now"}}, word: "missing"},
		{name: "unknown column", file: strings.TrimSuffix(header, "\n") + ",reserv\n1,x,,1,,,,,\n", want: []salecsv.Problem{{Row: 1, Column: "reserv"}}, word: "Unknown"},
		{name: "duplicate column", file: strings.TrimSuffix(header, "\n") + ",title\n1,x,,1,,,,,y\n", want: []salecsv.Problem{{Row: 1, Column: "title"}}, word: "twice"},
		{name: "duplicate lot number", file: header + "7,a,,1,,,,\n8,b,,1,,,,\n7,c,,1,,,,\n", want: []salecsv.Problem{{Row: 4, Column: "lot_number"}}, word: "row 2"},
		{name: "bad amounts", file: header + "1,a,,1.234,,,,\n2,b,,-5,,,,\n3,c,,ten,,,,\n", want: []salecsv.Problem{
			{Row: 2, Column: "start_price"}, {Row: 3, Column: "start_price"}, {Row: 4, Column: "start_price"}}, word: "EUR"},
		{name: "rules", file: header + "1,a,,10,5,,,\n2,,,10,,30,20,\n0,c,,10,,,,\n", want: []salecsv.Problem{
			{Row: 2, Column: "reserve"}, {Row: 3, Column: "title"}, {Row: 3, Column: "high_estimate"}, {Row: 4, Column: "lot_number"}}},
		{name: "cells", file: header + "1,a,,10,,,\n2,b,,10,,,,\n", want: []salecsv.Problem{{Row: 2}}, word: "7 cells"},
		{name: "bare quote", file: header + "1,a \"b\",,10,,,,\n", want: []salecsv.Problem{{Row: 2}}, word: "quote"},
		{name: "NUL", file: header + "1,a\x00,,10,,,,\n", want: []salecsv.Problem{{Row: 0}}, word: "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := salecsv.Parse([]byte(tt.file), "EUR")
			if r.OK() || r.Lots != nil {
				t.Fatalf("accepted: %+v", r.Lots)
			}
			var got []salecsv.Problem
			for _, p := range r.Problems {
				if p.Message == "" {
					t.Errorf("problem without a message: %+v", p)
				}
				got = append(got, salecsv.Problem{Row: p.Row, Column: p.Column})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems %+v, want %+v", r.Problems, tt.want)
			}
			if tt.word != "" && !strings.Contains(r.Problems[0].Message, tt.word) {
				t.Errorf("message %q does not mention %q", r.Problems[0].Message, tt.word)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(header)
	for i := 1; i <= salecsv.MaxLots; i++ {
		fmt.Fprintf(&b, "%d,Lot %d,,1,,,,\n", i, i)
	}
	if r := salecsv.Parse([]byte(b.String()), "EUR"); !r.OK() || len(r.Lots) != salecsv.MaxLots {
		t.Fatalf("5,000 lots: %d lots, problems %+v", len(r.Lots), r.Problems)
	}
	fmt.Fprintf(&b, "%d,One more,,1,,,,\n%d,And another,,1,,,,\n", salecsv.MaxLots+1, salecsv.MaxLots+2)
	r := salecsv.Parse([]byte(b.String()), "EUR")
	if r.OK() || len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Message, "5002 lots") {
		t.Fatalf("5,002 lots: %+v", r.Problems)
	}
	// A file with many bad rows lists MaxProblems and counts the rest.
	b.Reset()
	b.WriteString(header)
	for i := 1; i <= salecsv.MaxProblems+20; i++ {
		fmt.Fprintf(&b, "%d,,,1,,,,\n", i)
	}
	r = salecsv.Parse([]byte(b.String()), "EUR")
	if len(r.Problems) != salecsv.MaxProblems || r.Omitted != 20 {
		t.Fatalf("%d problems, %d omitted", len(r.Problems), r.Omitted)
	}
}

// writeLots is the inverse of Parse, for the round-trip property.
func writeLots(lots []salecsv.Lot, currency string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(salecsv.Columns)
	amount := func(v int64) string {
		if v == 0 {
			return ""
		}
		return domain.FormatAmount(v, currency)
	}
	for _, l := range lots {
		_ = w.Write([]string{strconv.Itoa(l.LotNumber), l.Title, l.Description, domain.FormatAmount(l.StartPrice, currency),
			amount(l.Reserve), amount(l.LowEstimate), amount(l.HighEstimate), amount(l.BuyNow)})
	}
	w.Flush()
	return buf.Bytes()
}

// FuzzParse: any input is either refused with located problems or gives
// lots that the domain accepts, with unique numbers, that survive being
// written out and read back.
func FuzzParse(f *testing.F) {
	f.Add([]byte(header + "1,Clock,,12.50,20,15,25,\n2,\"Globe, old\",\"a\nb\",100,,,,250\n"))
	f.Add([]byte("\xef\xbb\xbf" + header + "1,a,,1,,,,\n"))
	f.Add([]byte(header + "1,a \"b\",,10,,,,\n"))
	f.Add([]byte("lot_number,title\n1,x\n"))
	f.Add([]byte(header + "7,a,,1,,,,\n7,b,,1,,,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, currency := range []string{"EUR", "JPY"} {
			r := salecsv.Parse(data, currency)
			if !r.OK() {
				if r.Lots != nil || len(r.Problems) == 0 {
					t.Fatalf("refused without problems, or with lots: %+v", r)
				}
				for _, p := range r.Problems {
					if p.Message == "" || p.Row < 0 {
						t.Fatalf("bad problem %+v", p)
					}
				}
				continue
			}
			if len(r.Lots) == 0 || len(r.Lots) > salecsv.MaxLots {
				t.Fatalf("%d lots accepted", len(r.Lots))
			}
			seen := map[int]bool{}
			for _, l := range r.Lots {
				if fields := domain.ValidateLotInput(l.LotInput); fields != nil {
					t.Fatalf("accepted an invalid lot %+v: %v", l, fields)
				}
				if seen[l.LotNumber] {
					t.Fatalf("lot number %d accepted twice", l.LotNumber)
				}
				seen[l.LotNumber] = true
			}
			again := salecsv.Parse(writeLots(r.Lots, currency), currency)
			if !again.OK() || len(again.Lots) != len(r.Lots) {
				t.Fatalf("round trip: %+v", again.Problems)
			}
			for i := range r.Lots {
				a, b := r.Lots[i].LotInput, again.Lots[i].LotInput
				a.Increment, b.Increment = 0, 0
				if a != b {
					t.Fatalf("round trip changed lot %d: %+v -> %+v", i, a, b)
				}
			}
		}
	})
}
