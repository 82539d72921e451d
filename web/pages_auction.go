package web

import (
	"strconv"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gofiber/fiber/v2"
)

// auctionData is the auction page's Data.
type auctionData struct {
	View       domain.AuctionView
	Price      int64
	Bids       []domain.BidView
	Leading    bool
	Seller     bool
	YouKind    string
	YouText    string
	ResultKind string
	ResultText string
	CanBid     bool
	CanEdit    bool
	BuyNowKey  string
	Form       bidFormData
	CanStrike  bool       // an admin on a running auction: each bid has a cancel form
	Strike     strikeForm // a refused bid cancellation, re-rendered
	Fees       feeData    // the fees, the terms and the estimate (pages_fees.go)
	Gallery    gallery
	Ended      bool     // closed or cancelled: a result, no bidding facts
	Identify   bool     // the seller or an admin: identities behind aliases
	Watch      cardView // the watch button's state (CanWatch: shown)
}

// strikeForm is an admin's refused "cancel this bid" form.
type strikeForm struct {
	BidID  int64
	Reason string
	Error  string
	Errors map[string]string
}

// handleAuctionPage shows one auction, live for logged-in viewers.
func (p *pages) handleAuctionPage(c *fiber.Ctx) error {
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	a, err := p.s.deps.Reader.Auction(c.UserContext(), id)
	if err != nil {
		return err
	}
	if viewer, _ := p.s.currentUser(c); hiddenDraft(a, viewer) {
		return domain.ErrAuctionNotFound
	}
	form := bidFormData{Result: p.pop(c, sessionBidResultKey)}
	if form.Result != "" {
		form.ResultKind = "ok"
	}
	return p.renderAuction(c, fiber.StatusOK, a, form, strikeForm{})
}

// renderAuction renders the auction page with the given bid form state:
// empty on a plain view, the visitor's input and errors after a refused
// no-JavaScript bid.
func (p *pages) renderAuction(c *fiber.Ctx, status int, a domain.Auction, form bidFormData, strike strikeForm) error {
	viewer, err := p.s.viewer(c)
	if err != nil {
		return err
	}
	bids, err := p.s.deps.Reader.Bids(c.UserContext(), a.ID, pageBidsLimit)
	if err != nil {
		return err
	}
	pg := p.base(c, a.Title, "auction")
	v, err := p.s.viewOf(c, a, viewer)
	if err != nil {
		return err
	}
	d := auctionData{View: v, Price: shownPrice(v), Bids: domain.HistoryFor(bids, a, viewer), Form: form, Strike: strike,
		Identify: domain.MayIdentify(a, viewer)}
	if v.You != nil {
		d.Leading, d.Seller = v.You.Leading, v.You.Seller
	}
	d.YouKind, d.YouText = youStatus(v)
	d.ResultKind, d.ResultText = auctionResult(v)
	running := a.Status == domain.StatusOpen || a.Status == domain.StatusScheduled
	d.Ended = !running
	d.CanBid = pg.User != nil && !d.Seller && running
	d.CanEdit = d.Seller && domain.CanSellerEdit(a)
	d.CanStrike = viewer.Admin && !viewer.Suspended && running
	if d.Gallery, err = p.auctionGallery(c.UserContext(), a, viewer); err != nil {
		return err
	}
	d.Watch = cardView{AuctionView: v, Watching: v.You != nil && v.You.Watching, Back: requestPath(c)}
	d.Watch.CanWatch = p.s.deps.Watchlist != nil && pg.User != nil && !d.Seller && (running || d.Watch.Watching)
	if d.CanBid {
		if d.Form.Key == "" {
			d.Form.Key = newFormKey()
		}
		if d.Form.Amount == "" {
			d.Form.Amount = domain.FormatAmount(v.MinNextBid, v.Currency)
		}
		d.BuyNowKey = newFormKey()
	}
	if d.Fees, err = p.auctionFees(c, a, viewer, d.Form.Amount); err != nil {
		return err
	}
	if running || pg.User != nil {
		p.s.publicStream(c, &pg, "/stream/auctions/"+strconv.FormatInt(a.ID, 10))
	}
	// auction.js (at the end of auction.html) builds on the bid history.
	pg.Script = "js/auction-history.js"
	pg.Data = d
	return p.r.render(c, status, "auction", pg)
}

// youStatus describes the viewer's relation to the auction; auction.js
// keeps it current with the same wording. Only someone who has bid (whose
// alias the view carries) is told they are not the highest bidder.
func youStatus(v domain.AuctionView) (kind, text string) {
	you := v.You
	switch {
	case you == nil:
		return "", ""
	case you.Seller:
		return "seller", "You are the seller."
	case v.Status == domain.StatusCancelled:
		if you.Alias != "" {
			return "lost", "This auction was cancelled: your bids no longer count."
		}
		return "", ""
	case you.Leading && v.Status == domain.StatusClosed && v.Winner != "":
		return "won", "You won this auction!"
	case you.Leading && v.Status == domain.StatusClosed:
		return "lost", "You were the highest bidder, but the reserve was not met."
	case you.Leading && v.HasReserve && !v.ReserveMet:
		return "reserve", "You are the highest bidder, but the reserve has not been met yet."
	case you.Leading:
		text = "You are the highest bidder."
		if you.MaxAmount > 0 {
			text += " Your maximum is " + domain.FormatMoney(you.MaxAmount, v.Currency) + "."
		}
		return "leading", text
	case you.Alias == "":
		return "", ""
	case v.Status == domain.StatusClosed:
		return "lost", "You were outbid: the auction has ended."
	}
	return "notleading", "You are not the highest bidder."
}

// auctionResult is the outcome line of a closed or cancelled auction: sold
// to whom and for how much, or unsold and why. The seller and admins also
// read the winner's name.
func auctionResult(v domain.AuctionView) (kind, text string) {
	switch {
	case v.Status == domain.StatusCancelled:
		text = "This auction was cancelled."
		if v.CancelReason != "" {
			text += " Reason: " + v.CancelReason
		}
		return "cancelled", text
	case v.Status != domain.StatusClosed:
		return "", ""
	case v.Winner != "":
		who := v.Winner
		if v.LeaderUser != nil && v.LeaderUser.Name != "" {
			who += " (" + v.LeaderUser.Name + ")"
		}
		return "sold", "Sold to " + who + " for " + domain.FormatMoney(v.CurrentPrice, v.Currency) + "."
	case v.BidCount > 0 && v.HasReserve && !v.ReserveMet:
		return "reserve", "Reserve not met: the highest bid, " + domain.FormatMoney(v.CurrentPrice, v.Currency) +
			", was below the reserve, so the item did not sell."
	}
	return "unsold", "No bids: the item did not sell."
}

// handleBidForm places a bid sent by the page's form without JavaScript.
// Success redirects back to the auction (303) with the result as a one-shot
// message; a refused bid re-renders the page with the reason and the
// status of the one error table.
func (p *pages) handleBidForm(c *fiber.Ctx) error {
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	back := "/auctions/" + strconv.FormatInt(id, 10)
	if _, ok := p.s.currentUser(c); !ok {
		return toLogin(c, back)
	}
	a, err := p.s.deps.Reader.Auction(c.UserContext(), id)
	if err != nil {
		return err
	}
	form, in := parseBidForm(c, a.Currency)
	if len(form.Errors) > 0 {
		form.Result, form.ResultKind = "Please correct your bid.", "error"
		return p.renderAuction(c, fiber.StatusUnprocessableEntity, a, form, strikeForm{})
	}
	// bidder applies the same suspension check and per-user rate limit as
	// the API.
	u, err := p.s.bidder(c)
	if err != nil {
		return p.refusedBid(c, a, form, err)
	}
	r, err := p.s.deps.Bidder.PlaceBid(c.UserContext(), u, id, in)
	if err != nil {
		return p.refusedBid(c, a, form, err)
	}
	if next := safeNext(c.FormValue("next")); next != "" {
		// A bid from a sale's catalogue row returns to the catalogue.
		p.flash(c, sessionFlashKey, "Lot "+strconv.Itoa(a.LotNumber)+": "+receiptMessage(r, in.BuyNow))
		return seeOther(c, next)
	}
	p.flash(c, sessionBidResultKey, receiptMessage(r, in.BuyNow))
	return seeOther(c, back)
}

// refusedBid re-renders the auction page for a refused bid, or hands a
// server-side failure to the error adapter.
func (p *pages) refusedBid(c *fiber.Ctx, a domain.Auction, form bidFormData, err error) error {
	pr, ok := pageProblem(err)
	if !ok {
		return err
	}
	if pr.status == fiber.StatusUnauthorized {
		return toLogin(c, "/auctions/"+strconv.FormatInt(a.ID, 10))
	}
	if pr.retryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.FormatInt(retryAfterSeconds(pr.retryAfter), 10))
	}
	form.Errors = mergeFields(form.Errors, pr.fields)
	form.Result, form.ResultKind = pr.detail, "error"
	// The state may have moved on (a bid too low, the auction closed):
	// show the current one beside the message.
	if fresh, ferr := p.s.deps.Reader.Auction(c.UserContext(), a.ID); ferr == nil {
		a = fresh
	}
	return p.renderAuction(c, pr.status, a, form, strikeForm{})
}

// receiptMessage tells a bidder what their committed bid achieved.
func receiptMessage(r domain.Receipt, buyNow bool) string {
	amount := domain.FormatMoney(r.Amount, r.Currency)
	if r.EstimatedTotal > r.Amount {
		amount += " (" + domain.FormatMoney(r.EstimatedTotal, r.Currency) + " with buyer's premium and tax)"
	}
	switch {
	case buyNow || (r.Status == domain.StatusClosed && r.Leading):
		return "You bought it for " + amount + "!"
	case r.Leading:
		return "Bid placed: " + amount + ". You are the highest bidder."
	}
	return "Bid placed: " + amount + ", but another bidder’s maximum is higher. You have been outbid."
}

// handleAdminBidCancelForm strikes one bid, from the per-bid form admins
// see in the auction page's history. A refusal re-renders the page with
// the form open and the reason kept.
func (p *pages) handleAdminBidCancelForm(c *fiber.Ctx) error {
	admin, done, err := p.adminUser(c)
	if done || err != nil {
		return err
	}
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	bidID, err := bidIDParam(c)
	if err != nil {
		return err
	}
	reason, fields := adminReason(c)
	strike := strikeForm{BidID: bidID, Reason: c.FormValue("reason"), Errors: fields}
	if fields == nil {
		_, err = p.s.deps.Bidder.CancelBid(c.UserContext(), admin, id, bidID, reason)
		if err == nil {
			p.flash(c, sessionFlashKey, "Bid #"+strconv.FormatInt(bidID, 10)+" was cancelled, and the auction was recomputed without it.")
			return seeOther(c, "/auctions/"+strconv.FormatInt(id, 10))
		}
	} else {
		err = domain.FieldErrors(fields)
	}
	pr, ok := pageProblem(err)
	if !ok {
		return err
	}
	a, rerr := p.s.deps.Reader.Auction(c.UserContext(), id)
	if rerr != nil {
		return rerr
	}
	strike.Error, strike.Errors = "Bid #"+strconv.FormatInt(bidID, 10)+" was not cancelled: "+pr.detail, pr.fields
	return p.renderAuction(c, pr.status, a, bidFormData{}, strike)
}

// handleCancelForm lets the seller withdraw a listing before its first bid.
func (p *pages) handleCancelForm(c *fiber.Ctx) error {
	id, err := auctionID(c)
	if err != nil {
		return err
	}
	u, err := p.s.requireActor(c)
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeUnauthorized {
			return toLogin(c, "/auctions/"+strconv.FormatInt(id, 10))
		}
		return err
	}
	a, err := p.s.deps.Reader.Auction(c.UserContext(), id)
	if err != nil {
		return err
	}
	// Administrators cancel from the monitor, with a reason for the audit
	// log; this route is the seller's own.
	if a.SellerID != u.ID {
		return domain.ErrNotSeller
	}
	if _, err := p.s.deps.Bidder.CancelAuction(c.UserContext(), u, id, "Withdrawn by the seller."); err != nil {
		return err
	}
	p.flash(c, sessionFlashKey, "Your listing was cancelled.")
	return seeOther(c, "/me/listings")
}
