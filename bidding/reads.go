package bidding

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// auctionWithLeader scans a join; the named embedded field matters: GORM
// skips anonymous fields of unexported types.
type auctionWithLeader struct {
	Row          auctionRow `gorm:"embedded"`
	LeaderName   string
	SalePausedAt *time.Time
}

func (r auctionWithLeader) toDomain() domain.Auction {
	a := r.Row.toDomain()
	a.LeaderName = r.LeaderName
	if r.SalePausedAt != nil {
		a.PausedAt = r.SalePausedAt.UTC()
	}
	return a
}

// auctionSelect reads auctions with the leader's name and, for lots, their
// sale's pause.
const auctionSelect = `SELECT a.*, COALESCE(u.name, '') AS leader_name, sl.paused_at AS sale_paused_at
	FROM auctions a LEFT JOIN users u ON u.id = a.leader_id LEFT JOIN sales sl ON sl.id = a.sale_id`

// Auction returns one auction, with the leader's name for privileged views.
func (s *Service) Auction(ctx context.Context, id int64) (domain.Auction, error) {
	var row auctionWithLeader
	if err := s.db.WithContext(ctx).Raw(auctionSelect+" WHERE a.id = ?", id).Scan(&row).Error; err != nil {
		return domain.Auction{}, err
	}
	if row.Row.ID == 0 {
		return domain.Auction{}, domain.ErrAuctionNotFound
	}
	return row.toDomain(), nil
}

// Auctions lists auctions matching f: running ones ending soonest first,
// then the rest newest first.
func (s *Service) Auctions(ctx context.Context, f domain.AuctionFilter) ([]domain.Auction, error) {
	if err := domain.CheckText(strings.TrimSpace(f.Query), domain.SearchText); err != nil {
		return nil, err
	}
	q := strings.Builder{}
	q.WriteString(auctionSelect + " WHERE 1=1")
	var args []any
	if len(f.Status) > 0 {
		st := make([]string, len(f.Status))
		for i, v := range f.Status {
			st[i] = string(v)
		}
		q.WriteString(" AND a.status IN ?")
		args = append(args, st)
	} else {
		// The lots of a draft sale are its seller's work in progress:
		// they are listed only through the sale (Lots).
		q.WriteString(" AND a.status <> 'draft'")
	}
	if f.SellerID != 0 {
		q.WriteString(" AND a.seller_id = ?")
		args = append(args, f.SellerID)
	}
	if len(f.IDs) > 0 {
		q.WriteString(" AND a.id IN ?")
		args = append(args, f.IDs)
	}
	if f.BidderID != 0 {
		q.WriteString(" AND EXISTS (SELECT 1 FROM auction_bidders ab WHERE ab.auction_id = a.id AND ab.user_id = ?)")
		args = append(args, f.BidderID)
	}
	if f.SaleID != 0 {
		q.WriteString(" AND a.sale_id = ?")
		args = append(args, f.SaleID)
	}
	if f.NoLots {
		q.WriteString(" AND a.sale_id IS NULL")
	}
	if t := strings.TrimSpace(f.Query); t != "" {
		q.WriteString(" AND lower(a.title) LIKE ? ESCAPE '\\'")
		args = append(args, "%"+escapeLike(strings.ToLower(t))+"%")
	}
	q.WriteString(` ORDER BY CASE WHEN a.status IN ('open', 'scheduled') THEN 0 ELSE 1 END,
		CASE WHEN a.status IN ('open', 'scheduled') THEN a.ends_at END ASC, a.id DESC LIMIT ?`)
	args = append(args, clampLimit(f.Limit, 50, 500))
	var rows []auctionWithLeader
	if err := s.db.WithContext(ctx).Raw(q.String(), args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.Auction, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Audit returns the newest entries of the audit log.
func (s *Service) Audit(ctx context.Context, limit int) ([]domain.AuditEntry, error) {
	var rows []struct {
		Entry     auditRow `gorm:"embedded"`
		ActorName string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT l.*, u.name AS actor_name FROM audit_log l JOIN users u ON u.id = l.actor_id
		ORDER BY l.id DESC LIMIT ?`, clampLimit(limit, 100, 1000)).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]domain.AuditEntry, len(rows))
	for i, r := range rows {
		e := r.Entry
		out[i] = domain.AuditEntry{ID: e.ID, ActorID: e.ActorID, Actor: r.ActorName, Action: e.Action,
			TargetID: e.TargetID, Reason: e.Reason, CreatedAt: e.CreatedAt.UTC()}
	}
	return out, nil
}

// Snapshots returns the current state of each auction as a snapshot event;
// realtime nodes send these on connect. Unknown ids are omitted.
func (s *Service) Snapshots(ctx context.Context, ids []int64) ([]domain.Event, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []auctionWithLeader
	if err := s.db.WithContext(ctx).Raw(auctionSelect+" WHERE a.id IN ? AND a.status <> 'draft' ORDER BY a.id", ids).Scan(&rows).Error; err != nil {
		return nil, err
	}
	return snapshots(rows), nil
}

// Running returns snapshots of every scheduled or open auction.
func (s *Service) Running(ctx context.Context) ([]domain.Event, error) {
	var rows []auctionWithLeader
	// In end-floor order, which the index of running lots holds: by end,
	// but for lots a cascade moved and the scheduler has not folded yet.
	err := s.db.WithContext(ctx).Raw(auctionSelect+" WHERE a.status IN ? ORDER BY a.ends_floor, a.id LIMIT 5000",
		[]string{"open", "scheduled"}).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	return snapshots(rows), nil
}

func snapshots(rows []auctionWithLeader) []domain.Event {
	out := make([]domain.Event, len(rows))
	for i, r := range rows {
		a := r.toDomain()
		out[i] = domain.StateEvent(domain.EventSnapshot, a, a.UpdatedAt)
	}
	return out
}

// After returns up to limit events of ch with seq > after, in order: the
// replay a reconnecting watcher needs. Published events are kept for the
// retention period; a first seq above after+1 tells the caller the rest
// was trimmed.
//
// A sale's log holds its lots' events and its own, by sale position. An
// auction's log is its rows and its events in packs (eventpack.go).
func (s *Service) After(ctx context.Context, ch domain.Channel, after int64, limit int) ([]domain.Event, error) {
	limit = clampLimit(limit, 1000, 10000)
	if ch.Kind == domain.ChannelAuction {
		return s.afterAuction(ctx, ch.ID, after, limit)
	}
	var payloads []string
	q := s.db.WithContext(ctx).Model(&eventRow{})
	if ch.Kind == domain.ChannelSale {
		q = q.Where("sale_id = ? AND sale_seq > ?", ch.ID, after).Order("sale_seq")
	} else {
		q = q.Where("channel_kind = ? AND channel_id = ? AND seq > ?", string(ch.Kind), ch.ID, after).Order("seq")
	}
	if err := q.Limit(limit).Pluck("payload", &payloads).Error; err != nil {
		return nil, err
	}
	out := make([]domain.Event, 0, len(payloads))
	for _, p := range payloads {
		var e domain.Event
		if err := json.Unmarshal([]byte(p), &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Head returns the newest position of a channel's log.
func (s *Service) Head(ctx context.Context, ch domain.Channel) (int64, error) {
	var seq int64
	var err error
	switch ch.Kind {
	case domain.ChannelAuction:
		err = s.db.WithContext(ctx).Raw("SELECT seq FROM auctions WHERE id = ?", ch.ID).Scan(&seq).Error
	case domain.ChannelUser:
		err = s.db.WithContext(ctx).Raw("SELECT event_seq FROM users WHERE id = ?", ch.ID).Scan(&seq).Error
	case domain.ChannelSale:
		err = s.db.WithContext(ctx).Raw("SELECT event_seq FROM sales WHERE id = ?", ch.ID).Scan(&seq).Error
	}
	return seq, err
}
