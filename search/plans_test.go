package search

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
)

// model is a seeded lot as the test's reference implementation sees it.
type model struct {
	id       int64
	text     string // title and description, lower case
	category int64
	status   domain.Status
	currency string
	price    int64 // shown price
	bids     int
	buyNow   int64
	ends     time.Duration
}

func (m model) live() bool {
	return m.status == domain.StatusOpen || m.status == domain.StatusScheduled
}

// hasWords says whether every word is in m's text; hasPhrase whether they
// follow one another.
func (m model) hasWords(ws ...string) bool {
	fields := strings.Fields(m.text)
	for _, w := range ws {
		if !slices.Contains(fields, w) {
			return false
		}
	}
	return true
}

func (m model) hasPhrase(p string) bool { return strings.Contains(" "+m.text+" ", " "+p+" ") }

// seedModels seeds n lots with random categories (under two top-level
// categories), statuses, prices, bids, buy-it-now prices, ends (with
// ties) and titles, some holding "tin toy", "toy ... tin" or only one of
// the words.
func seedModels(t *testing.T, db *gorm.DB, n int) ([]model, map[string][]int64) {
	t.Helper()
	sd := newSeeder(t, db)
	cats := map[string][]int64{}
	for _, top := range []string{"toys-and-models", "antiques"} {
		id := categoryID(t, db, top)
		var kids []int64
		if err := db.Raw("SELECT id FROM categories WHERE parent_id = ? ORDER BY id", id).Scan(&kids).Error; err != nil {
			t.Fatal(err)
		}
		cats[top] = append([]int64{id}, kids[:3]...)
	}
	all := append(append([]int64{}, cats["toys-and-models"]...), cats["antiques"]...)
	rng := rand.New(rand.NewPCG(15, 13))
	titles := []string{"tin toy", "toy made of tin", "tin box", "clockwork toy", "painted tin toy car", "brass clock", "tin toy clock"}
	statuses := []domain.Status{domain.StatusOpen, domain.StatusOpen, domain.StatusOpen, domain.StatusScheduled, domain.StatusClosed}
	currencies := []string{"EUR", "EUR", "USD"}
	var out []model
	for range n {
		l := lot{
			title:       titles[rng.IntN(len(titles))],
			description: []string{"good condition", "some wear to the tin", "a toy for collectors"}[rng.IntN(3)],
			category:    all[rng.IntN(len(all))],
			status:      statuses[rng.IntN(len(statuses))],
			currency:    currencies[rng.IntN(len(currencies))],
			start:       int64(100 * (1 + rng.IntN(8))),
			endsIn:      time.Duration(1+rng.IntN(6)) * time.Hour,
		}
		if l.status == domain.StatusClosed {
			l.endsIn = -l.endsIn
		}
		if l.status == domain.StatusOpen && rng.IntN(3) == 0 {
			l.bids = 1 + rng.IntN(3)
			l.current = l.start + int64(100*rng.IntN(4))
		} else if rng.IntN(2) == 0 {
			l.buyNow = l.start * 3
		}
		id := sd.add(l)
		out = append(out, model{id: id, text: strings.ToLower(l.title + " " + strings.TrimSuffix(l.description, ".")),
			category: l.category, status: l.status, currency: l.currency, price: max(l.start, l.current), bids: l.bids,
			buyNow: l.buyNow, ends: l.endsIn})
	}
	return out, cats
}

// TestSearchPlansMatchModel checks the shapes PostgreSQL answers with
// their own plans (pgplans.go: one index range per category, the walk in
// end order, the bounded best-match ranking) against a reference
// implementation, paging a few lots at a time through ties, on both
// databases.
func TestSearchPlansMatchModel(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		lots, cats := seedModels(t, db, 160)
		s := mustService(db)
		pick := func(keep func(model) bool, less func(a, b model) int) []int64 {
			var out []int64
			sel := slices.DeleteFunc(slices.Clone(lots), func(m model) bool { return !keep(m) })
			slices.SortFunc(sel, less)
			for _, m := range sel {
				out = append(out, m.id)
			}
			return out
		}
		ending := func(a, b model) int { return cmp.Or(cmp.Compare(a.ends, b.ends), cmp.Compare(a.id, b.id)) }
		priceAsc := func(a, b model) int { return cmp.Or(cmp.Compare(a.price, b.price), cmp.Compare(a.id, b.id)) }
		priceDesc := func(a, b model) int { return priceAsc(b, a) }
		in := func(ids []int64) func(model) bool {
			return func(m model) bool { return m.live() && slices.Contains(ids, m.category) }
		}
		toys := cats["toys-and-models"]
		both := append(slices.Clone(toys), cats["antiques"]...)
		lo, hi := int64(300), int64(1500)
		for _, tt := range []struct {
			name string
			r    domain.SearchQuery
			want []int64
		}{
			{"category, ending", domain.SearchQuery{CategoryIDs: toys}, pick(in(toys), ending)},
			{"two categories, ending", domain.SearchQuery{CategoryIDs: both}, pick(in(both), ending)},
			{"category, price low", domain.SearchQuery{CategoryIDs: toys, Sort: domain.SortPriceLow}, pick(in(toys), priceAsc)},
			{"category, price high", domain.SearchQuery{CategoryIDs: both, Sort: domain.SortPriceHigh}, pick(in(both), priceDesc)},
			{"category, open only, price low", domain.SearchQuery{CategoryIDs: toys, Statuses: []domain.Status{domain.StatusOpen}, Sort: domain.SortPriceLow},
				pick(func(m model) bool { return in(toys)(m) && m.status == domain.StatusOpen }, priceAsc)},
			{"category, price band, buy it now", domain.SearchQuery{CategoryIDs: both, Currency: "EUR", MinPrice: &lo, MaxPrice: &hi, BuyNow: true},
				pick(func(m model) bool {
					return in(both)(m) && m.currency == "EUR" && m.price >= lo && m.price <= hi && m.buyNow > 0 && m.bids == 0
				}, ending)},
			{"category, price band, price high", domain.SearchQuery{CategoryIDs: toys, Currency: "EUR", MinPrice: &lo, MaxPrice: &hi, Sort: domain.SortPriceHigh},
				pick(func(m model) bool { return in(toys)(m) && m.currency == "EUR" && m.price >= lo && m.price <= hi }, priceDesc)},
			{"phrase", domain.SearchQuery{Text: `"tin toy"`}, pick(func(m model) bool { return m.live() && m.hasPhrase("tin toy") }, ending)},
			{"two words", domain.SearchQuery{Text: "toy tin"}, pick(func(m model) bool { return m.live() && m.hasWords("toy", "tin") }, ending)},
			{"two words in categories, EUR", domain.SearchQuery{Text: "toy tin", CategoryIDs: both, Currency: "EUR"},
				pick(func(m model) bool { return in(both)(m) && m.currency == "EUR" && m.hasWords("toy", "tin") }, ending)},
		} {
			for _, walk := range []int{20000, 5} {
				t.Run(fmt.Sprintf("%s/walk %d", tt.name, walk), func(t *testing.T) {
					if len(tt.want) < 8 {
						t.Fatalf("the seed gives only %d lots for this shape; the test needs pages of ties", len(tt.want))
					}
					s.walkRows = walk // a window of 5 lots makes the walk fall back, page after page
					if got := all(t, s, tt.r, 7); !slices.Equal(got, tt.want) {
						t.Errorf("got  %v\nwant %v", got, tt.want)
					}
				})
			}
		}
		s.walkRows = walkRows

		// Best match ranks a bounded set of candidates: every page is in
		// rank order, without repeats, and every lot matches.
		want := pick(func(m model) bool { return m.live() && m.hasWords("clock") }, ending)
		for _, limit := range []int{1000, 6} {
			s.rankCandidates = limit
			got := all(t, s, domain.SearchQuery{Text: "clock", Sort: domain.SortRelevance}, 4)
			if !s.pg {
				limit = len(want) // SQLite ranks every match
			}
			if len(got) != min(limit, len(want)) || len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(got) {
				t.Errorf("relevance with %d candidates: %d lots %v of %d matches", limit, len(got), got, len(want))
			}
			for _, id := range got {
				if !slices.Contains(want, id) {
					t.Errorf("relevance found %d, which does not match", id)
				}
			}
		}
		// Title matches first, whatever the bound.
		p, err := s.Search(context.Background(), domain.SearchQuery{Text: "clock", Sort: domain.SortRelevance, Limit: 6})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Auctions {
			if !strings.Contains(strings.ToLower(a.Title), "clock") {
				t.Errorf("relevance page 1 holds %q before title matches", a.Title)
			}
		}
	})
}
