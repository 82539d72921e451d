package ssebench

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// The client's small byte-level helpers: request rewriting, error
// reasons, and reading fields from one line of event JSON without decoding
// it (the client reads hundreds of thousands of events a second).

// withLastEventID returns the request req (ending in a blank line) with a
// Last-Event-ID header added.
func withLastEventID(req []byte, id string) []byte {
	out := append([]byte(nil), req[:len(req)-2]...)
	return append(out, "Last-Event-ID: "+id+"\r\n\r\n"...)
}

// errReason turns an error into a short, countable reason.
func errReason(err error) string {
	if err == nil {
		return "closed"
	}
	s := err.Error()
	for _, k := range []string{"connection reset", "connection refused", "broken pipe", "i/o timeout",
		"too many open files", "cannot assign requested address", "EOF"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// jsonInt reads the integer after key in one line of JSON.
func jsonInt(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	j := 0
	for j < len(b) && (b[j] == '-' || b[j] >= '0' && b[j] <= '9') {
		j++
	}
	n, err := strconv.ParseInt(string(b[:j]), 10, 64)
	return n, err == nil
}

// jsonTime reads the RFC 3339 time after key (which ends with the opening
// quote) as Unix ns; 0 when absent.
func jsonTime(b []byte, key string) int64 {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0
	}
	b = b[i+len(key):]
	j := bytes.IndexByte(b, '"')
	if j < 0 {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, string(b[:j]))
	if err != nil {
		return 0
	}
	return t.UnixNano()
}
