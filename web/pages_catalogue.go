package web

import (
	"context"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// The catalogue's rows carry what a card carries: the lot's cover and the
// watch button. A page of rows costs one query per kind (covers, the
// viewer's watchlist, the categories), whatever the number of lots.

// saleCoverLots is how many of a sale's first lots are looked at for its
// card's cover: the first of them with a photo wins.
const saleCoverLots = 8

// decorateRows adds the covers and the watch buttons to a page of
// catalogue rows; lots and rows are in the same order.
func (p *pages) decorateRows(c *fiber.Ctx, viewer domain.User, lots []domain.Auction, rows []lotRow) error {
	if len(lots) == 0 {
		return nil
	}
	ctx := c.UserContext()
	ids := make([]int64, len(lots))
	for i, a := range lots {
		ids[i] = a.ID
	}
	covers, err := p.s.coverViews(ctx, ids)
	if err != nil {
		return err
	}
	x, err := p.s.loadExtras(ctx, viewer, lots)
	if err != nil {
		return err
	}
	back := requestPath(c)
	for i, a := range lots {
		r := &rows[i]
		r.Cover = covers[a.ID]
		x.apply(a, &r.AuctionView)
		r.Watching = r.You != nil && r.You.Watching
		running := a.Status == domain.StatusOpen || a.Status == domain.StatusScheduled
		// Guests get the button too: it takes them to log in and back.
		r.CanWatch = p.s.deps.Watchlist != nil && (viewer.ID == 0 || a.SellerID != viewer.ID) && (running || r.Watching)
		r.Back = back
	}
	return nil
}

// saleCovers returns the cover of each of the sales that has a lot with a
// photo among its first few: two queries for any number of sales.
func (p *pages) saleCovers(ctx context.Context, saleIDs []int64) (map[int64]*domain.PhotoView, error) {
	out := map[int64]*domain.PhotoView{}
	if p.s.deps.SaleLeads == nil || p.s.deps.Photos == nil || len(saleIDs) == 0 {
		return out, nil
	}
	leads, err := p.s.deps.SaleLeads.LeadLots(ctx, saleIDs, saleCoverLots)
	if err != nil {
		return nil, err
	}
	var lots []int64
	for _, ids := range leads {
		lots = append(lots, ids...)
	}
	covers, err := p.s.coverViews(ctx, lots)
	if err != nil {
		return nil, err
	}
	for sale, ids := range leads {
		for _, id := range ids {
			if cv := covers[id]; cv != nil {
				out[sale] = cv
				break
			}
		}
	}
	return out, nil
}
