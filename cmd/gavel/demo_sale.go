package main

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
)

// The demo's live sale: about 30 lots closing 20 s apart, so a newcomer
// sees a catalogue close lot by lot (and a cascade move the rest).
const (
	demoSaleLots  = 30
	demoSaleGap   = 20
	demoSaleSoft  = 15
	demoSaleFirst = 2 * time.Minute
)

var demoSaleItems = []string{
	"Pocket watch, silver", "Carriage clock", "Mantel clock, oak", "Barometer", "Sextant in its box", "Ship's bell",
	"Brass telescope", "Compass", "Globe, 1890s", "Atlas of the world", "Letterpress drawer", "Typewriter",
	"Fountain pen set", "Inkwell, cut glass", "Desk lamp, green shade", "Rotary telephone", "Valve radio",
	"Gramophone", "Box of 78s", "Tin robot", "Model steam engine", "Wooden rocking horse", "Doll's house",
	"Chess set, boxwood", "Playing cards, 1920s", "Magic lantern", "Stereo viewer", "Folding camera",
	"Cine projector", "Field binoculars",
}

// startDemoSale runs the demo's live sale until ctx ends: it publishes a
// sale when the demo seller has none running and has the simulated
// bidders bid on the lots about to close. It is apart from the demo's
// single listings so that the demo can change without touching it.
func startDemoSale(n *node, jobCtx context.Context, seller domain.User, bots []domain.User) {
	n.run(func() { runDemoSale(jobCtx, n.svc, seller, bots) })
}

func runDemoSale(ctx context.Context, svc *bidding.Service, seller domain.User, bots []domain.User) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))
	for {
		// A refused demo bid (outbid meanwhile, lot closed) is simply
		// tried again on the next round.
		_ = demoSaleBid(ctx, svc, seller, bots, rng)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(1500+rng.IntN(2500)) * time.Millisecond):
		}
	}
}

// demoSaleBid makes sure a demo sale runs and places one bid on one of the
// next lots to close.
func demoSaleBid(ctx context.Context, svc *bidding.Service, seller domain.User, bots []domain.User, rng *rand.Rand) error {
	sales, err := svc.Sales(ctx, domain.SaleFilter{SellerID: seller.ID})
	if err != nil {
		return err
	}
	if len(sales) == 0 {
		_, err := createDemoSale(ctx, svc, seller, rng)
		return err
	}
	lots, err := svc.Lots(ctx, sales[0].ID)
	if err != nil {
		return err
	}
	var next []domain.Auction
	for _, a := range lots {
		if a.Status == domain.StatusOpen && len(next) < 4 {
			next = append(next, a)
		}
	}
	if len(next) == 0 {
		return nil
	}
	a := next[rng.IntN(len(next))]
	bot := bots[rng.IntN(len(bots))]
	in := domain.BidInput{Amount: domain.MinNextBid(a)}
	if rng.IntN(3) == 0 {
		in.MaxAmount = in.Amount + int64(rng.IntN(6)+1)*domain.IncrementAt(a, a.CurrentPrice)
	}
	_, err = svc.PlaceBid(ctx, bot, a.ID, in)
	return err
}

// createDemoSale publishes a sale of demoSaleLots lots, open at once.
func createDemoSale(ctx context.Context, svc *bidding.Service, seller domain.User, rng *rand.Rand) (domain.Sale, error) {
	gap, soft := demoSaleGap, demoSaleSoft
	sale, err := svc.CreateSale(ctx, seller, domain.SaleInput{
		Title:       "Demo sale: clocks, instruments and toys",
		Description: "A live demo: thirty lots closing twenty seconds apart. A bid in a lot's last 15 seconds extends it, and every later lot moves with it (cascade).",
		Terms:       "A demo: nothing is sold. No buyer's premium.",
		Currency:    "EUR", FirstCloseAt: time.Now().Add(demoSaleFirst), GapSeconds: &gap, SoftCloseSeconds: &soft,
		SoftCloseMode: domain.SoftCloseCascade,
	})
	if err != nil {
		return sale, err
	}
	lots := make([]domain.LotInput, demoSaleLots)
	for i := range lots {
		start := int64(500 + rng.IntN(40)*100)
		lots[i] = domain.LotInput{LotNumber: i + 1, Title: demoSaleItems[i%len(demoSaleItems)], StartPrice: start,
			LowEstimate: start * 2, HighEstimate: start * 3}
		if i%4 == 0 {
			lots[i].Reserve = start * 2
		}
	}
	if _, err := svc.AddLots(ctx, seller, sale.ID, lots); err != nil {
		return sale, err
	}
	return svc.PublishSale(ctx, seller, sale.ID)
}
