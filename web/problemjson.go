package web

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendProblem encodes p's problem document exactly as json.Marshal
// encodes the map writeProblem used to build (members sorted by name,
// strings HTML-escaped), without the map, the reflection and the sort of
// an interface map: a bid rejected as too low is the storm's most common
// answer. ok is false when an Extra value is not one this encoder knows
// and json.Marshal of it fails; the caller then falls back.
func appendProblem(dst []byte, p problem) (_ []byte, ok bool) {
	type member struct {
		name string
		str  string // a string value
		raw  []byte // any other value, encoded
		kind byte   // 's' string, 'r' raw
	}
	ms := make([]member, 0, 6+len(p.extra))
	typ := "about:blank"
	if p.known {
		typ = problemTypePrefix + string(p.code)
	}
	ms = append(ms,
		member{name: "type", str: typ, kind: 's'},
		member{name: "title", str: p.title, kind: 's'},
		member{name: "status", raw: strconv.AppendInt(nil, int64(p.status), 10), kind: 'r'},
		member{name: "detail", str: p.detail, kind: 's'},
		member{name: "code", str: string(p.code), kind: 's'})
	if len(p.fields) > 0 {
		ms = append(ms, member{name: "errors", raw: appendStringMap(nil, p.fields), kind: 'r'})
	}
	for k, v := range p.extra {
		if reservedProblemMembers[k] {
			continue
		}
		m := member{name: k, kind: 'r'}
		switch v := v.(type) {
		case string:
			m.kind, m.str = 's', v
		case int:
			m.raw = strconv.AppendInt(nil, int64(v), 10)
		case int64:
			m.raw = strconv.AppendInt(nil, v, 10)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return dst, false
			}
			m.raw = b
		}
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b member) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	dst = append(dst, '{')
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, m.name)
		dst = append(dst, ':')
		if m.kind == 's' {
			dst = appendJSONString(dst, m.str)
		} else {
			dst = append(dst, m.raw...)
		}
	}
	return append(dst, '}'), true
}

// appendStringMap encodes m as json.Marshal does: keys sorted.
func appendStringMap(dst []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, m[k])
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString encodes s as encoding/json does with HTML escaping:
// quotes, backslashes and control characters escaped, <, > and & as
// \u003c, \u003e and \u0026, U+2028 and U+2029 escaped, and invalid UTF-8
// replaced by \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
