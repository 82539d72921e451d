// Package search finds lots: full-text search over titles (weighted
// higher) and descriptions, with filters, sorts and keyset pages. It owns
// its SQL for both databases: PostgreSQL's text search (a tsvector per
// auction in a GIN index) and SQLite's FTS5, each kept in step with the
// auctions table by triggers (migrations 00007). It reads auctions and
// never changes them.
package search

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// Sort is the internal, compact form of a domain.SearchSort, kept in
// cursors.
type Sort uint8

// The sorts.
const (
	SortEnding Sort = iota + 1
	SortNewest
	SortPriceLow
	SortPriceHigh
	SortBids
	SortRelevance
)

var sorts = map[domain.SearchSort]Sort{
	domain.SortEnding: SortEnding, domain.SortNewest: SortNewest, domain.SortPriceLow: SortPriceLow,
	domain.SortPriceHigh: SortPriceHigh, domain.SortBids: SortBids, domain.SortRelevance: SortRelevance,
}

// String returns the sort's API name.
func (s Sort) String() string {
	for k, v := range sorts {
		if v == s {
			return string(k)
		}
	}
	return "sort(" + strconv.Itoa(int(s)) + ")"
}

// Request is a search as this package runs it: the domain's query with
// its sort in compact form.
type Request struct {
	domain.SearchQuery
	Sort Sort
}

// Page is one page of results.
type Page = domain.SearchPage

// Defaults and bounds of a page.
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

// Options tune a Service.
type Options struct {
	Now func() time.Time
}

// Service searches the auctions of one database.
type Service struct {
	db   *gorm.DB
	pg   bool
	opts Options
	// hasSale caches that auctions.sale_id exists (the sales migration
	// ran); until then a sale filter is refused with a clear message.
	hasSale atomic.Bool
	// Bounds of the PostgreSQL plans (pgplans.go); tests shrink them.
	walkRows, rankCandidates int
}

// New returns a Service on db (already migrated).
func New(db *gorm.DB, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{db: db, pg: db.Dialector.Name() == "postgres", opts: opts, walkRows: walkRows, rankCandidates: rankCandidates}
}

// Search returns one page of the lots matching q. Bad input (text, sort,
// cursor, filters) is a *domain.Error of code invalid naming the field.
func (s *Service) Search(ctx context.Context, q domain.SearchQuery) (domain.SearchPage, error) {
	r := Request{SearchQuery: q}
	if q.Sort != "" {
		var ok bool
		if r.Sort, ok = sorts[q.Sort]; !ok {
			_, err := domain.ParseSearchSort(string(q.Sort))
			return Page{}, err
		}
	}
	return s.search(ctx, r)
}

func (s *Service) search(ctx context.Context, r Request) (Page, error) {
	p, err := s.plan(ctx, r)
	if err != nil {
		return Page{}, err
	}
	var out []domain.Auction
	var last *resultRow
	var lastPhase uint8
	phase := p.start.phase
	for {
		// One row more than the page needs says whether there is a next.
		rows, err := s.fetch(ctx, p, phase, p.limit+1-len(out))
		if err != nil {
			return Page{}, err
		}
		for i := range rows {
			if len(out) == p.limit {
				if lastPhase != phase {
					// The page ended with the last running lot.
					return Page{Auctions: out, Next: cursor{sort: p.sort, phase: phase}.encode(p.fp)}, nil
				}
				return Page{Auctions: out, Next: p.next(last, phase)}, nil
			}
			out = append(out, rows[i].toDomain())
			last, lastPhase = &rows[i], phase
		}
		// The two-phase "ending" sort goes on to ended lots once the
		// running ones are exhausted.
		if !p.twoPhase || phase == 1 {
			return Page{Auctions: out}, nil
		}
		phase = 1
	}
}

// plan is a validated request, ready to run.
type plan struct {
	Request
	text     textQuery
	sort     Sort
	limit    int
	live     []domain.Status // the requested statuses that are running
	ended    []domain.Status // the requested statuses that are final
	twoPhase bool
	start    cursor // zero id: from the beginning
	fp       string
	now      time.Time
}

func (s *Service) plan(ctx context.Context, r Request) (*plan, error) {
	p := &plan{Request: r, now: s.opts.Now().UTC()}
	var err error
	if p.text, err = parseText(r.Text); err != nil {
		return nil, err
	}
	p.sort = r.Sort
	if p.sort == 0 {
		p.sort = SortEnding
	}
	if p.sort == SortRelevance && p.text.empty() {
		return nil, domain.Invalid("sort", "Sorting by relevance needs words to search for.")
	}
	switch {
	case r.Limit == 0:
		p.limit = DefaultLimit
	case r.Limit < 1 || r.Limit > MaxLimit:
		return nil, domain.Invalid("limit", "limit must be a whole number from 1 to 100.")
	default:
		p.limit = r.Limit
	}
	statuses := r.Statuses
	if len(statuses) == 0 {
		statuses = []domain.Status{domain.StatusOpen, domain.StatusScheduled}
	}
	for _, st := range statuses {
		switch st {
		case domain.StatusOpen, domain.StatusScheduled:
			p.live = appendOnce(p.live, st)
		case domain.StatusClosed, domain.StatusCancelled:
			p.ended = appendOnce(p.ended, st)
		default:
			return nil, domain.Invalid("status", "status must be a comma-separated list of open, scheduled, closed and cancelled.")
		}
	}
	if p.EndingWithin > 0 || p.BuyNow {
		// Both describe running lots only.
		p.ended = nil
		if len(p.live) == 0 {
			return nil, domain.Invalid("status", "“Ending within” and “buy it now” find running lots: choose open or upcoming, or no status.")
		}
	}
	p.twoPhase = p.sort == SortEnding && len(p.live) > 0 && len(p.ended) > 0
	if err := p.checkFilters(); err != nil {
		return nil, err
	}
	if r.SaleID != 0 {
		if err := s.checkSaleColumn(ctx); err != nil {
			return nil, err
		}
	}
	p.fp = p.fingerprint()
	// Phase 1 is the ended lots of the "ending" sort, in reverse order of
	// their end; a search of ended lots alone has only that phase.
	first, lastPhase := uint8(0), uint8(0)
	if p.sort == SortEnding && len(p.live) == 0 {
		first, lastPhase = 1, 1
	}
	if p.twoPhase {
		lastPhase = 1
	}
	p.start.phase = first
	if r.After != "" {
		if p.start, err = decodeCursor(r.After, p.fp, p.sort); err != nil {
			return nil, err
		}
		if p.start.phase < first || p.start.phase > lastPhase {
			return nil, errBadCursor
		}
	}
	return p, nil
}

func appendOnce(list []domain.Status, st domain.Status) []domain.Status {
	if slices.Contains(list, st) {
		return list
	}
	return append(list, st)
}

// checkFilters validates the filters that need no database.
func (p *plan) checkFilters() error {
	fields := map[string]string{}
	if (p.MinPrice != nil || p.MaxPrice != nil) && p.Currency == "" {
		fields["currency"] = "Choose a currency to filter by price: prices in different currencies do not compare."
	}
	if p.Currency != "" {
		if _, ok := domain.LookupCurrency(p.Currency); !ok {
			fields["currency"] = "Choose a currency by its ISO 4217 code, such as EUR or USD."
		}
	}
	for name, v := range map[string]*int64{"min_price": p.MinPrice, "max_price": p.MaxPrice} {
		if v != nil && (*v < 0 || *v > domain.MaxMoney) {
			fields[name] = name + " must be an amount in minor units from 0 to " + strconv.FormatInt(domain.MaxMoney, 10) + "."
		}
	}
	if p.MinPrice != nil && p.MaxPrice != nil && *p.MinPrice > *p.MaxPrice && fields["max_price"] == "" {
		fields["max_price"] = "The highest price must be at least the lowest."
	}
	if p.EndingWithin < 0 || p.EndingWithin > domain.MaxAuctionDuration {
		fields["ending_within"] = "ending_within must be a duration from 1m to 720h."
	}
	if len(p.CategoryIDs) > 100 {
		fields["category"] = "Too many categories."
	}
	return domain.FieldErrors(fields)
}

// fingerprint is a canonical rendering of everything that defines the
// result list except the page position; a cursor is valid only with it.
func (p *plan) fingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "q=%s\x00s=%d\x00c=%v\x00l=%v\x00e=%v\x00cur=%s\x00w=%d\x00bn=%t\x00sale=%d",
		p.text.canonical(), p.sort, p.CategoryIDs, p.live, p.ended, p.Currency, p.EndingWithin, p.BuyNow, p.SaleID)
	for _, v := range []*int64{p.MinPrice, p.MaxPrice} {
		if v == nil {
			b.WriteString("\x00-")
		} else {
			fmt.Fprintf(&b, "\x00%d", *v)
		}
	}
	return b.String()
}

// next is the cursor after row, the last of a full page.
func (p *plan) next(row *resultRow, phase uint8) string {
	c := cursor{sort: p.sort, phase: phase, id: row.ID}
	switch p.sort {
	case SortEnding:
		c.t = row.EndsFloor.UTC()
	case SortPriceLow, SortPriceHigh:
		c.n = row.shownPrice()
	case SortBids:
		c.n = int64(row.BidCount)
	case SortRelevance:
		c.f = row.Rank
	}
	return c.encode(p.fp)
}

// checkSaleColumn refuses a sale filter until the sales migration has
// added auctions.sale_id; once seen, the column is remembered.
func (s *Service) checkSaleColumn(ctx context.Context) error {
	if s.hasSale.Load() {
		return nil
	}
	var n int64
	q := `SELECT count(*) FROM information_schema.columns WHERE table_name = 'auctions' AND column_name = 'sale_id'`
	if !s.pg {
		q = `SELECT count(*) FROM pragma_table_info('auctions') WHERE name = 'sale_id'`
	}
	if err := s.db.WithContext(ctx).Raw(q).Scan(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return domain.Invalid("sale", "Filtering by sale is not available on this server yet.")
	}
	s.hasSale.Store(true)
	return nil
}
