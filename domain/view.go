package domain

import "time"

// AuctionView is the public JSON resource of an auction, as a given viewer
// may see it. The leader's identity is shown only to the seller and admins.
type AuctionView struct {
	ID               int64      `json:"id"`
	SellerID         int64      `json:"seller_id"`
	Title            string     `json:"title"`
	Description      string     `json:"description"`
	Currency         string     `json:"currency"`
	StartPrice       int64      `json:"start_price"`
	BuyNowPrice      int64      `json:"buy_now_price,omitempty"` // only while available
	Increment        int64      `json:"increment,omitempty"`
	Status           Status     `json:"status"`
	CurrentPrice     int64      `json:"current_price"`
	MinNextBid       int64      `json:"min_next_bid"`
	BidCount         int        `json:"bid_count"`
	Leader           string     `json:"leader,omitempty"`
	LeaderUser       *UserRef   `json:"leader_user,omitempty"`
	ReserveMet       bool       `json:"reserve_met"`
	HasReserve       bool       `json:"has_reserve"`
	ReservePrice     int64      `json:"reserve_price,omitempty"` // seller and admins only
	StartsAt         time.Time  `json:"starts_at"`
	EndsAt           time.Time  `json:"ends_at"`
	SoftCloseSeconds int        `json:"soft_close_seconds"`
	Winner           string     `json:"winner,omitempty"`
	CancelReason     string     `json:"cancel_reason,omitempty"` // cancelled only
	ServerTime       time.Time  `json:"server_time"`
	Seq              int64      `json:"seq"`
	You              *ViewerRel `json:"you,omitempty"`

	// The terms the lot is sold under, and what the winner would pay at
	// the price shown (the current price, or the start price before the
	// first bid), before shipping.
	BuyersPremium  []PremiumTier    `json:"buyers_premium"`
	Tax            *Tax             `json:"tax"`
	Shipping       []ShippingOption `json:"shipping"`
	EstimatedTotal int64            `json:"estimated_total"`
	Estimate       FeeEstimate      `json:"estimate"`

	// Lots of a sale only.
	SaleID       int64      `json:"sale_id,omitempty"`
	LotNumber    int        `json:"lot_number,omitempty"`
	LowEstimate  int64      `json:"low_estimate,omitempty"`
	HighEstimate int64      `json:"high_estimate,omitempty"`
	PausedAt     *time.Time `json:"paused_at,omitempty"` // while the sale is paused
	// Category is filled by the web layer from the category tree; nil for
	// an uncategorised lot.
	Category *CategoryRef `json:"category,omitempty"`
	// Watchers is how many people watch the lot: filled by the web layer
	// for the seller and admins only.
	Watchers *int `json:"watchers,omitempty"`
}

// UserRef names a user to those allowed to know who they are.
type UserRef struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// ViewerRel describes the viewer's own relation to the auction.
type ViewerRel struct {
	Seller  bool `json:"seller"`
	Leading bool `json:"leading"`
	// MaxAmount is the viewer's own proxy maximum while they lead.
	MaxAmount int64 `json:"max_amount,omitempty"`
	// Alias is the viewer's alias here, "" until they bid; readers that
	// know it fill it in (View cannot: aliases are not on the auction).
	Alias string `json:"alias,omitempty"`
	// Watching says whether the viewer has the lot on their watchlist
	// (filled by the web layer where it knows).
	Watching bool `json:"watching"`
}

// View returns a as viewer sees it at server time now. A zero viewer is an
// anonymous one.
func View(a Auction, viewer User, now time.Time) AuctionView {
	v := AuctionView{
		ID:               a.ID,
		SellerID:         a.SellerID,
		Title:            a.Title,
		Description:      a.Description,
		Currency:         a.Currency,
		StartPrice:       a.StartPrice,
		Increment:        a.Increment,
		Status:           a.Status,
		CurrentPrice:     a.CurrentPrice,
		MinNextBid:       MinNextBid(a),
		BidCount:         a.BidCount,
		Leader:           a.LeaderAlias,
		ReserveMet:       ReserveMet(a),
		HasReserve:       a.ReservePrice > 0,
		StartsAt:         a.StartsAt.UTC(),
		EndsAt:           a.EndsAt.UTC(),
		SoftCloseSeconds: a.SoftCloseSeconds,
		ServerTime:       now.UTC(),
		Seq:              a.Seq,
		SaleID:           a.SaleID,
		LotNumber:        a.LotNumber,
		LowEstimate:      a.LowEstimate,
		HighEstimate:     a.HighEstimate,
	}
	if !a.PausedAt.IsZero() {
		p := a.PausedAt.UTC()
		v.PausedAt = &p
	}
	if BuyNowAvailable(a) {
		v.BuyNowPrice = a.BuyNowPrice
	}
	fees := a.Terms()
	v.BuyersPremium, v.Tax, v.Shipping = fees.BuyersPremium, fees.Tax, fees.Shipping
	if v.BuyersPremium == nil {
		v.BuyersPremium = []PremiumTier{}
	}
	if v.Shipping == nil {
		v.Shipping = []ShippingOption{}
	}
	shown := a.CurrentPrice
	if a.BidCount == 0 {
		shown = a.StartPrice
	}
	v.Estimate = fees.Estimate(shown)
	v.EstimatedTotal = v.Estimate.Total
	if a.Status == StatusClosed && a.LeaderID != 0 && ReserveMet(a) {
		v.Winner = a.LeaderAlias
	}
	if a.Status == StatusCancelled {
		v.CancelReason = a.CancelReason
	}
	if MayIdentify(a, viewer) {
		v.ReservePrice = a.ReservePrice
		if a.LeaderID != 0 {
			v.LeaderUser = &UserRef{ID: a.LeaderID, Name: a.LeaderName}
		}
	}
	if viewer.ID != 0 {
		rel := &ViewerRel{Seller: viewer.ID == a.SellerID, Leading: viewer.ID == a.LeaderID && a.LeaderID != 0}
		if rel.Leading {
			rel.MaxAmount = a.LeaderMax
		}
		v.You = rel
	}
	return v
}
