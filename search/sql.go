package search

import (
	"context"
	"strings"
	"time"

	"github.com/gavel-auctions/gavel/domain"
)

// resultRow is one auction as the search reads it.
type resultRow struct {
	ID                  int64
	SellerID            int64
	Title               string
	Description         string
	Currency            string
	CategoryID          *int64
	StartPrice          int64
	ReservePrice        int64
	BuyNowPrice         int64
	Increment           int64
	StartsAt            time.Time
	EndsAt              time.Time
	EndsFloor           time.Time // the end-order key: a lower bound of EndsAt (bidding's migration 00016)
	OriginalEndsAt      time.Time
	SoftCloseSeconds    int
	MaxExtensionSeconds int
	Status              string
	CurrentPrice        int64
	BidCount            int
	LeaderID            *int64
	LeaderMax           int64
	LeaderAlias         string
	LeaderName          string
	BidderCount         int
	Seq                 int64
	CreatedAt           time.Time
	UpdatedAt           time.Time
	Rank                float64
}

func (r resultRow) shownPrice() int64 { return max(r.CurrentPrice, r.StartPrice) }

func (r resultRow) toDomain() domain.Auction {
	a := domain.Auction{
		ID: r.ID, SellerID: r.SellerID, Title: r.Title, Description: r.Description, Currency: r.Currency,
		StartPrice: r.StartPrice, ReservePrice: r.ReservePrice, BuyNowPrice: r.BuyNowPrice, Increment: r.Increment,
		StartsAt: r.StartsAt.UTC(), EndsAt: r.EndsAt.UTC(), OriginalEndsAt: r.OriginalEndsAt.UTC(),
		SoftCloseSeconds: r.SoftCloseSeconds, MaxExtension: time.Duration(r.MaxExtensionSeconds) * time.Second,
		Status: domain.Status(r.Status), CurrentPrice: r.CurrentPrice, BidCount: r.BidCount,
		LeaderMax: r.LeaderMax, LeaderAlias: r.LeaderAlias, LeaderName: r.LeaderName, BidderCount: r.BidderCount,
		Seq: r.Seq, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.LeaderID != nil {
		a.LeaderID = *r.LeaderID
	}
	if r.CategoryID != nil {
		a.CategoryID = *r.CategoryID
	}
	return a
}

const resultColumns = `a.id, a.seller_id, a.title, a.description, a.currency, a.category_id, a.start_price,
	a.reserve_price, a.buy_now_price, a.increment, a.starts_at, a.ends_at, a.ends_floor, a.original_ends_at, a.soft_close_seconds,
	a.max_extension_seconds, a.status, a.current_price, a.bid_count, a.leader_id, a.leader_max, a.leader_alias,
	COALESCE(u.name, '') AS leader_name, a.bidder_count, a.seq, a.created_at, a.updated_at`

// statusList renders statuses as SQL literals. They come from the fixed
// set plan checked, and literals (unlike parameters) let PostgreSQL match
// the partial index on running lots.
func statusList(sts []domain.Status) string {
	parts := make([]string, len(sts))
	for i, st := range sts {
		parts[i] = "'" + string(st) + "'"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// query builds one phase of a search.
type query struct {
	where []string
	args  []any
}

func (q *query) add(cond string, args ...any) {
	q.where = append(q.where, cond)
	q.args = append(q.args, args...)
}

// fetch runs one phase of p and returns up to n rows in sort order,
// starting after p.start when the cursor is of this phase.
func (s *Service) fetch(ctx context.Context, p *plan, phase uint8, n int) ([]resultRow, error) {
	price := "GREATEST(a.current_price, a.start_price)"
	if !s.pg {
		price = "MAX(a.current_price, a.start_price)"
	}
	statuses := append(append([]domain.Status{}, p.live...), p.ended...)
	if p.sort == SortEnding {
		statuses = p.live
		if phase == 1 {
			statuses = p.ended
		}
	}
	// f holds the filters on the auction row other than its status.
	var f query
	if len(p.CategoryIDs) > 0 && !s.perCategory(p, statuses) {
		f.add("a.category_id IN ?", p.CategoryIDs)
	}
	if p.Currency != "" {
		f.add("a.currency = ?", p.Currency)
	}
	if p.MinPrice != nil {
		f.add(price+" >= ?", *p.MinPrice)
	}
	if p.MaxPrice != nil {
		f.add(price+" <= ?", *p.MaxPrice)
		if s.pg {
			// Implied (the shown price is at least the start price), and
			// checked inside auctions_live_buy_now_floor, before the row is read.
			f.add("a.start_price <= ?", *p.MaxPrice)
		}
	}
	if p.EndingWithin > 0 {
		// The floor (never after the end) bounds the index range; the end
		// itself decides.
		until := p.now.Add(p.EndingWithin)
		f.add("a.ends_floor <= ? AND a.ends_at <= ?", until, until)
	}
	if p.BuyNow {
		f.add("a.buy_now_price > 0 AND a.bid_count = 0")
	}
	if p.SaleID != 0 {
		f.add("a.sale_id = ?", p.SaleID)
	}

	var key, order string
	desc := true
	switch p.sort {
	case SortEnding:
		// By the end floor, which the indexes hold: the end itself, but
		// for a lot a cascade moved since it was last written, which sorts
		// by its earlier end until the scheduler folds the move in
		// (docs/SEARCH.md, "Ending soonest").
		key, desc = "a.ends_floor", phase == 1
	case SortNewest:
		key = ""
	case SortPriceLow:
		key, desc = price, false
	case SortPriceHigh:
		key = price
	case SortBids:
		key = "a.bid_count"
	case SortRelevance:
		key = "rank"
	}
	dir, cmp := "", ">"
	if desc {
		dir, cmp = " DESC", "<"
	}
	if key == "" {
		order = "a.id" + dir
	} else {
		order = key + dir + ", a.id" + dir
	}
	keyset, keyArgs := p.keyset(phase, key, cmp, s.pg)

	if s.perCategory(p, statuses) {
		f.add("a.status IN " + statusList(statuses))
		return s.fetchPerCategory(ctx, p, f, order, keyset, keyArgs, n)
	}
	if s.pg && !p.text.empty() {
		if p.sort == SortEnding && phase == 0 && p.text.compound() {
			rows, err := s.fetchWalk(ctx, p, f, statuses, keyset, keyArgs, n)
			if err != nil || len(rows) == n {
				return rows, err
			}
		}
		if p.sort == SortRelevance {
			return s.fetchRanked(ctx, p, f, statuses, keyset, keyArgs, n)
		}
	}

	var q query
	from := "auctions a"
	rank := "0"
	var rankArgs []any // the rank's parameters come first: it is in the select list
	if !p.text.empty() {
		if s.pg {
			// to_tsquery(regconfig, text) is immutable: with constant
			// arguments the planner folds it to a constant tsquery and
			// estimates how many documents match from the column's
			// statistics. (A tsquery computed in FROM would hide that and
			// give a blind plan.)
			from = "auction_search s JOIN auctions a ON a.id = s.auction_id"
			tsq := p.text.tsquery()
			q.add("s.document @@ to_tsquery('gavel', ?)", tsq)
			rank = "ts_rank(s.document, to_tsquery('gavel', ?))"
			rankArgs = []any{tsq}
		} else {
			from = "auction_fts JOIN auctions a ON a.id = auction_fts.rowid"
			q.add("auction_fts MATCH ?", p.text.fts5())
			// bm25 is lower for better matches; negated so that higher
			// is better on both databases. Title words weigh 10×.
			rank = "-bm25(auction_fts, 10.0, 1.0)"
		}
	}
	q.add("a.status IN " + statusList(statuses))
	q.where = append(q.where, f.where...)
	q.args = append(q.args, f.args...)

	var b strings.Builder
	wrapped := key == "rank"
	if wrapped {
		// The rank is a select-list expression: page on it from outside.
		b.WriteString("SELECT * FROM (")
	}
	b.WriteString("SELECT " + resultColumns + ", " + rank + " AS rank FROM " + from +
		" LEFT JOIN users u ON u.id = a.leader_id WHERE " + strings.Join(q.where, " AND "))
	args := append(rankArgs, q.args...)
	if wrapped {
		b.WriteString(") r")
		order = strings.ReplaceAll(order, "a.", "r.")
		if keyset != "" {
			b.WriteString(" WHERE " + strings.ReplaceAll(keyset, "a.", "r."))
		}
	} else if keyset != "" {
		b.WriteString(" AND " + keyset)
	}
	args = append(args, keyArgs...)
	b.WriteString(" ORDER BY " + order + " LIMIT ?")
	args = append(args, n)

	var rows []resultRow
	if err := s.db.WithContext(ctx).Raw(b.String(), args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	return rows, nil
}

// keyset is the condition that starts a page after p.start, "" on a first
// page (or the first page of a phase).
func (p *plan) keyset(phase uint8, key, cmp string, pg bool) (string, []any) {
	c := p.start
	if c.id == 0 || c.phase != phase {
		return "", nil
	}
	switch p.sort {
	case SortNewest:
		return "a.id " + cmp + " ?", []any{c.id}
	case SortEnding:
		return "(" + key + ", a.id) " + cmp + " (?, ?)", []any{c.t, c.id}
	case SortRelevance:
		if pg {
			// ts_rank returns real: compare with a real, or the value
			// read back would not equal itself.
			return "(rank, a.id) " + cmp + " (CAST(? AS real), ?)", []any{c.f, c.id}
		}
		return "(rank, a.id) " + cmp + " (?, ?)", []any{c.f, c.id}
	}
	return "(" + key + ", a.id) " + cmp + " (?, ?)", []any{c.n, c.id}
}
