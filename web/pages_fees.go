package web

import (
	"encoding/json"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// feeData is what the auction page shows of a lot's fees: the terms, the
// schedule for auction.js (which recomputes the estimate as the bidder
// types, with the same rounding), the estimate for the amount in the bid
// form, and after the close the lot's invoice or the seller's offer form.
type feeData struct {
	Terms    []string
	Schedule string // JSON of the fee schedule, for auction.js
	Words    string // "with buyer's premium and VAT"; "" without fees
	Bid      int64  // the amount the estimate is for
	Estimate domain.FeeEstimate
	Invoice  *domain.Invoice // the lot's invoice the viewer may see
	CanOffer bool            // the seller may offer the lot after close
}

// feeWords says what a total adds to the hammer: "with buyer's premium and
// VAT". auction.js receives the same words.
func feeWords(f domain.Fees) string {
	var parts []string
	if len(f.BuyersPremium) > 0 && !(len(f.BuyersPremium) == 1 && f.BuyersPremium[0].RateBPS == 0) {
		parts = append(parts, "buyer's premium")
	}
	if f.Tax != nil {
		parts = append(parts, f.Tax.Label)
	}
	if len(parts) == 0 {
		return ""
	}
	return "with " + strings.Join(parts, " and ")
}

// feeSchedule is the JSON of the part of a schedule fees.js estimates
// with (premium and tax).
func feeSchedule(f domain.Fees) string {
	b, err := json.Marshal(domain.Fees{BuyersPremium: f.BuyersPremium, Tax: f.Tax})
	if err != nil {
		return "{}" // not reached: the schedule is plain data
	}
	return string(b)
}

// rowFee is the estimate under a catalogue row's bid form: the same
// sentence as on the lot's page, for the amount in the form (sale.js
// redraws it as the bidder types). Zero when the lot has no fees.
type rowFee struct {
	Words    string
	Schedule string
	Bid      int64
	Total    int64
}

func newRowFee(a domain.Auction, bid int64) rowFee {
	f := a.Terms()
	w := feeWords(f)
	if w == "" {
		return rowFee{}
	}
	return rowFee{Words: w, Schedule: feeSchedule(f), Bid: bid, Total: f.Estimate(bid).Total}
}

// auctionFees fills feeData for a lot as viewer sees it; typed is the
// amount in the bid form (major units).
func (p *pages) auctionFees(c *fiber.Ctx, a domain.Auction, viewer domain.User, typed string) (feeData, error) {
	f := a.Terms()
	d := feeData{Terms: f.Terms(a.Currency), Words: feeWords(f), Schedule: feeSchedule(f)}
	d.Bid = domain.MinNextBid(a)
	if typed != "" {
		if v, err := domain.ParseAmount(typed, a.Currency); err == nil {
			d.Bid = v
		}
	}
	d.Estimate = f.Estimate(d.Bid)
	inv := p.s.deps.Invoicing
	if inv == nil || viewer.ID == 0 || a.Status != domain.StatusClosed {
		return d, nil
	}
	lot, ok, err := inv.LotInvoice(c.UserContext(), viewer, a.ID)
	if err != nil {
		return d, err
	}
	if ok {
		d.Invoice = &lot
	}
	d.CanOffer = viewer.ID == a.SellerID && !viewer.Suspended && !ok && a.BidCount > 0
	return d, nil
}
