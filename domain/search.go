package domain

import (
	"strings"
	"time"
)

// SearchSort orders search results. Every sort ends with the auction id,
// so the order is total and a keyset page never repeats or skips a lot.
type SearchSort string

// The sorts, by their API names.
const (
	SortEnding    SearchSort = "ending"     // running lots ending soonest first; ended lots most recently ended first
	SortNewest    SearchSort = "newest"     // newly listed first
	SortPriceLow  SearchSort = "price_asc"  // shown price (current, or start before the first bid), low to high
	SortPriceHigh SearchSort = "price_desc" // shown price, high to low
	SortBids      SearchSort = "bids"       // most bids first
	SortRelevance SearchSort = "relevance"  // best text match first, title words weighing most; needs text
)

// SearchSorts lists the sorts in the order a form shows them.
func SearchSorts() []SearchSort {
	return []SearchSort{SortEnding, SortNewest, SortPriceLow, SortPriceHigh, SortBids, SortRelevance}
}

// ParseSearchSort reads a sort's API name; "" is SortEnding.
func ParseSearchSort(s string) (SearchSort, error) {
	if s == "" {
		return SortEnding, nil
	}
	for _, v := range SearchSorts() {
		if string(v) == s {
			return v, nil
		}
	}
	names := make([]string, 0, 6)
	for _, v := range SearchSorts() {
		names = append(names, string(v))
	}
	return "", Invalid("sort", "sort must be one of "+strings.Join(names, ", ")+".")
}

// SearchQuery is one search for lots. Zero fields do not filter.
type SearchQuery struct {
	// Text is what the person typed (see docs/SEARCH.md for the syntax).
	Text string
	// CategoryIDs are a category and its subcategories.
	CategoryIDs []int64
	// Statuses defaults to open and scheduled (running lots).
	Statuses []Status
	// MinPrice and MaxPrice bound the shown price in minor units of
	// Currency, which is required with either.
	MinPrice, MaxPrice *int64
	Currency           string
	// EndingWithin keeps running lots that end within this long from now.
	EndingWithin time.Duration
	// BuyNow keeps lots whose buy-it-now price is still available.
	BuyNow bool
	// SaleID keeps the lots of one sale.
	SaleID int64
	Sort   SearchSort
	// After is the opaque cursor from the previous page's Next.
	After string
	Limit int
}

// SearchPage is one page of search results.
type SearchPage struct {
	Auctions []Auction
	// Next is the cursor of the following page; "" on the last one.
	Next string
}

// WatchEntry is one lot on a user's watchlist.
type WatchEntry struct {
	AuctionID int64
	WatchedAt time.Time
}
