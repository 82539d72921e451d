package domain

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTextProblem(t *testing.T) {
	t.Parallel()
	line := TextRule{Field: "f", MaxRunes: 10, Required: true}
	block := TextRule{Field: "f", MaxRunes: 50, Multiline: true}
	tests := []struct {
		name string
		s    string
		r    TextRule
		want string // substring of the problem; "" means accepted
	}{
		{"plain", "Brass lamp", line, ""},
		{"accents and CJK", "Lampe é 灯", line, ""},
		{"right-to-left with marks", "מנורה\u200f", line, ""},
		{"emoji with joiner", "👩\u200d🔧 tools", line, ""},
		{"invalid UTF-8", "lamp\xff", line, "not valid UTF-8"},
		{"NUL", "lamp\x00", line, "NUL"},
		{"NUL in a block", "lamp\x00", block, "NUL"},
		{"bell", "lamp\a", line, "U+0007"},
		{"DEL", "lamp\x7f", line, "U+007F"},
		{"C1 control", "lamp\u0085", block, "U+0085"},
		{"newline in a line", "lamp\nshade", line, "one line"},
		{"tab in a line", "lamp\tshade", line, "one line"},
		{"newline and tab in a block", "lamp\n\tshade\r\nok", block, ""},
		{"lone CR in a block", "lamp\rshade", block, "U+000D"},
		{"RLO", "txt\u202Eexe.", line, "U+202E"},
		{"isolate", "a\u2066b", block, "U+2066"},
		{"too long", "abcdefghijk", line, "10 characters"},
		{"runes not bytes", "éééééééééé", line, ""},
		{"empty required", "", line, "Enter some text"},
		{"spaces required", "   ", line, "Enter some text"},
		{"zero-width only", "\u200b\u200c\u200d\ufeff", line, "visible"},
		{"Hangul filler only", "\u3164\u3164", line, "visible"},
		{"combining mark only", "\u0301", line, "visible"},
		{"empty optional", "", block, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := TextProblem(tt.s, tt.r)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("TextProblem(%q) = %q, want %q", tt.s, got, tt.want)
			}
			err := CheckText(tt.s, tt.r)
			if (err == nil) != (got == "") {
				t.Errorf("CheckText(%q) = %v, TextProblem %q", tt.s, err, got)
			}
			if err != nil && ErrorCode(err) != CodeInvalid {
				t.Errorf("CheckText(%q) code = %s", tt.s, ErrorCode(err))
			}
		})
	}
}

// Every input path goes through the same rules: registration, listings.
func TestValidatorsRefuseHostileText(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"a\x00b", "a\xffb", "a\u202Eb", "\u200b"} {
		if f := fieldsOf(ValidateRegistration("a@example.com", "longenough", bad)); f["name"] == "" {
			t.Errorf("name %q accepted", bad)
		}
		if f := fieldsOf(ValidateRegistration("a"+bad+"@example.com", "longenough", "A")); f["email"] == "" {
			t.Errorf("email with %q accepted", bad)
		}
		in := AuctionInput{Title: bad, Description: "ok", Currency: "EUR", StartPrice: 100}
		if f := fieldsOf(ValidateAuctionInput(in, testNowForText)); f["title"] == "" {
			t.Errorf("title %q accepted", bad)
		}
		if bad == "\u200b" {
			continue // an invisible description is merely empty
		}
		in = AuctionInput{Title: "Lamp", Description: bad, Currency: "EUR", StartPrice: 100}
		if f := fieldsOf(ValidateAuctionInput(in, testNowForText)); f["description"] == "" {
			t.Errorf("description %q accepted", bad)
		}
	}
}

func fieldsOf(err error) map[string]string {
	if e, ok := err.(*Error); ok {
		return e.Fields
	}
	return map[string]string{}
}

var testNowForText = time.Date(2030, time.March, 1, 12, 0, 0, 0, time.UTC)

// FuzzTextProblem: whatever the input, accepted text is valid UTF-8 with
// no NUL, no control character but newline and tab, and no bidi control.
func FuzzTextProblem(f *testing.F) {
	for _, s := range []string{"", "lamp", "a\x00", "\xff", "\u202e", "a\r\nb", "\u200b"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, multiline bool) {
		r := TextRule{Field: "f", Multiline: multiline}
		if TextProblem(s, r) != "" {
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("accepted invalid UTF-8 %q", s)
		}
		for i, c := range s {
			switch {
			case c == '\n' || c == '\t' || (c == '\r' && strings.HasPrefix(s[i:], "\r\n")):
				if !multiline {
					t.Fatalf("accepted a line break in one-line text %q", s)
				}
			case c < 0x20 || (c >= 0x7f && c < 0xa0) || isBidiControl(c):
				t.Fatalf("accepted U+%04X in %q", c, s)
			}
		}
	})
}
