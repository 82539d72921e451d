package domain

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text from people reaches both databases, pages, email and other people's
// screens, so every input path checks it here, with one set of rules:
//   - valid UTF-8 (PostgreSQL refuses anything else; SQLite would store it);
//   - no NUL and no other control character, except newline and tab in
//     multi-line text (descriptions, reasons); CRLF counts as a newline;
//   - no bidirectional overrides, embeddings or isolates (U+202A–U+202E,
//     U+2066–U+2069), which make text display in another order than it
//     reads (a "txt.exe" that shows as "exe.txt");
//   - a required field must show something: spaces and invisible
//     characters (zero-width spaces, joiners, fillers) alone are empty.

// TextRule is what one text field may hold.
type TextRule struct {
	Field     string // the field's name, for Error.Fields
	MaxRunes  int    // 0: no limit
	Multiline bool   // newlines and tabs allowed
	Required  bool   // must contain a visible character
}

// Rules of the common fields.
var (
	TitleText       = TextRule{Field: "title", MaxRunes: MaxTitleLen, Required: true}
	DescriptionText = TextRule{Field: "description", MaxRunes: MaxDescriptionLen, Multiline: true}
	NameText        = TextRule{Field: "name", MaxRunes: MaxNameRunes, Required: true}
	EmailText       = TextRule{Field: "email", MaxRunes: MaxEmailBytes, Required: true}
	ReasonText      = TextRule{Field: "reason", MaxRunes: MaxReasonRunes, Multiline: true}
	SearchText      = TextRule{Field: "q", MaxRunes: MaxSearchRunes}
)

// Limits of free-text fields other than account ones.
const (
	MaxReasonRunes = 500
	MaxSearchRunes = 200
)

// CheckText returns a CodeInvalid error for r.Field if s breaks r, or nil.
// s is checked as given: trim it first if the field is stored trimmed.
func CheckText(s string, r TextRule) error {
	if msg := TextProblem(s, r); msg != "" {
		return Invalid(r.Field, msg)
	}
	return nil
}

// TextProblem says what is wrong with s under r, in words a person can
// act on, or "" if nothing is.
func TextProblem(s string, r TextRule) string {
	if !utf8.ValidString(s) {
		return "Use plain text: this contains bytes that are not valid UTF-8."
	}
	visible := false
	for i, c := range s {
		switch {
		case c == '\n' || c == '\t' || (c == '\r' && strings.HasPrefix(s[i:], "\r\n")):
			if !r.Multiline {
				return "Keep this to one line, without tabs."
			}
		case c == 0:
			return "Remove the NUL character (U+0000)."
		case unicode.IsControl(c):
			return fmt.Sprintf("Remove the control character U+%04X.", c)
		case isBidiControl(c):
			return fmt.Sprintf("Remove the text-direction control U+%04X: it can make text display differently from how it reads.", c)
		case !visible && isVisible(c):
			visible = true
		}
	}
	if r.MaxRunes > 0 {
		if n := utf8.RuneCountInString(s); n > r.MaxRunes {
			return fmt.Sprintf("Keep this to %d characters (it has %d).", r.MaxRunes, n)
		}
	}
	if r.Required && !visible {
		if strings.TrimSpace(s) == "" {
			return "Enter some text."
		}
		return "Enter visible text, not only spaces or invisible characters."
	}
	return ""
}

// isBidiControl reports the embedding, override and isolate controls. The
// plain marks (U+200E, U+200F, U+061C) only nudge neutral characters and
// are left alone: right-to-left languages use them.
func isBidiControl(c rune) bool {
	return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)
}

// isVisible reports whether c draws something: not a space, not a format
// character (zero-width space, joiners, BOM, soft hyphen), not a lone
// combining mark, and not one of the blank "letters" used to fake empty
// names.
func isVisible(c rune) bool {
	switch c {
	case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x034F, 0x180E:
		return false
	}
	return !unicode.IsSpace(c) && !unicode.In(c, unicode.Cf, unicode.Mn, unicode.Me)
}
