package domain

import "time"

// Status is an auction's lifecycle state: scheduled → open → closed |
// cancelled. A lot of a sale that is not published yet is a draft.
type Status string

// The auction states.
const (
	StatusDraft     Status = "draft"
	StatusScheduled Status = "scheduled"
	StatusOpen      Status = "open"
	StatusClosed    Status = "closed"
	StatusCancelled Status = "cancelled"
)

// Defaults for auction timing.
const (
	DefaultSoftCloseSeconds = 120
	DefaultMaxExtension     = time.Hour
)

// Auction is the full state of one auction, including the hidden parts
// (reserve, the leader's maximum) that only the rules and the store see.
// Money fields are minor units of Currency.
type Auction struct {
	ID          int64
	SellerID    int64
	Title       string
	Description string
	Currency    string
	CategoryID  int64 // 0: uncategorised

	StartPrice   int64
	ReservePrice int64 // 0: no reserve
	BuyNowPrice  int64 // 0: no buy-it-now
	Increment    int64 // 0: the default price-banded table

	StartsAt         time.Time
	EndsAt           time.Time // moves with soft close
	OriginalEndsAt   time.Time
	SoftCloseSeconds int           // 0: hard close
	MaxExtension     time.Duration // cap on EndsAt - OriginalEndsAt

	Status       Status
	CurrentPrice int64 // 0 until the first bid
	BidCount     int
	LeaderID     int64 // 0: no bids
	LeaderMax    int64 // hidden proxy maximum of the leader
	LeaderAlias  string
	// LeaderName is the leader's display name, filled by readers for the
	// seller's and admins' eyes only; it is never stored on the auction.
	LeaderName  string
	BidderCount int // distinct bidders; the next new bidder is "Bidder BidderCount+1"
	Seq         int64
	// CancelReason is what watchers were told when it was cancelled.
	CancelReason string

	// Fees are the buyer's premium, tax and shipping options the lot is
	// sold under: a copy taken at listing, fixed once bidding starts; nil
	// for none. It is shared between copies of the auction and never
	// changed in place, which keeps Auction comparable.
	Fees *Fees

	// A lot of a sale has the sale's id, its lot number (unique in the
	// sale, and its order) and the house's estimates; 0 for a single
	// listing.
	SaleID       int64
	LotNumber    int
	LowEstimate  int64
	HighEstimate int64
	// PausedAt is when the lot's sale was paused, zero while it runs. It
	// is the sale's state, filled by readers; never stored on the auction.
	PausedAt time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Terms returns the fees a is sold under (zero when it has none).
func (a Auction) Terms() Fees {
	if a.Fees == nil {
		return Fees{}
	}
	return *a.Fees
}

// Unclosed reports whether a can still change by bids or by its sale's
// schedule: a draft, scheduled or open auction.
func (a Auction) Unclosed() bool {
	return a.Status == StatusDraft || a.Status == StatusScheduled || a.Status == StatusOpen
}

// AuctionInput is what a seller supplies to create or edit an auction.
// Pointers mark optional fields.
type AuctionInput struct {
	Title            string
	Description      string
	Currency         string
	StartPrice       int64
	ReservePrice     int64
	BuyNowPrice      int64
	Increment        int64
	StartsAt         *time.Time // nil: now
	EndsAt           time.Time
	SoftCloseSeconds *int // nil: DefaultSoftCloseSeconds
	// Fees nil: the seller's defaults on create, unchanged on edit.
	Fees *Fees
	// CategoryID is the lot's category: nil keeps the current one on an
	// edit (none on a new listing), 0 clears it.
	CategoryID *int64
}

// AuctionFilter selects auctions for listings.
type AuctionFilter struct {
	Status   []Status // empty: any
	SellerID int64    // 0: any
	BidderID int64    // 0: any; else auctions this user has bid on
	Query    string   // case-insensitive substring of the title
	IDs      []int64  // empty: any; else only these auctions
	Limit    int      // 0: a sensible default
	SaleID   int64    // 0: any; else the lots of this sale
	NoLots   bool     // leave out the lots of sales (single listings only)
}

// Bid is one accepted bid.
type Bid struct {
	ID        int64
	AuctionID int64
	BidderID  int64
	Alias     string
	Amount    int64 // what the bidder entered
	MaxAmount int64 // hidden proxy maximum (== Amount when none was given)
	BuyNow    bool
	// Raise marks a leader raising their own maximum: it is no public line
	// of the history, and Amount is the price at the time, not what was
	// entered.
	Raise      bool
	Seq        int64 // the auction seq of the price (or closed) event this bid caused
	ReceivedAt time.Time
}

// AutoBid is a bid the engine placed from a bidder's hidden maximum; the
// history shows it marked "automatic", so that the history always
// explains the price and the leader.
type AutoBid struct {
	BidderID int64  `json:"-"`
	Bidder   string `json:"bidder"` // alias
	Amount   int64  `json:"amount"`
}

// BidInput is a bid as a bidder submits it.
type BidInput struct {
	Amount         int64
	MaxAmount      int64 // 0: no proxy maximum
	BuyNow         bool  // Amount is ignored; the buy-it-now price applies
	IdempotencyKey string
}

// Receipt is returned to a bidder once their bid is durably committed.
type Receipt struct {
	BidID        int64     `json:"bid_id"`
	AuctionID    int64     `json:"auction_id"`
	Amount       int64     `json:"amount"`
	MaxAmount    int64     `json:"max_amount"`
	Currency     string    `json:"currency"`
	Seq          int64     `json:"seq"`
	ReceivedAt   time.Time `json:"received_at"`
	Leading      bool      `json:"leading"`
	CurrentPrice int64     `json:"current_price"`
	MinNextBid   int64     `json:"min_next_bid"`
	EndsAt       time.Time `json:"ends_at"`
	Status       Status    `json:"status"`
	// EstimatedTotal is what the bidder would pay at Amount with the
	// buyer's premium and tax (Estimate details it), before shipping.
	EstimatedTotal int64        `json:"estimated_total"`
	Estimate       *FeeEstimate `json:"estimate,omitempty"`
}

// BidView is one line of an auction's bid history, newest first: a bid, or
// an automatic bid the engine placed from a hidden maximum (Automatic,
// with the id and seq of the bid that caused it and Pos 1, 2, …). Readers
// fill the identity fields tagged "-"; HistoryFor decides what a viewer
// sees, so an unfiltered line never shows more than an alias.
type BidView struct {
	ID        int64  `json:"id"`
	Bidder    string `json:"bidder"`
	Amount    int64  `json:"amount"`
	BuyNow    bool   `json:"buy_now,omitempty"`
	Automatic bool   `json:"automatic,omitempty"`
	// Raise marks a leader raising their own maximum, shown only to them
	// and to admins, with Amount the new maximum.
	Raise      bool      `json:"raise,omitempty"`
	Seq        int64     `json:"seq"`
	Pos        int       `json:"pos,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	// You marks the viewer's own lines.
	You bool `json:"you,omitempty"`
	// User is the person behind the alias: for the seller and admins only.
	User *UserRef `json:"bidder_user,omitempty"`

	BidderID    int64  `json:"-"`
	MaxAmount   int64  `json:"-"` // a raise's new maximum
	BidderName  string `json:"-"`
	BidderEmail string `json:"-"`
}

// BidderIdentity is the person behind an alias in one auction, for the
// seller's and admins' eyes.
type BidderIdentity struct {
	Alias string  `json:"alias"`
	User  UserRef `json:"user"`
}

// MayIdentify reports whether viewer may see who is behind the aliases of
// a: its seller and admins may.
func MayIdentify(a Auction, viewer User) bool {
	return viewer.ID != 0 && (viewer.Admin || viewer.ID == a.SellerID)
}

// HistoryFor returns the history lines of a that viewer may see: a
// leader's raise only to that bidder and admins, the person behind every
// alias only to the seller and admins, and the viewer's own lines marked.
func HistoryFor(lines []BidView, a Auction, viewer User) []BidView {
	identify := MayIdentify(a, viewer)
	out := make([]BidView, 0, len(lines))
	for _, l := range lines {
		mine := viewer.ID != 0 && l.BidderID == viewer.ID
		if l.Raise {
			if !mine && !(viewer.ID != 0 && viewer.Admin) {
				continue
			}
			l.Amount = l.MaxAmount
		}
		l.You = mine
		l.User = nil
		if identify && l.BidderID != 0 {
			l.User = &UserRef{ID: l.BidderID, Name: l.BidderName, Email: l.BidderEmail}
		}
		out = append(out, l)
	}
	return out
}
