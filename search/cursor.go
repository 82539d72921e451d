package search

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// cursor is the position after the last result of a page: the sort key of
// that result and its id. The next page starts strictly after it, so a
// page costs an index range scan however deep it is (no OFFSET).
type cursor struct {
	sort  Sort
	phase uint8 // sort "ending" over live and ended lots: 0 live, 1 ended
	t     time.Time
	n     int64
	f     float64
	id    int64
}

const (
	cursorVersion = 1
	cursorBody    = 1 + 1 + 1 + 8 + 8 + 8 + 8
	cursorMAC     = 10
)

// cursorKey keys the cursor's MAC. The MAC is for integrity, not secrecy:
// it makes a cursor that was cut short, edited or copied from another
// search fail with a clear message instead of starting somewhere
// arbitrary. A forged cursor could only choose where a page starts in
// results its holder may see anyway, so the key need not be secret, and
// every node (and every restart) accepts every other's cursors.
var cursorKey = []byte("gavel search cursor v1")

// errBadCursor is the answer to a cursor that does not verify.
var errBadCursor = domain.Invalid("after", "This page link is damaged or belongs to a different search; start again from the first page.")

// encode returns the opaque form of c for the search whose fingerprint is fp.
func (c cursor) encode(fp string) string {
	b := make([]byte, 0, cursorBody+cursorMAC)
	b = append(b, cursorVersion, byte(c.sort), c.phase)
	var tn int64
	if !c.t.IsZero() {
		tn = c.t.UnixNano()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(tn))
	b = binary.BigEndian.AppendUint64(b, uint64(c.n))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(c.f))
	b = binary.BigEndian.AppendUint64(b, uint64(c.id))
	b = append(b, mac(b, fp)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses s, checking its MAC against fp and its sort against
// the search's.
func decodeCursor(s, fp string, sort Sort) (cursor, error) {
	if len(s) > 128 {
		return cursor{}, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorBody+cursorMAC || b[0] != cursorVersion {
		return cursor{}, errBadCursor
	}
	body, sum := b[:cursorBody], b[cursorBody:]
	if !hmac.Equal(sum, mac(body, fp)) {
		return cursor{}, errBadCursor
	}
	c := cursor{sort: Sort(body[1]), phase: body[2]}
	if tn := int64(binary.BigEndian.Uint64(body[3:])); tn != 0 {
		c.t = time.Unix(0, tn).UTC()
	}
	c.n = int64(binary.BigEndian.Uint64(body[11:]))
	c.f = math.Float64frombits(binary.BigEndian.Uint64(body[19:]))
	c.id = int64(binary.BigEndian.Uint64(body[27:]))
	// id 0 marks the start of the ended lots in the two-phase sort.
	if c.sort != sort || c.phase > 1 || c.id < 0 || (c.id == 0 && c.phase == 0) || math.IsNaN(c.f) || math.IsInf(c.f, 0) {
		return cursor{}, errBadCursor
	}
	return c, nil
}

func mac(body []byte, fp string) []byte {
	h := hmac.New(sha256.New, cursorKey)
	h.Write(body)
	h.Write([]byte{0})
	h.Write([]byte(fp))
	return h.Sum(nil)[:cursorMAC]
}
