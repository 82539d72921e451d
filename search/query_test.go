package search

import (
	"strings"
	"testing"

	"github.com/gavel-auctions/gavel/domain"
)

func TestParseText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in       string
		tsquery  string
		fts5     string
		wantErr  bool
		wantNone bool
	}{
		{in: "", wantNone: true},
		{in: "   ", wantNone: true},
		{in: "clock", tsquery: "('clock')", fts5: `(("clock"))`},
		{in: "oil painting", tsquery: "('oil' & 'painting')", fts5: `(("oil" AND "painting"))`},
		{in: `"oil painting" -frame`, tsquery: "('oil painting' & !'frame')", fts5: `(("oil painting") NOT ("frame"))`},
		{in: "clock or watch", tsquery: "('clock') | ('watch')", fts5: `(("clock")) OR (("watch"))`},
		{in: "clock OR watch or ring", tsquery: "('clock') | ('watch') | ('ring')", fts5: `(("clock")) OR (("watch")) OR (("ring"))`},
		{in: "or clock", tsquery: "('or' & 'clock')", fts5: `(("or" AND "clock"))`},
		{in: "clock or", tsquery: "('clock')", fts5: `(("clock"))`},
		{in: "clock or or watch", tsquery: "('clock') | ('watch')", fts5: `(("clock")) OR (("watch"))`},
		{in: "it's", tsquery: "('it''s')", fts5: `(("it's"))`},
		{in: `a\b`, tsquery: `('a\\b')`, fts5: `(("a\b"))`},
		{in: `say "hi`, tsquery: "('say' & 'hi')", fts5: `(("say" AND "hi"))`},
		{in: `x"y"z`, tsquery: "('x' & 'y' & 'z')", fts5: `(("x" AND "y" AND "z"))`},
		{in: "& | ! ( ) : * clock", tsquery: "('clock')", fts5: `(("clock"))`},
		{in: "a:b", tsquery: "('a:b')", fts5: `(("a:b"))`},
		{in: "日本", tsquery: "('日本':*)", fts5: `(("日本" *))`},
		{in: "часы", tsquery: "('часы')", fts5: `(("часы"))`},
		{in: `"日本 時計"`, tsquery: "('日本 時計')", fts5: `(("日本 時計"))`},
		{in: "- clock", tsquery: "('clock')", fts5: `(("clock"))`},
		{in: "-clock", wantErr: true},
		{in: "clock or -watch", wantErr: true},
		{in: "& | ! ( ) : * \" -", wantErr: true},
		{in: "\x00", wantErr: true},
		{in: "\xff", wantErr: true},
		{in: strings.Repeat("a", 501), wantErr: true},
		{in: strings.Repeat("a ", 33), wantErr: true},
		{in: strings.Repeat("é", 500), tsquery: "('" + strings.Repeat("é", 500) + "')", fts5: `(("` + strings.Repeat("é", 500) + `"))`},
	} {
		q, err := parseText(tt.in)
		switch {
		case tt.wantErr:
			if domain.ErrorCode(err) != domain.CodeInvalid {
				t.Errorf("parseText(%q) = %v, %v; want an invalid error", tt.in, q, err)
			}
		case err != nil:
			t.Errorf("parseText(%q): %v", tt.in, err)
		case tt.wantNone:
			if !q.empty() {
				t.Errorf("parseText(%q) = %+v, want empty", tt.in, q)
			}
		default:
			if got := q.tsquery(); got != tt.tsquery {
				t.Errorf("parseText(%q).tsquery() = %s, want %s", tt.in, got, tt.tsquery)
			}
			if got := q.fts5(); got != tt.fts5 {
				t.Errorf("parseText(%q).fts5() = %s, want %s", tt.in, got, tt.fts5)
			}
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := cursor{sort: SortPriceHigh, n: 1234, id: 99}
	s := c.encode("fp")
	got, err := decodeCursor(s, "fp", SortPriceHigh)
	if err != nil || got.n != 1234 || got.id != 99 {
		t.Fatalf("decode: %+v, %v", got, err)
	}
	for name, bad := range map[string]struct {
		s, fp string
		sort  Sort
	}{
		"other search":   {s, "other", SortPriceHigh},
		"other sort":     {s, "fp", SortPriceLow},
		"truncated":      {s[:len(s)-2], "fp", SortPriceHigh},
		"edited":         {flip(s), "fp", SortPriceHigh},
		"not base64":     {"!!!", "fp", SortPriceHigh},
		"too long":       {strings.Repeat("A", 200), "fp", SortPriceHigh},
		"empty id start": {cursor{sort: SortBids}.encode("fp"), "fp", SortBids},
	} {
		if _, err := decodeCursor(bad.s, bad.fp, bad.sort); err != errBadCursor {
			t.Errorf("%s: err = %v, want errBadCursor", name, err)
		}
	}
}

// flip changes one character of s in the middle.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
