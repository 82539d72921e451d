package realtime

import (
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
)

// A cursor is a stream's resume position: the SSE id of the last event a
// client saw. It names the position in every channel the stream carries,
// so it means the same thing on every node:
//
//	7:57            auction 7 at seq 57
//	7:57,8:12,u:4   auctions 7 and 8, and the user's channel at user seq 4
//	s3:410          sale 3's log (every lot's events) at sale seq 410
//
// A channel the cursor does not name starts fresh (with a snapshot).
type cursor struct {
	auctions []position // in the order given
	sales    []position
	user     int64
	hasUser  bool
}

// position is one auction channel's seq in a cursor.
type position struct {
	id, seq int64
}

// Limits on what a client may send back, so a hostile Last-Event-ID costs
// little to reject.
const (
	maxCursorLen   = 8 << 10
	maxChannels    = 256 // auction channels per stream
	maxSales       = 16  // sale channels per stream
	maxNumberDigit = 19  // math.MaxInt64 has 19 digits
)

// parseCursor parses a Last-Event-ID. ok is false for "" and for anything
// malformed (unknown token, duplicate channel, sign, overflow, empty token);
// the caller then starts fresh rather than guessing what the client meant.
func parseCursor(s string) (c cursor, ok bool) {
	if s == "" || len(s) > maxCursorLen {
		return cursor{}, false
	}
	for tok := range strings.SplitSeq(s, ",") {
		k, v, found := strings.Cut(tok, ":")
		if !found {
			return cursor{}, false
		}
		seq, ok := parseNumber(v)
		if !ok {
			return cursor{}, false
		}
		if k == "u" {
			if c.hasUser {
				return cursor{}, false
			}
			c.user, c.hasUser = seq, true
			continue
		}
		if sale, isSale := strings.CutPrefix(k, "s"); isSale {
			id, ok := parseNumber(sale)
			if !ok || id == 0 || len(c.sales) == maxSales {
				return cursor{}, false
			}
			if _, dup := c.sale(id); dup {
				return cursor{}, false
			}
			c.sales = append(c.sales, position{id: id, seq: seq})
			continue
		}
		id, ok := parseNumber(k)
		if !ok || id == 0 || len(c.auctions) == maxChannels {
			return cursor{}, false
		}
		if _, dup := c.auction(id); dup {
			return cursor{}, false
		}
		c.auctions = append(c.auctions, position{id: id, seq: seq})
	}
	return c, true
}

// parseNumber accepts only plain decimal digits (no sign, no spaces, no
// underscores) that fit an int64.
func parseNumber(s string) (int64, bool) {
	if s == "" || len(s) > maxNumberDigit {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// auction returns the cursor's seq for an auction.
func (c cursor) auction(id int64) (int64, bool) {
	for _, p := range c.auctions {
		if p.id == id {
			return p.seq, true
		}
	}
	return 0, false
}

// sale returns the cursor's seq for a sale's log.
func (c cursor) sale(id int64) (int64, bool) {
	for _, p := range c.sales {
		if p.id == id {
			return p.seq, true
		}
	}
	return 0, false
}

// String formats the cursor in the form parseCursor reads.
func (c cursor) String() string {
	var b []byte
	for i, p := range c.auctions {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendToken(b, domain.AuctionChannel(p.id), p.seq)
	}
	for _, p := range c.sales {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = appendToken(b, domain.SaleChannel(p.id), p.seq)
	}
	if c.hasUser {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = appendToken(b, domain.UserChannel(0), c.user)
	}
	return string(b)
}

// appendToken appends one channel's cursor token: "<auction>:<seq>",
// "s<sale>:<seq>" or "u:<seq>" (the user is implied by the session, so it
// is not sent).
func appendToken(b []byte, ch domain.Channel, seq int64) []byte {
	switch ch.Kind {
	case domain.ChannelUser:
		b = append(b, 'u')
	case domain.ChannelSale:
		b = append(b, 's')
		b = strconv.AppendInt(b, ch.ID, 10)
	default:
		b = strconv.AppendInt(b, ch.ID, 10)
	}
	b = append(b, ':')
	return strconv.AppendInt(b, seq, 10)
}
