package bidding

import (
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// Row structs mirror migrations/*/00001_init.sql. They stay in this package
// so that domain carries no storage tags.

type userRow struct {
	ID              int64 `gorm:"primaryKey"`
	Email           string
	Name            string
	PasswordHash    string
	Admin           bool
	Suspended       bool
	EventSeq        int64
	EmailVerifiedAt *time.Time // 00008
	TimeZone        string     // 00008
	AuthVersion     int64      // 00008
	CreatedAt       time.Time
}

func (userRow) TableName() string { return "users" }

func (r userRow) toDomain() domain.User {
	return domain.User{ID: r.ID, Email: r.Email, Name: r.Name, Admin: r.Admin, Suspended: r.Suspended,
		EmailVerified: r.EmailVerifiedAt != nil, TimeZone: r.TimeZone, AuthVersion: r.AuthVersion, CreatedAt: r.CreatedAt.UTC()}
}

type auctionRow struct {
	ID           int64 `gorm:"primaryKey"`
	SellerID     int64
	Title        string
	Description  string
	Currency     string
	CategoryID   *int64
	StartPrice   int64
	ReservePrice int64
	BuyNowPrice  int64
	Increment    int64
	StartsAt     time.Time
	EndsAt       time.Time
	// EndsFloor is the lower bound of EndsAt that the end-order indexes
	// use (00016): EndsAt after every write but a cascade's move.
	EndsFloor           time.Time
	OriginalEndsAt      time.Time
	SoftCloseSeconds    int
	MaxExtensionSeconds int
	Status              string
	CurrentPrice        int64
	BidCount            int
	LeaderID            *int64
	LeaderMax           int64
	LeaderAlias         string
	BidderCount         int
	Seq                 int64
	Fees                string
	SaleID              *int64
	LotNumber           *int
	LowEstimate         int64
	HighEstimate        int64
	CancelReason        string // 00004
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

func (auctionRow) TableName() string { return "auctions" }

func (r auctionRow) toDomain() domain.Auction {
	a := domain.Auction{
		ID: r.ID, SellerID: r.SellerID, Title: r.Title, Description: r.Description, Currency: r.Currency,
		StartPrice: r.StartPrice, ReservePrice: r.ReservePrice, BuyNowPrice: r.BuyNowPrice, Increment: r.Increment,
		StartsAt: r.StartsAt.UTC(), EndsAt: r.EndsAt.UTC(), OriginalEndsAt: r.OriginalEndsAt.UTC(),
		SoftCloseSeconds: r.SoftCloseSeconds, MaxExtension: time.Duration(r.MaxExtensionSeconds) * time.Second,
		Status: domain.Status(r.Status), CurrentPrice: r.CurrentPrice, BidCount: r.BidCount,
		LeaderMax: r.LeaderMax, LeaderAlias: r.LeaderAlias, BidderCount: r.BidderCount, Seq: r.Seq,
		CancelReason: r.CancelReason, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.LeaderID != nil {
		a.LeaderID = *r.LeaderID
	}
	a.Fees = domain.DecodeFees(r.Fees)
	if r.SaleID != nil {
		a.SaleID = *r.SaleID
	}
	if r.LotNumber != nil {
		a.LotNumber = *r.LotNumber
	}
	a.LowEstimate, a.HighEstimate = r.LowEstimate, r.HighEstimate
	if r.CategoryID != nil {
		a.CategoryID = *r.CategoryID
	}
	return a
}

func auctionToRow(a domain.Auction) auctionRow {
	r := auctionRow{
		ID: a.ID, SellerID: a.SellerID, Title: a.Title, Description: a.Description, Currency: a.Currency,
		StartPrice: a.StartPrice, ReservePrice: a.ReservePrice, BuyNowPrice: a.BuyNowPrice, Increment: a.Increment,
		StartsAt: a.StartsAt.UTC(), EndsAt: a.EndsAt.UTC(), EndsFloor: a.EndsAt.UTC(), OriginalEndsAt: a.OriginalEndsAt.UTC(),
		SoftCloseSeconds: a.SoftCloseSeconds, MaxExtensionSeconds: int(a.MaxExtension / time.Second),
		Status: string(a.Status), CurrentPrice: a.CurrentPrice, BidCount: a.BidCount,
		LeaderMax: a.LeaderMax, LeaderAlias: a.LeaderAlias, BidderCount: a.BidderCount, Seq: a.Seq,
		CancelReason: a.CancelReason, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(),
	}
	if a.LeaderID != 0 {
		id := a.LeaderID
		r.LeaderID = &id
	}
	r.Fees = domain.EncodeFees(a.Fees)
	if a.SaleID != 0 {
		id, n := a.SaleID, a.LotNumber
		r.SaleID, r.LotNumber = &id, &n
	}
	r.LowEstimate, r.HighEstimate = a.LowEstimate, a.HighEstimate
	if a.CategoryID != 0 {
		id := a.CategoryID
		r.CategoryID = &id
	}
	return r
}

// stateColumns are the auction columns a bid, close or cancel may change.
// The end floor follows the end, except for a lot only a cascade moved
// (moved): its floor stays, so that on PostgreSQL the move changes no
// indexed column and is a HOT update (migration 00016, docs/SALES.md).
func stateColumns(a domain.Auction, moved bool) map[string]any {
	var leader any
	if a.LeaderID != 0 {
		leader = a.LeaderID
	}
	cols := map[string]any{
		"status": string(a.Status), "current_price": a.CurrentPrice, "bid_count": a.BidCount,
		"leader_id": leader, "leader_max": a.LeaderMax, "leader_alias": a.LeaderAlias,
		"bidder_count": a.BidderCount, "seq": a.Seq, "ends_at": a.EndsAt.UTC(), "updated_at": a.UpdatedAt.UTC(),
		"cancel_reason": a.CancelReason,
	}
	if !moved {
		cols["ends_floor"] = a.EndsAt.UTC()
	}
	return cols
}

type bidRow struct {
	ID         int64 `gorm:"primaryKey"`
	AuctionID  int64
	BidderID   int64
	Amount     int64
	MaxAmount  int64
	BuyNow     bool
	Raised     bool // 00004: a leader's raise of their own maximum
	Seq        int64
	ReceivedAt time.Time
	Voided     bool
}

func (bidRow) TableName() string { return "bids" }

// autoBidRow is an automatic bid the engine placed in answer to the bid at
// (AuctionID, Seq); Pos orders them after it (00004).
type autoBidRow struct {
	AuctionID int64 `gorm:"primaryKey;autoIncrement:false"`
	Seq       int64 `gorm:"primaryKey;autoIncrement:false"`
	Pos       int   `gorm:"primaryKey;autoIncrement:false"`
	BidderID  int64
	Amount    int64
}

func (autoBidRow) TableName() string { return "auto_bids" }

// autoBidRows turns the automatic bids one bid caused into rows.
func autoBidRows(auctionID, seq int64, auto []domain.AutoBid) []autoBidRow {
	out := make([]autoBidRow, len(auto))
	for i, ab := range auto {
		out[i] = autoBidRow{AuctionID: auctionID, Seq: seq, Pos: i + 1, BidderID: ab.BidderID, Amount: ab.Amount}
	}
	return out
}

// bidWithAlias scans bids joined with auction_bidders.
type bidWithAlias struct {
	Bid   bidRow `gorm:"embedded"`
	Alias string
}

type bidderRow struct {
	AuctionID int64 `gorm:"primaryKey;autoIncrement:false"`
	UserID    int64 `gorm:"primaryKey;autoIncrement:false"`
	Alias     string
}

func (bidderRow) TableName() string { return "auction_bidders" }

type eventRow struct {
	ID          int64 `gorm:"primaryKey"`
	ChannelKind string
	ChannelID   int64
	Seq         int64
	EventID     string
	Type        string
	Subject     string
	Payload     string
	CreatedAt   time.Time
	PublishedAt *time.Time
	// The event's place in its sale's log; NULL outside any.
	SaleID  *int64
	SaleSeq *int64
}

func (eventRow) TableName() string { return "events" }

type idempotencyRow struct {
	UserID    int64  `gorm:"primaryKey;autoIncrement:false"`
	Key       string `gorm:"primaryKey;autoIncrement:false"`
	AuctionID int64
	Receipt   string
	CreatedAt time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

type auditRow struct {
	ID        int64 `gorm:"primaryKey"`
	ActorID   int64
	Action    string
	TargetID  int64
	Reason    string
	CreatedAt time.Time
}

func (auditRow) TableName() string { return "audit_log" }
