package web

import (
	"context"
	"net"

	"github.com/gavel-auctions/gavel/domain"
)

// Accounts registers and authenticates users.
type Accounts interface {
	Register(ctx context.Context, email, password, name string) (domain.User, error)
	Authenticate(ctx context.Context, email, password string) (domain.User, error)
	UserByID(ctx context.Context, id int64) (domain.User, error)
}

// Bidder changes auctions: every method is one committed transaction.
type Bidder interface {
	CreateAuction(ctx context.Context, seller domain.User, in domain.AuctionInput) (domain.Auction, error)
	UpdateAuction(ctx context.Context, actor domain.User, id int64, in domain.AuctionInput) (domain.Auction, error)
	CancelAuction(ctx context.Context, actor domain.User, id int64, reason string) (domain.Auction, error)
	PlaceBid(ctx context.Context, bidder domain.User, auctionID int64, in domain.BidInput) (domain.Receipt, error)
	SuspendUser(ctx context.Context, admin domain.User, userID int64, reason string) error
	// CancelBid strikes one bid (admins only) and recomputes the auction.
	CancelBid(ctx context.Context, admin domain.User, auctionID, bidID int64, reason string) (domain.Auction, error)
}

// AuctionReader reads auctions, bids and the audit log.
type AuctionReader interface {
	Auction(ctx context.Context, id int64) (domain.Auction, error)
	Auctions(ctx context.Context, f domain.AuctionFilter) ([]domain.Auction, error)
	Bids(ctx context.Context, auctionID int64, limit int) ([]domain.BidView, error)
	Audit(ctx context.Context, limit int) ([]domain.AuditEntry, error)
	Users(ctx context.Context, limit int) ([]domain.User, error)
}

// Streams serves Server-Sent Event streams on connections the web layer has
// taken over from the HTTP server.
type Streams interface {
	// Open admits a stream (connection caps) and returns serve, which takes
	// ownership of the hijacked connection: it writes the HTTP response head
	// and every frame, and closes the connection when the stream ends. If
	// the connection cannot be handed over, call serve(nil) to release the
	// admission. err is a *domain.Error (rate_limited, unavailable).
	Open(spec domain.StreamSpec) (serve func(net.Conn), err error)
}

// Checker reports whether a dependency (database, NATS) answers.
type Checker func(ctx context.Context) error
