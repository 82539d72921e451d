package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gavel-auctions/gavel/domain"
)

// Limits on the text of a search.
const (
	MaxQueryRunes = 500
	MaxQueryTerms = 32
)

// term is one word or quoted phrase of a search.
type term struct {
	text   string
	phrase bool
	// prefix matches words that start with text. It is set for words in
	// scripts written without spaces (Chinese, Japanese, Thai, …), where
	// both databases index a whole run of text as one word, so the only
	// way a shorter word can match is as its beginning.
	prefix bool
}

// clause is a conjunction: every positive term and none of the negative
// ones. A search is a disjunction of clauses ("a b or c" is (a AND b) OR c).
type clause struct {
	pos []term
	neg []term
}

// textQuery is a parsed search text. It is empty when the text was blank.
type textQuery struct {
	clauses []clause
}

func (q textQuery) empty() bool { return len(q.clauses) == 0 }

// parseText parses search text in the syntax people know from web search
// engines, the same on both databases:
//
//	oil painting      both words (each in the title or the description)
//	"oil painting"    the phrase
//	-frame            without this word (or "-…" phrase)
//	clock or watch    either side
//
// Words are matched after each database's stemming (painting, paintings and
// painted are one word in English). Any other punctuation is part of a word
// and is split off by the database's tokenizer, so no input is a syntax
// error; text with no letters or digits at all, an "or" with nothing to
// look for on one side, too many words and overlong text are refused with a
// message saying what to change.
func parseText(s string) (textQuery, error) {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return textQuery{}, domain.Invalid("q", "The search contains characters that are not valid text.")
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return textQuery{}, nil
	}
	if utf8.RuneCountInString(s) > MaxQueryRunes {
		return textQuery{}, domain.Invalid("q", "Keep the search to 500 characters.")
	}
	var q textQuery
	cur := clause{}
	terms := 0
	sawWords := false
	pendingOr := false // an "or" was read; cur is the clause after it
	rest := s
	for {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if rest == "" {
			break
		}
		neg := false
		if rest[0] == '-' && len(rest) > 1 && !unicode.IsSpace(rune(rest[1])) {
			neg, rest = true, rest[1:]
		}
		var raw string
		phrase := false
		if rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				raw, rest = rest[1:], ""
			} else {
				raw, rest = rest[1:1+end], rest[2+end:]
			}
			phrase = true
		} else {
			end := strings.IndexFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || r == '"' })
			if end < 0 {
				end = len(rest)
			}
			raw, rest = rest[:end], rest[end:]
		}
		// "or" between two terms is the operator; anywhere else
		// (first, or right after another "or") it is ignored or a word.
		if !phrase && !neg && strings.EqualFold(raw, "or") && (len(cur.pos)+len(cur.neg) > 0 || pendingOr) {
			if !pendingOr {
				if len(cur.pos) == 0 {
					return textQuery{}, errOnlyExcludes
				}
				q.clauses = append(q.clauses, cur)
				cur = clause{}
				pendingOr = true
			}
			continue
		}
		if !strings.ContainsFunc(raw, isWordRune) {
			continue
		}
		sawWords = true
		words := strings.Fields(raw)
		t := term{text: strings.Join(words, " "), phrase: phrase && len(words) > 1}
		if !t.phrase && strings.ContainsFunc(t.text, unspaced) {
			t.prefix = true
		}
		terms++
		if terms > MaxQueryTerms {
			return textQuery{}, domain.Invalid("q", "Use at most 32 words and phrases in one search.")
		}
		if neg {
			cur.neg = append(cur.neg, t)
		} else {
			cur.pos = append(cur.pos, t)
		}
		pendingOr = false
	}
	switch {
	case len(cur.pos) > 0:
		q.clauses = append(q.clauses, cur)
	case len(cur.neg) > 0:
		return textQuery{}, errOnlyExcludes
	}
	if !sawWords {
		return textQuery{}, domain.Invalid("q", "Search for words or numbers: “"+shorten(s, 40)+"” has no letters or digits.")
	}
	if len(q.clauses) == 0 {
		return textQuery{}, errOnlyExcludes
	}
	return q, nil
}

// errOnlyExcludes refuses a search (or one side of an "or") made only of
// exclusions, which would match nearly every lot.
var errOnlyExcludes = domain.Invalid("q", "Add a word to look for: a search, and each side of “or”, cannot only exclude words.")

// isWordRune reports whether r can be part of an indexed word.
func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

// unspaced reports whether r belongs to a script written without spaces
// between words.
func unspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao,
		unicode.Khmer, unicode.Myanmar, unicode.Tibetan)
}

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// tsquery renders q for PostgreSQL's to_tsquery with the "gavel"
// configuration. Every word is a quoted lexeme, so nothing the user typed
// is read as tsquery syntax; PostgreSQL then splits, lower-cases and stems
// it exactly as it did the documents.
func (q textQuery) tsquery() string {
	var b strings.Builder
	for i, c := range q.clauses {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteByte('(')
		n := 0
		for _, t := range c.pos {
			if n > 0 {
				b.WriteString(" & ")
			}
			writeTSTerm(&b, t)
			n++
		}
		for _, t := range c.neg {
			b.WriteString(" & !")
			writeTSTerm(&b, t)
		}
		b.WriteByte(')')
	}
	return b.String()
}

func writeTSTerm(b *strings.Builder, t term) {
	b.WriteByte('\'')
	b.WriteString(strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(t.text))
	b.WriteByte('\'')
	if t.prefix {
		b.WriteString(":*")
	}
}

// fts5 renders q as an SQLite FTS5 query. Every word is an FTS5 string, so
// nothing the user typed is read as FTS5 syntax; FTS5 tokenizes the string
// as it did the documents (a string of several words is a phrase).
func (q textQuery) fts5() string {
	var b strings.Builder
	for i, c := range q.clauses {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("((")
		for j, t := range c.pos {
			if j > 0 {
				b.WriteString(" AND ")
			}
			writeFTSTerm(&b, t)
		}
		b.WriteByte(')')
		if len(c.neg) > 0 {
			b.WriteString(" NOT (")
			for j, t := range c.neg {
				if j > 0 {
					b.WriteString(" OR ")
				}
				writeFTSTerm(&b, t)
			}
			b.WriteByte(')')
		}
		b.WriteByte(')')
	}
	return b.String()
}

func writeFTSTerm(b *strings.Builder, t term) {
	b.WriteByte('"')
	b.WriteString(strings.ReplaceAll(t.text, `"`, `""`))
	b.WriteByte('"')
	if t.prefix {
		b.WriteString(" *")
	}
}

// canonical is a stable rendering of q for cursor fingerprints.
func (q textQuery) canonical() string { return q.tsquery() }
