package bidding

import (
	"context"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// historyLine scans one line of the history query.
type historyLine struct {
	ID         int64
	BidderID   int64
	Amount     int64
	MaxAmount  int64
	BuyNow     bool
	Raised     bool
	Seq        int64
	Pos        int
	ReceivedAt time.Time
	Alias      string
	Name       string
	Email      string
}

// historyQuery reads the newest lines of an auction's history: its bids
// that count and the automatic bids they caused, each side limited before
// the union so a long history costs only the lines asked for.
const historyQuery = `SELECT h.*, ab.alias, u.name, u.email FROM (
	SELECT * FROM (SELECT b.id, b.bidder_id, b.amount, b.max_amount, b.buy_now, b.raised, b.seq, 0 AS pos, b.received_at
		FROM bids b WHERE b.auction_id = ? AND NOT b.voided ORDER BY b.seq DESC LIMIT ?) AS bl
	UNION ALL
	SELECT * FROM (SELECT b.id, p.bidder_id, p.amount, 0 AS max_amount, FALSE AS buy_now, FALSE AS raised, p.seq, p.pos, b.received_at
		FROM auto_bids p JOIN bids b ON b.auction_id = p.auction_id AND b.seq = p.seq
		WHERE p.auction_id = ? AND NOT b.voided ORDER BY p.seq DESC, p.pos DESC LIMIT ?) AS al
	) AS h
	JOIN auction_bidders ab ON ab.auction_id = ? AND ab.user_id = h.bidder_id
	JOIN users u ON u.id = h.bidder_id
	ORDER BY h.seq DESC, h.pos DESC LIMIT ?`

// Bids returns an auction's bid history, newest first: every bid that
// counts and, after it, the automatic bids it caused, so the history
// explains the price and the leader. Lines carry the bidder's identity in
// fields that are never serialized; domain.HistoryFor decides what a
// viewer sees.
func (s *Service) Bids(ctx context.Context, auctionID int64, limit int) ([]domain.BidView, error) {
	var exists int64
	if err := s.db.WithContext(ctx).Model(&auctionRow{}).Where("id = ?", auctionID).Count(&exists).Error; err != nil {
		return nil, err
	}
	if exists == 0 {
		return nil, domain.ErrAuctionNotFound
	}
	n := clampLimit(limit, 100, 1000)
	var rows []historyLine
	err := s.db.WithContext(ctx).Raw(historyQuery, auctionID, n, auctionID, n, auctionID, n).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]domain.BidView, len(rows))
	for i, r := range rows {
		out[i] = domain.BidView{ID: r.ID, Bidder: r.Alias, Amount: r.Amount, BuyNow: r.BuyNow, Automatic: r.Pos > 0,
			Raise: r.Raised, Seq: r.Seq, Pos: r.Pos, ReceivedAt: r.ReceivedAt.UTC(),
			BidderID: r.BidderID, MaxAmount: r.MaxAmount, BidderName: r.Name, BidderEmail: r.Email}
	}
	return out, nil
}

// AliasOf returns userID's alias in an auction, or "" if they never bid
// there.
func (s *Service) AliasOf(ctx context.Context, auctionID, userID int64) (string, error) {
	var aliases []string
	err := s.db.WithContext(ctx).Model(&bidderRow{}).Where("auction_id = ? AND user_id = ?", auctionID, userID).
		Limit(1).Pluck("alias", &aliases).Error
	if err != nil || len(aliases) == 0 {
		return "", err
	}
	return aliases[0], nil
}

// Bidders returns the people behind an auction's aliases, in the order
// they first bid. Only the seller and admins may see them
// (domain.MayIdentify); callers check.
func (s *Service) Bidders(ctx context.Context, auctionID int64) ([]domain.BidderIdentity, error) {
	var rows []struct {
		Alias  string
		UserID int64
		Name   string
		Email  string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT ab.alias, ab.user_id, u.name, u.email FROM auction_bidders ab
		JOIN users u ON u.id = ab.user_id WHERE ab.auction_id = ? ORDER BY length(ab.alias), ab.alias LIMIT 5000`, auctionID).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]domain.BidderIdentity, len(rows))
	for i, r := range rows {
		out[i] = domain.BidderIdentity{Alias: r.Alias, User: domain.UserRef{ID: r.UserID, Name: r.Name, Email: r.Email}}
	}
	return out, nil
}
