package search

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/testpg"
)

func TestSearchText(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		sd := newSeeder(t, db)
		s := mustService(db)
		clock := sd.add(lot{title: "Brass carriage clock", description: "French, 1890s, with its original key and travelling case."})
		paint := sd.add(lot{title: "Oil painting of Paris", description: "Gilt frame. Signed lower right."})
		prints := sd.add(lot{title: "Two paintings", description: "Watercolours of the Alps, unframed."})
		watch := sd.add(lot{title: "Pocket watch", description: "Silver hunter case; keeps good time."})
		ru := sd.add(lot{title: "Старинные часы", description: "Настенные часы, XIX век."})
		gr := sd.add(lot{title: "Ελληνικό αγγείο", description: "Αρχαίο κεραμικό."})
		ar := sd.add(lot{title: "مخطوطة عربية", description: "مخطوطة قديمة نادرة"})
		hi := sd.add(lot{title: "पुरानी घड़ी", description: "पीतल की घड़ी"})
		ja := sd.add(lot{title: "日本の古い時計", description: "江戸時代"})
		th := sd.add(lot{title: "นาฬิกาโบราณ", description: "ทองเหลือง"})
		ko := sd.add(lot{title: "오래된 시계", description: "황동"})
		closed := sd.add(lot{title: "Sold clock", status: domain.StatusClosed, endsIn: -time.Hour})

		for _, tt := range []struct {
			q    string
			want []int64
		}{
			{"original key", []int64{clock}},      // words of the description
			{"clock", []int64{clock}},             // running lots only by default
			{"CLOCK", []int64{clock}},             // case
			{"painting", []int64{paint, prints}},  // stems: painting ~ paintings
			{"paintings", []int64{paint, prints}}, //
			{`"oil painting"`, []int64{paint}},    // phrase
			{`"painting oil"`, nil},               // order matters in a phrase
			{"painting -frame", []int64{prints}},  // "unframed" is another word
			{"clock or watch", []int64{clock, watch}},
			{"часы", []int64{ru}},
			{"ЧАСЫ", []int64{ru}},
			{"αγγείο", []int64{gr}},
			{"مخطوطة", []int64{ar}},
			{"घड़ी", []int64{hi}},
			{"日本", []int64{ja}}, // a prefix of the run 日本の古い時計
			{"นาฬิกา", []int64{th}},
			{"시계", []int64{ko}},
			{"& | ! ( ) : * clock", []int64{clock}},
			{`clock" -"`, []int64{clock}},
			{"nothing-matches-this", nil},
		} {
			p, err := s.Search(context.Background(), domain.SearchQuery{Text: tt.q})
			if err != nil {
				t.Errorf("%q: %v", tt.q, err)
				continue
			}
			got := ids(p)
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%q: got %v, want %v", tt.q, got, want)
			}
		}
		p, err := s.Search(context.Background(), domain.SearchQuery{Text: "clock", Statuses: []domain.Status{domain.StatusClosed}})
		if err != nil || !slices.Equal(ids(p), []int64{closed}) {
			t.Errorf("closed clock: %v, %v", ids(p), err)
		}
	})
}

// TestSearchOddQueries sends what people and scripts send: every such text
// gets results or a clear invalid error, never anything else.
func TestSearchOddQueries(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		sd := newSeeder(t, db)
		sd.add(lot{title: "Clock", description: "A clock"})
		s := mustService(db)
		for _, q := range oddQueries() {
			_, err := s.Search(context.Background(), domain.SearchQuery{Text: q})
			if err != nil && domain.ErrorCode(err) != domain.CodeInvalid {
				t.Errorf("%q: %v", shorten(q, 40), err)
			}
		}
		if _, err := s.Search(context.Background(), domain.SearchQuery{Text: strings.Repeat("x", 10_000)}); domain.ErrorCode(err) != domain.CodeInvalid {
			t.Errorf("10,000 characters: %v, want invalid", err)
		}
	})
}

func oddQueries() []string {
	return []string{
		"", " ", "&", "|", "!", "(", ")", ":", "*", `"`, "-", `""`, `"-"`, "--", "- -", "!!!", "a & b", "a | b", "!a", "(a)",
		"a:*", "a:b", "'", "''", `\`, `\\`, `'\`, "a'b", `"a`, `a"`, `"""`, "or", "OR OR", "or -", "-or", "a or", "or a",
		"\u00a0", "\u200b", "\u200bclock", "ǃ", "ǃǃ clock", "𝔠𝔩𝔬𝔠𝔨", "🕰", "🕰 clock", "clock🕰", "ﷺ", "ⅻ", "½", "٣", "a\u0301",
		"日本", "日本の時計", "ภาษาไทย", "ພາສາລາວ", "ភាសាខ្មែរ", "မြန်မာ", "བོད་ཡིག", "한국어", "עברית", "العربية", "हिन्दी",
		"ελληνικά", "русский", "ქართული", "հայերեն", "ꦧꦱꦗꦮ", "ᚠᚢᚦ", "NEAR(a b)", "a NEAR b", "a AND b", "a NOT b",
		"title:clock", "^clock", "{a b}", "a + b", "a*", "*a", "a OR", "clock -", "- clock", strings.Repeat("(", 200),
		strings.Repeat("a ", 32), strings.Repeat("-a b ", 16), strings.Repeat("é", 500), "\t\n\r", "a\x01b", "\x7f",
	}
}

func TestSearchFilters(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		sd := newSeeder(t, db)
		s := mustService(db)
		art := categoryID(t, db, "art")
		paintings := categoryID(t, db, "paintings")
		coins := categoryID(t, db, "coins")
		oil := sd.add(lot{title: "Oil on canvas", category: paintings, start: 5000})
		bust := sd.add(lot{title: "Marble bust", category: art, start: 20000, current: 25000, bids: 3})
		coin := sd.add(lot{title: "Gold coin", category: coins, start: 900, buyNow: 5000})
		usd := sd.add(lot{title: "Silver coin", category: coins, currency: "USD", start: 3000, endsIn: 10 * time.Minute})
		soon := sd.add(lot{title: "Copper coin", start: 100, endsIn: 5 * time.Minute, buyNow: 900, bids: 1, current: 150})
		sched := sd.add(lot{title: "Upcoming print", category: paintings, status: domain.StatusScheduled, endsIn: 48 * time.Hour})
		gone := sd.add(lot{title: "Cancelled print", category: paintings, status: domain.StatusCancelled})
		sd.add(lot{title: "Unsold vase", status: domain.StatusClosed, endsIn: -10 * time.Minute, buyNow: 5000})

		i64 := func(v int64) *int64 { return &v }
		for _, tt := range []struct {
			name string
			r    domain.SearchQuery
			want []int64
		}{
			{"running by default", domain.SearchQuery{}, []int64{oil, bust, coin, usd, soon, sched}},
			{"category and children", domain.SearchQuery{CategoryIDs: []int64{art, paintings}}, []int64{oil, bust, sched}},
			{"subcategory", domain.SearchQuery{CategoryIDs: []int64{paintings}}, []int64{oil, sched}},
			{"status", domain.SearchQuery{Statuses: []domain.Status{domain.StatusScheduled}}, []int64{sched}},
			{"status cancelled", domain.SearchQuery{Statuses: []domain.Status{domain.StatusCancelled}}, []int64{gone}},
			{"price uses current price", domain.SearchQuery{Currency: "EUR", MinPrice: i64(10000)}, []int64{bust}},
			{"price range", domain.SearchQuery{Currency: "EUR", MinPrice: i64(900), MaxPrice: i64(5000)}, []int64{oil, coin, sched}},
			{"currency", domain.SearchQuery{Currency: "USD"}, []int64{usd}},
			{"ending within", domain.SearchQuery{EndingWithin: 15 * time.Minute}, []int64{usd, soon}},
			{"buy it now until the first bid", domain.SearchQuery{BuyNow: true}, []int64{coin}},
			{"buy it now of running lots only", domain.SearchQuery{BuyNow: true, Statuses: []domain.Status{domain.StatusOpen, domain.StatusClosed}}, []int64{coin}},
			{"ending within, running lots only", domain.SearchQuery{EndingWithin: 15 * time.Minute, Statuses: []domain.Status{domain.StatusOpen, domain.StatusClosed}}, []int64{usd, soon}},
			{"text and filters", domain.SearchQuery{Text: "coin", Currency: "EUR"}, []int64{coin, soon}},
		} {
			p, err := s.Search(context.Background(), tt.r)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			got, want := ids(p), slices.Clone(tt.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s: got %v, want %v", tt.name, got, want)
			}
		}
		for _, tt := range []struct {
			name  string
			r     domain.SearchQuery
			field string
		}{
			{"price without currency", domain.SearchQuery{MinPrice: i64(1)}, "currency"},
			{"unknown currency", domain.SearchQuery{Currency: "XXX"}, "currency"},
			{"negative price", domain.SearchQuery{Currency: "EUR", MaxPrice: i64(-1)}, "max_price"},
			{"min above max", domain.SearchQuery{Currency: "EUR", MinPrice: i64(10), MaxPrice: i64(5)}, "max_price"},
			{"unknown status", domain.SearchQuery{Statuses: []domain.Status{"sold"}}, "status"},
			{"ending within over ended lots", domain.SearchQuery{EndingWithin: time.Hour, Statuses: []domain.Status{domain.StatusClosed}}, "status"},
			{"relevance without text", domain.SearchQuery{Sort: domain.SortRelevance}, "sort"},
			{"limit", domain.SearchQuery{Limit: 101}, "limit"},
			{"bad cursor", domain.SearchQuery{After: "garbage"}, "after"},
		} {
			_, err := s.Search(context.Background(), tt.r)
			var de *domain.Error
			if e, ok := err.(*domain.Error); ok {
				de = e
			}
			if de == nil || de.Code != domain.CodeInvalid || de.Fields[tt.field] == "" {
				t.Errorf("%s: %v, want invalid %s", tt.name, err, tt.field)
			}
		}
	})
}

func TestSearchSortsAndPages(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		sd := newSeeder(t, db)
		s := mustService(db)
		type seeded struct {
			id    int64
			ends  time.Duration
			price int64
			bids  int
			ended bool
		}
		var lots []seeded
		// Equal keys on purpose: pages must order ties by id and never
		// repeat or skip one.
		for i := range 23 {
			l := lot{title: "Lamp " + strings.Repeat("x", i%3), endsIn: time.Duration(i%5+1) * time.Hour,
				start: int64(1000 * (i%4 + 1)), bids: i % 3}
			if l.bids > 0 {
				l.current = l.start + 500
			}
			if i%6 == 5 {
				l.status, l.endsIn = domain.StatusClosed, -time.Duration(i%4+1)*time.Hour
			}
			lots = append(lots, seeded{id: sd.add(l), ends: l.endsIn, price: max(l.start, l.current), bids: l.bids, ended: l.status == domain.StatusClosed})
		}
		everyStatus := []domain.Status{domain.StatusOpen, domain.StatusClosed}
		order := func(less func(a, b seeded) int, keep func(seeded) bool) []int64 {
			var sel []seeded
			for _, l := range lots {
				if keep(l) {
					sel = append(sel, l)
				}
			}
			slices.SortStableFunc(sel, less)
			out := make([]int64, len(sel))
			for i, l := range sel {
				out[i] = l.id
			}
			return out
		}
		byID := func(a, b seeded) int { return int(a.id - b.id) }
		desc := func(a, b int64) int { return int(b - a) }
		live := func(l seeded) bool { return !l.ended }
		any := func(seeded) bool { return true }
		for _, tt := range []struct {
			name string
			r    domain.SearchQuery
			want []int64
		}{
			{"ending", domain.SearchQuery{}, order(func(a, b seeded) int {
				if a.ends != b.ends {
					return int(a.ends - b.ends)
				}
				return byID(a, b)
			}, live)},
			{"ending over running and ended", domain.SearchQuery{Statuses: everyStatus}, order(func(a, b seeded) int {
				switch {
				case a.ended != b.ended && a.ended:
					return 1
				case a.ended != b.ended:
					return -1
				case a.ended && a.ends != b.ends:
					return int(b.ends - a.ends)
				case a.ended:
					return desc(a.id, b.id)
				case a.ends != b.ends:
					return int(a.ends - b.ends)
				}
				return byID(a, b)
			}, any)},
			{"ended only", domain.SearchQuery{Statuses: []domain.Status{domain.StatusClosed}}, order(func(a, b seeded) int {
				if a.ends != b.ends {
					return int(b.ends - a.ends)
				}
				return desc(a.id, b.id)
			}, func(l seeded) bool { return l.ended })},
			{"newest", domain.SearchQuery{Sort: domain.SortNewest, Statuses: everyStatus}, order(func(a, b seeded) int { return desc(a.id, b.id) }, any)},
			{"price low", domain.SearchQuery{Sort: domain.SortPriceLow}, order(func(a, b seeded) int {
				if a.price != b.price {
					return int(a.price - b.price)
				}
				return byID(a, b)
			}, live)},
			{"price high", domain.SearchQuery{Sort: domain.SortPriceHigh}, order(func(a, b seeded) int {
				if a.price != b.price {
					return int(b.price - a.price)
				}
				return desc(a.id, b.id)
			}, live)},
			{"bids", domain.SearchQuery{Sort: domain.SortBids}, order(func(a, b seeded) int {
				if a.bids != b.bids {
					return b.bids - a.bids
				}
				return desc(a.id, b.id)
			}, live)},
		} {
			for _, limit := range []int{1, 2, 5, 100} {
				if got := all(t, s, tt.r, limit); !slices.Equal(got, tt.want) {
					t.Errorf("%s, pages of %d:\n got %v\nwant %v", tt.name, limit, got, tt.want)
				}
			}
		}
		// A cursor belongs to its search.
		p, err := s.Search(context.Background(), domain.SearchQuery{Sort: domain.SortBids, Limit: 2})
		if err != nil || p.Next == "" {
			t.Fatalf("first page: %v %q", err, p.Next)
		}
		if _, err := s.Search(context.Background(), domain.SearchQuery{Sort: domain.SortBids, Limit: 2, Currency: "EUR", After: p.Next}); err != errBadCursor {
			t.Errorf("cursor of another search: %v", err)
		}
	})
}

func TestSearchRelevanceAndUpdates(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, db *gorm.DB) {
		sd := newSeeder(t, db)
		s := mustService(db)
		// The description-only match has the highest id, so the tie-break
		// (id, descending) would put it first if ranks were equal.
		inTitle := sd.add(lot{title: "Clock", description: "Mantel."})
		inBoth := sd.add(lot{title: "Clock and barometer", description: "A clock with a matching barometer."})
		inDesc := sd.add(lot{title: "Box of keys", description: "Includes one for a clock."})
		got := all(t, s, domain.SearchQuery{Text: "clock", Sort: domain.SortRelevance}, 1)
		if len(got) != 3 || got[2] != inDesc {
			t.Errorf("relevance: %v; the description-only match (%d) must come last", got, inDesc)
		}
		if !slices.Contains(got[:2], inTitle) || !slices.Contains(got[:2], inBoth) {
			t.Errorf("relevance: %v", got)
		}
		// Editing a listing re-indexes it.
		if err := db.Exec("UPDATE auctions SET title = 'Barometer', description = 'Aneroid' WHERE id = ?", inTitle).Error; err != nil {
			t.Fatal(err)
		}
		if got := all(t, s, domain.SearchQuery{Text: "clock"}, 10); slices.Contains(got, inTitle) {
			t.Errorf("after the edit, clock still finds %d: %v", inTitle, got)
		}
		if got := all(t, s, domain.SearchQuery{Text: "aneroid"}, 10); !slices.Equal(got, []int64{inTitle}) {
			t.Errorf("aneroid: %v", got)
		}
		// A bid's update (price, count) leaves the document alone and the
		// lot findable.
		if err := db.Exec("UPDATE auctions SET current_price = 5000, bid_count = 2 WHERE id = ?", inBoth).Error; err != nil {
			t.Fatal(err)
		}
		if got := all(t, s, domain.SearchQuery{Text: "barometer"}, 10); len(got) != 2 {
			t.Errorf("barometer after a bid: %v", got)
		}
	})
}

// FuzzSearchText runs arbitrary search text against both databases: each
// gives results or an invalid-input error, never a database error.
func FuzzSearchText(f *testing.F) {
	for _, q := range oddQueries() {
		f.Add(q)
	}
	sqlite := mustSQLite(f)
	pg := testpg.DB(f)
	services := map[string]*Service{"sqlite": mustService(sqlite), "postgres": mustService(pg)}
	for _, db := range []*gorm.DB{sqlite, pg} {
		newSeeder(f, db).add(lot{title: "Brass clock", description: "Oil painting of a clock, 日本の時計, часы."})
	}
	f.Fuzz(func(t *testing.T, q string) {
		for name, s := range services {
			for _, sort := range []domain.SearchSort{domain.SortEnding, domain.SortRelevance} {
				_, err := s.Search(context.Background(), domain.SearchQuery{Text: q, Sort: sort})
				if err != nil && domain.ErrorCode(err) != domain.CodeInvalid {
					t.Fatalf("%s, %s, %q: %v", name, sort, q, err)
				}
			}
		}
	})
}
