package web

import (
	"context"
)

// SaleLeads names the first lots of sales, so that a sale's card can show
// a cover (Deps.SaleLeads; nil: sale cards have no cover).
type SaleLeads interface {
	// LeadLots returns the ids of each sale's first n lots in lot order,
	// withdrawn lots left out.
	LeadLots(ctx context.Context, saleIDs []int64, n int) (map[int64][]int64, error)
}
