package web

import (
	"context"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// SaleService creates and runs catalogue sales and reads them. Every
// change is one committed transaction; the service checks who may make it.
// A nil Deps.Sales leaves the sales routes out.
type SaleService interface {
	CreateSale(ctx context.Context, seller domain.User, in domain.SaleInput) (domain.Sale, error)
	UpdateSale(ctx context.Context, actor domain.User, id int64, in domain.SaleInput) (domain.Sale, error)
	PublishSale(ctx context.Context, actor domain.User, id int64) (domain.Sale, error)
	CancelSale(ctx context.Context, actor domain.User, id int64, reason string) (domain.Sale, error)
	PauseSale(ctx context.Context, admin domain.User, id int64, reason string) (domain.Sale, error)
	ResumeSale(ctx context.Context, admin domain.User, id int64, reason string) (domain.Sale, error)
	// AddLots adds all the lots or none.
	AddLots(ctx context.Context, actor domain.User, saleID int64, in []domain.LotInput) ([]domain.Auction, error)
	UpdateLot(ctx context.Context, actor domain.User, saleID, lotID int64, in domain.LotInput) (domain.Auction, error)

	Sale(ctx context.Context, id int64) (domain.Sale, error)
	Sales(ctx context.Context, f domain.SaleFilter) ([]domain.Sale, error)
	SaleStats(ctx context.Context, ids []int64) (map[int64]domain.SaleStats, error)
	// Lots returns a sale's lots in lot order.
	Lots(ctx context.Context, saleID int64) ([]domain.Auction, error)
	SaleResults(ctx context.Context, saleID int64) ([]domain.LotResult, error)
	// SaleAliases maps the lots a user has bid on to their alias there.
	SaleAliases(ctx context.Context, saleID, userID int64) (map[int64]string, error)
	// SaleBidCount counts the bids on a sale's lots received since a time.
	SaleBidCount(ctx context.Context, saleID int64, since time.Time) (int, error)
}

// csvBodyLimit bounds a lots file: 5,000 lots with descriptions of about
// 1,500 characters each.
const csvBodyLimit = 8 << 20
