package bidding

import (
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// saleRow mirrors migrations/*/00005_sales.sql.
type saleRow struct {
	ID               int64 `gorm:"primaryKey"`
	SellerID         int64
	Title            string
	Description      string
	Terms            string
	Currency         string
	Increment        int64
	Status           string
	OpensAt          *time.Time
	FirstCloseAt     time.Time
	GapSeconds       int
	SoftCloseSeconds int
	SoftCloseMode    string
	Fees             string // JSON of domain.Fees; "" for none (00011)
	PausedAt         *time.Time
	EventSeq         int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (saleRow) TableName() string { return "sales" }

func (r saleRow) toDomain() domain.Sale {
	s := domain.Sale{
		ID: r.ID, SellerID: r.SellerID, Title: r.Title, Description: r.Description, Terms: r.Terms,
		Currency: r.Currency, Increment: r.Increment, Status: domain.SaleStatus(r.Status),
		FirstCloseAt: r.FirstCloseAt.UTC(), GapSeconds: r.GapSeconds, SoftCloseSeconds: r.SoftCloseSeconds,
		SoftCloseMode: domain.SoftCloseMode(r.SoftCloseMode), Fees: domain.DecodeFees(r.Fees), Seq: r.EventSeq,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.OpensAt != nil {
		s.OpensAt = r.OpensAt.UTC()
	}
	if r.PausedAt != nil {
		s.PausedAt = r.PausedAt.UTC()
	}
	return s
}

func saleToRow(s domain.Sale) saleRow {
	r := saleRow{
		ID: s.ID, SellerID: s.SellerID, Title: s.Title, Description: s.Description, Terms: s.Terms,
		Currency: s.Currency, Increment: s.Increment, Status: string(s.Status),
		FirstCloseAt: s.FirstCloseAt.UTC(), GapSeconds: s.GapSeconds, SoftCloseSeconds: s.SoftCloseSeconds,
		SoftCloseMode: string(s.SoftCloseMode), Fees: domain.EncodeFees(s.Fees), EventSeq: s.Seq,
		CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(),
	}
	if !s.OpensAt.IsZero() {
		t := s.OpensAt.UTC()
		r.OpensAt = &t
	}
	if s.Paused() {
		t := s.PausedAt.UTC()
		r.PausedAt = &t
	}
	return r
}

// saleStateColumns are the sale columns its lifecycle changes. event_seq is
// not among them: only writeEvents moves it.
func saleStateColumns(s domain.Sale) map[string]any {
	var paused, opens any
	if s.Paused() {
		paused = s.PausedAt.UTC()
	}
	if !s.OpensAt.IsZero() {
		opens = s.OpensAt.UTC()
	}
	return map[string]any{"status": string(s.Status), "paused_at": paused, "opens_at": opens, "updated_at": s.UpdatedAt.UTC()}
}
