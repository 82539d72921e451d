package salebench

import (
	"testing"
	"time"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
)

// TestSnipeList: the report's list puts the snipes in lot order, and
// within a snipe the bid that waited for the other's batch after it, with
// its wait, whether it was refused and whether it moved nothing.
func TestSnipeList(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	tests := []struct {
		name string
		bids []snipeBid
		want string
	}{
		{name: "one bid", bids: []snipeBid{{lot: 5, of: 1, trace: bidding.BidTrace{Batch: ms(12.34)}, moved: true}},
			want: "lot 5 (1 at once): 12.3 ms"},
		{name: "two that shared a batch, then two that did not, out of order", bids: []snipeBid{
			{lot: 10, of: 2, trace: bidding.BidTrace{Batch: ms(4.2), Queued: ms(9.5)}, err: domain.ErrNotOpen},
			{lot: 10, of: 2, trace: bidding.BidTrace{Batch: ms(9.5)}, moved: true},
			{lot: 5, of: 2, trace: bidding.BidTrace{Batch: ms(8)}, moved: true},
			{lot: 5, of: 2, trace: bidding.BidTrace{Batch: ms(8), Queued: ms(0.2)}},
		}, want: "lot 5 (2 at once): 8.0 ms, 8.0 ms moved nothing; lot 10 (2 at once): 9.5 ms, 4.2 ms after 9.5 ms queued refused (conflict)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := snipeList(tt.bids); got != tt.want {
				t.Errorf("snipeList =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
