package bidding

import (
	"encoding/json"

	"github.com/gavel-auctions/gavel/domain"
)

// decodeFees reads the auctions.fees column: "" (and text that does not
// decode, which only a hand edit could write) is no fees. Decoding a
// schedule costs a few microseconds, once per auction a batch locks.
func decodeFees(s string) *domain.Fees {
	if s == "" {
		return nil
	}
	var v domain.Fees
	if json.Unmarshal([]byte(s), &v) != nil || v.IsZero() {
		return nil
	}
	return &v
}

// encodeFees writes the auctions.fees column.
func encodeFees(f *domain.Fees) string {
	if f == nil || f.IsZero() {
		return ""
	}
	b, err := json.Marshal(f)
	if err != nil {
		return ""
	}
	return string(b)
}
