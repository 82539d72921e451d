package media

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/gavel-auctions/gavel/domain"
)

// photoRow mirrors the auction_photos table (migrations 00006).
type photoRow struct {
	ID         int64 `gorm:"primaryKey"`
	AuctionID  int64
	Ordinal    int
	Thumb      string
	Medium     string
	Large      string
	Width      int
	Height     int
	UploadedBy int64
	CreatedAt  time.Time
}

func (photoRow) TableName() string { return "auction_photos" }

func (r photoRow) toDomain() domain.Photo {
	return domain.Photo{
		ID: r.ID, AuctionID: r.AuctionID, Ordinal: r.Ordinal,
		Thumb: r.Thumb, Medium: r.Medium, Large: r.Large,
		Width: r.Width, Height: r.Height, CreatedAt: r.CreatedAt.UTC(),
	}
}

// auctionState is the part of an auction the photo rules read.
type auctionState struct {
	SellerID int64
	Status   string
	BidCount int
}

func (s auctionState) toDomain() domain.Auction {
	return domain.Auction{SellerID: s.SellerID, Status: domain.Status(s.Status), BidCount: s.BidCount}
}

// lockAuction reads an auction's seller, status and bid count and locks
// its row until tx ends. The bidding service writes the row when it
// accepts a bid, so a photo change and a first bid serialize: a delete
// never slips in after the bid that should have stopped it, and two
// uploads cannot both take the twelfth place. SQLite transactions are
// already serialized (BEGIN IMMEDIATE).
func (s *Service) lockAuction(tx *gorm.DB, id int64) (domain.Auction, error) {
	q := tx.Table("auctions").Select("seller_id, status, bid_count").Where("id = ?", id)
	if s.pg {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var st auctionState
	if err := q.Take(&st).Error; err != nil {
		return domain.Auction{}, notFound(err, domain.ErrAuctionNotFound)
	}
	return st.toDomain(), nil
}

// photoState reads an auction's rule state and photo count without locks,
// for an early refusal.
func (s *Service) photoState(ctx context.Context, id int64) (domain.Auction, int, error) {
	db := s.db.WithContext(ctx)
	var st auctionState
	if err := db.Table("auctions").Select("seller_id, status, bid_count").Where("id = ?", id).Take(&st).Error; err != nil {
		return domain.Auction{}, 0, notFound(err, domain.ErrAuctionNotFound)
	}
	var n int64
	if err := db.Model(&photoRow{}).Where("auction_id = ?", id).Count(&n).Error; err != nil {
		return domain.Auction{}, 0, err
	}
	return st.toDomain(), int(n), nil
}

func listPhotos(db *gorm.DB, auctionID int64) ([]photoRow, error) {
	var rows []photoRow
	err := db.Where("auction_id = ?", auctionID).Order("ordinal, id").Find(&rows).Error
	return rows, err
}

// notFound turns GORM's missing-row error into sentinel.
func notFound(err error, sentinel *domain.Error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return sentinel
	}
	return err
}

// unreferenced returns the names among names that no photo row uses.
func (s *Service) unreferenced(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var rows []photoRow
	err := s.db.WithContext(ctx).Select("thumb, medium, large").
		Where("thumb IN ? OR medium IN ? OR large IN ?", names, names, names).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, r := range rows {
		used[r.Thumb], used[r.Medium], used[r.Large] = true, true, true
	}
	var out []string
	for _, n := range names {
		if !used[n] {
			out = append(out, n)
		}
	}
	return out, nil
}
