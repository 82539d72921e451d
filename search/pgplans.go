package search

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
)

// PostgreSQL plans for the shapes whose general query is slow with a
// million lots (docs/BENCHMARKS.md, "Search (#15)"): each reads a bounded
// number of rows whatever the catalogue's size.

// Bounds of the bounded plans.
const (
	// walkRows is how many running lots, in end order, the walk of a
	// several-word search considers before it gives up and lets the
	// planner read every match (fetchWalk).
	walkRows = 8000
	// rankCandidates is how many matching lots a best-match sort ranks
	// (fetchRanked).
	rankCandidates = 1000
)

// compound says whether q has a phrase or several words in one clause:
// PostgreSQL estimates such a match as if its words were independent,
// which the words of a phrase, or of a typical search, are not. It
// expected 1,085 lots for "tin toy" where 21,623 matched, and read every
// match and its auction instead of walking the lots in end order.
func (q textQuery) compound() bool {
	for _, c := range q.clauses {
		if len(c.pos) > 1 {
			return true
		}
		for _, t := range c.pos {
			if t.phrase {
				return true
			}
		}
	}
	return false
}

// fetchWalk runs a search sorted by end over the next walkRows running
// lots in end order (an index-only range of auctions_live_floor), checking
// each lot's document in turn and stopping at the n-th match, so its cost
// depends on how common the match is, never on the catalogue's size. It
// returns fewer than n rows when the window held fewer matches; the
// caller then runs the general query, whose matches are then known to be
// sparse (fewer than n in walkRows lots).
func (s *Service) fetchWalk(ctx context.Context, p *plan, f query, statuses []domain.Status, keyset string, keyArgs []any, n int) ([]resultRow, error) {
	inner := "SELECT w.id, w.ends_floor FROM auctions w WHERE w.status IN " + statusList(statuses)
	if keyset != "" {
		inner += " AND " + strings.ReplaceAll(keyset, "a.", "w.")
	}
	inner += " ORDER BY w.ends_floor, w.id LIMIT ?"
	// OFFSET 0 keeps the document check a subquery per lot: joined, the
	// planner may build a hash of every match from the text index
	// instead (12,013 documents read for "music box" with a million lots,
	// against 3,862 lots checked in order).
	sql := "SELECT " + resultColumns + ", 0 AS rank FROM (" + inner + ") w" +
		" CROSS JOIN LATERAL (SELECT 1 FROM auction_search s WHERE s.auction_id = w.id AND s.document @@ to_tsquery('gavel', ?) OFFSET 0) s" +
		" JOIN auctions a ON a.id = w.id LEFT JOIN users u ON u.id = a.leader_id"
	if len(f.where) > 0 {
		sql += " WHERE " + strings.Join(f.where, " AND ")
	}
	sql += " ORDER BY w.ends_floor, w.id LIMIT ?"
	args := append(append([]any{}, keyArgs...), s.walkRows, p.text.tsquery())
	args = append(append(args, f.args...), n)
	var rows []resultRow
	if err := s.db.WithContext(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	return rows, nil
}

// fetchRanked sorts by best match only the first rankCandidates matching
// lots the text index yields (in the order of the documents' storage,
// roughly the order they were listed), instead of every match: ranking
// all 25,000 lots that mention a medium word took 280 ms of CPU with a
// million lots. Pages past the candidates are empty; another sort reaches
// every match.
func (s *Service) fetchRanked(ctx context.Context, p *plan, f query, statuses []domain.Status, keyset string, keyArgs []any, n int) ([]resultRow, error) {
	tsq := p.text.tsquery()
	// OFFSET 0 keeps the text match a query of its own, answered from
	// the text index (a bitmap, no document read twice); joined, the
	// planner walked both tables in id order and tested 46,000 documents
	// to find 1,000 matches (2.7 times slower with a million lots).
	where := append([]string{"a.status IN " + statusList(statuses)}, f.where...)
	cand := "SELECT " + resultColumns + ", s.document FROM (SELECT auction_id, document FROM auction_search" +
		" WHERE document @@ to_tsquery('gavel', ?) OFFSET 0) s JOIN auctions a ON a.id = s.auction_id" +
		" LEFT JOIN users u ON u.id = a.leader_id WHERE " + strings.Join(where, " AND ") + " LIMIT ?"
	sql := "SELECT * FROM (SELECT c.*, ts_rank(c.document, to_tsquery('gavel', ?)) AS rank FROM (" + cand + ") c) r"
	if keyset != "" {
		sql += " WHERE " + strings.ReplaceAll(keyset, "a.", "r.")
	}
	sql += " ORDER BY r.rank DESC, r.id DESC LIMIT ?"
	args := append([]any{tsq, tsq}, f.args...)
	args = append(append(args, s.rankCandidates), keyArgs...)
	args = append(args, n)
	var rows []resultRow
	if err := s.db.WithContext(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	return rows, nil
}

// perCategory says whether a phase runs as one index range per category
// (fetchPerCategory): on PostgreSQL, for running lots of a list of
// categories with no words, sorted by end or by price. Each category's
// lots are then read in sort order from a partial index of running lots
// (migration 00013), and only n of each are read, however many lots the
// categories hold; one range over the whole list cannot be read in sort
// order, and sorting a large category's running lots took up to 0.5 s of
// CPU with a million lots.
func (s *Service) perCategory(p *plan, statuses []domain.Status) bool {
	if !s.pg || !p.text.empty() || len(p.CategoryIDs) == 0 {
		return false
	}
	for _, st := range statuses {
		if st != domain.StatusOpen && st != domain.StatusScheduled {
			return false
		}
	}
	switch p.sort {
	case SortEnding, SortPriceLow, SortPriceHigh:
		return true
	}
	return false
}

// fetchPerCategory runs the filters of q, the keyset and the order once
// per category (a LATERAL subquery, each with its LIMIT) and merges the
// first n rows.
func (s *Service) fetchPerCategory(ctx context.Context, p *plan, q query, order, keyset string, keyArgs []any, n int) ([]resultRow, error) {
	ids := slices.Clone(p.CategoryIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	where := append([]string{"a.category_id = c.id"}, q.where...)
	if keyset != "" {
		where = append(where, keyset)
	}
	sql := "SELECT " + resultColumns + ", 0 AS rank FROM unnest(CAST(? AS bigint[])) AS c(id)" +
		" CROSS JOIN LATERAL (SELECT a.* FROM auctions a WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + order + " LIMIT ?) a LEFT JOIN users u ON u.id = a.leader_id ORDER BY " + order + " LIMIT ?"
	args := append([]any{"{" + strings.Join(list, ",") + "}"}, q.args...)
	args = append(append(args, keyArgs...), n, n)
	var rows []resultRow
	if err := s.db.WithContext(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	return rows, nil
}
