package realtime

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// responseHead is the HTTP/1.1 response head of every stream. The body is
// delimited by closing the connection (Connection: close, no
// Content-Length, no chunking), so frames go on the wire exactly as encoded.
const responseHead = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: text/event-stream\r\n" +
	"Cache-Control: no-cache\r\n" +
	"X-Accel-Buffering: no\r\n" +
	"X-Content-Type-Options: nosniff\r\n" +
	"Connection: close\r\n" +
	"\r\n"

// heartbeatFrame is the comment written every Config.Heartbeat. Parsers
// ignore comments, but proxies see traffic and the write tells us whether
// the client is still there.
var heartbeatFrame = []byte(": hb\n\n")

// frame is one event encoded once and shared, read-only, by every
// connection that carries it. full is the whole frame including the
// "id:" line of a single-channel stream; body is the same bytes without the
// id line, for streams that write their own multi-channel id (or none).
type frame struct {
	seq       int64 // position in the channel (auction seq or user seq)
	auction   int64
	price     bool  // a price event: state, so a newer one may replace it in a queue
	committed int64 // Event.CommittedAt in Unix nanoseconds, for the lag histogram; 0 for none
	full      []byte
	body      []byte
}

// encodeEvent stamps ev with the node's clock and encodes it once. token is
// the id of the frame for a single-channel stream ("" for none).
func encodeEvent(ev domain.Event, token string, now time.Time) (*frame, error) {
	return encodeEventIn(ev, ev.Channel().Kind, token, now)
}

// encodeEventIn encodes ev as an event of a log of kind k, whose position
// the frame carries: a lot's event is at one position in its auction's log
// and another in its sale's.
func encodeEventIn(ev domain.Event, k domain.ChannelKind, token string, now time.Time) (*frame, error) {
	ev.ServerTime = now.UTC()
	data, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", ev.Type, err)
	}
	b := make([]byte, 0, len(data)+len(token)+len(ev.Type)+24)
	if token != "" {
		b = appendField(b, "id", token)
	}
	idLen := len(b)
	b = appendField(b, "event", string(ev.Type))
	b = appendData(b, data)
	b = append(b, '\n')
	f := &frame{
		seq:     ev.SeqIn(k),
		auction: ev.AuctionID,
		price:   ev.Type == domain.EventPrice,
		full:    b,
		body:    b[idLen:],
	}
	if !ev.CommittedAt.IsZero() {
		f.committed = ev.CommittedAt.UnixNano()
	}
	return f, nil
}

// appendEvent appends one complete event. Empty id and event are left out.
func appendEvent(b []byte, id, event string, data []byte) []byte {
	if id != "" {
		b = appendField(b, "id", id)
	}
	if event != "" {
		b = appendField(b, "event", event)
	}
	b = appendData(b, data)
	return append(b, '\n')
}

// appendField appends "name: value\n". CR, LF and NUL are dropped from
// value: a line break would end the field early and let the rest of the
// value forge fields, and a NUL makes browsers ignore an id.
func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ':', ' ')
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\r', '\n', 0:
		default:
			b = append(b, c)
		}
	}
	return append(b, '\n')
}

// appendData appends data as "data:" lines. Every line of data gets its own
// prefix, and CR, LF and CRLF all end a line, as they do for a WHATWG
// parser, so no byte of data can start a new field or end the event.
func appendData(b []byte, data []byte) []byte {
	start := 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c != '\r' && c != '\n' {
			continue
		}
		b = append(b, "data: "...)
		b = append(b, data[start:i]...)
		b = append(b, '\n')
		if c == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		start = i + 1
	}
	b = append(b, "data: "...)
	b = append(b, data[start:]...)
	return append(b, '\n')
}

// appendComment appends a comment line and a blank line; line breaks in text
// are dropped so the comment stays one line.
func appendComment(b []byte, text string) []byte {
	b = append(b, ':', ' ')
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '\r', '\n':
		default:
			b = append(b, c)
		}
	}
	return append(b, '\n', '\n')
}

// appendRetry appends the reconnection delay the browser should use.
func appendRetry(b []byte, d time.Duration) []byte {
	b = append(b, "retry: "...)
	b = strconv.AppendInt(b, d.Milliseconds(), 10)
	return append(b, '\n', '\n')
}

// streamPreamble returns the response head followed by the retry field:
// the first bytes of every stream.
func streamPreamble(retry time.Duration) []byte {
	return appendRetry([]byte(responseHead), retry)
}

// retrySteps is how many distinct retry delays a retry window carries.
const retrySteps = 16
