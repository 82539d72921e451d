package searchbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/gavel-auctions/gavel/bidding"
	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/internal/bench/benchkit"
	"github.com/gavel-auctions/gavel/search"
)

// Options set the size of a run.
type Options struct {
	Lots       int // lots to seed
	Iterations int // timed queries per shape
	Target     time.Duration
	// Seeded times the queries on a database an earlier run seeded and
	// kept, without seeding it again.
	Seeded bool
}

// shape is one kind of query, timed over a pool of parameter sets.
type shape struct {
	name    string
	example string
	queries []domain.SearchQuery // drawn round-robin
	// baseline runs the old title LIKE listing instead of the search.
	baseline []string
}

// result is one shape's timings: wall times, and the server's CPU time
// per query (empty when it cannot be read).
type result struct {
	shape
	lat  []time.Duration
	cpu  []time.Duration
	rows int
}

// pct is the p-quantile of sorted durations.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(p*float64(len(ds))))]
}

// Run seeds db (migrated, empty) with o.Lots lots and times every query
// shape, writing a markdown report to out.
func Run(ctx context.Context, db *gorm.DB, o Options, out io.Writer) error {
	if o.Lots <= 0 {
		o.Lots = 1_000_000
	}
	if o.Iterations <= 0 {
		o.Iterations = 200
	}
	if o.Target <= 0 {
		o.Target = 50 * time.Millisecond
	}
	now := time.Now().UTC().Truncate(time.Second)
	var pgVersion string
	db.Raw("SHOW server_version").Scan(&pgVersion)
	host, _ := os.Hostname()
	fmt.Fprintf(out, "## Search\n\nmachine: %s, %d CPUs, %s, PostgreSQL %s; load before seeding: %s\n\n",
		host, runtime.NumCPU(), runtime.Version(), pgVersion, benchkit.LoadAvg())
	progress := func(s string) { fmt.Fprintf(out, "- %s (load %s)\n", s, benchkit.LoadAvg()) }
	if o.Seeded {
		var n int64
		if err := db.Raw("SELECT count(*) FROM auctions").Scan(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("the database has no lots: seed it first (gavel bench search --keep)")
		}
		o.Lots = int(n)
		// The lots were seeded relative to their run's clock, which the
		// seed's seller records: search as of then, so that the same lots
		// are running.
		if err := db.Raw("SELECT created_at FROM users WHERE email = ?", benchSeller).Scan(&now).Error; err != nil {
			return err
		}
		now = now.UTC()
		progress(fmt.Sprintf("reusing %d seeded lots", n))
	} else if err := seed(ctx, db, o.Lots, now, progress); err != nil {
		return err
	}
	var tableSize, docSize, ginSize string
	db.Raw("SELECT pg_size_pretty(pg_total_relation_size('auctions'))").Scan(&tableSize)
	db.Raw("SELECT pg_size_pretty(pg_relation_size('auction_search'))").Scan(&docSize)
	db.Raw("SELECT pg_size_pretty(pg_relation_size('auction_search_document'))").Scan(&ginSize)
	progress(fmt.Sprintf("sizes: auctions with indexes %s, search documents %s, GIN index %s", tableSize, docSize, ginSize))

	shapes, err := buildShapes(ctx, db, now, o.Lots, progress)
	if err != nil {
		return err
	}
	pages := newPageCounter(db)
	svc := search.New(pages.db, search.Options{Now: func() time.Time { return now }})
	old := bidding.New(pages.db, bidding.Options{})
	defer old.Close(ctx)
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	cpu := newCPUMeter(ctx, sqlDB)
	fmt.Fprintf(out, "\nload before the timed queries: %s; %d queries per shape, one at a time on one connection with parallel query off, after one warm-up pass\n\n", benchkit.LoadAvg(), o.Iterations)
	if !cpu.ok {
		fmt.Fprintln(out, "(the server's CPU time per query cannot be read here: the server is not on this machine)")
	}
	fmt.Fprintln(out, "| shape | example | p50 | p99 | mean | server CPU p50 | server CPU p99 | lots per page | buffers (median) | p99 ≤ target (wall / CPU) |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|")
	for _, sh := range shapes {
		r, err := timeShape(ctx, svc, old, cpu, sh, o.Iterations)
		if err != nil {
			return fmt.Errorf("%s: %w", sh.name, err)
		}
		touched, err := pages.median(ctx, func(i int) error { _, err := runOnce(ctx, svc, old, sh, i); return err }, min(5, max(len(sh.queries), len(sh.baseline))))
		if err != nil {
			return fmt.Errorf("%s: pages: %w", sh.name, err)
		}
		var sum time.Duration
		for _, d := range r.lat {
			sum += d
		}
		verdict := func(ds []time.Duration) string {
			switch {
			case len(ds) == 0:
				return "n/a"
			case pct(ds, 0.99) > o.Target:
				return "**no**"
			}
			return "yes"
		}
		ok := verdict(r.lat) + " / " + verdict(r.cpu)
		if len(sh.baseline) > 0 {
			ok = "(baseline)"
		}
		cpu50, cpu99 := "n/a", "n/a"
		if len(r.cpu) > 0 {
			cpu50, cpu99 = ms(pct(r.cpu, 0.50)), ms(pct(r.cpu, 0.99))
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %.1f | %d | %s |\n", sh.name, sh.example, ms(pct(r.lat, 0.50)), ms(pct(r.lat, 0.99)),
			ms(sum/time.Duration(len(r.lat))), cpu50, cpu99, float64(r.rows)/float64(len(r.lat)), touched, ok)
	}
	fmt.Fprintf(out, "\nload after: %s\n", benchkit.LoadAvg())
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// timeShape runs one warm-up pass over the shape's pool, then times
// iterations queries.
func timeShape(ctx context.Context, svc *search.Service, old *bidding.Service, cpu *cpuMeter, sh shape, iterations int) (result, error) {
	r := result{shape: sh}
	n := max(len(sh.queries), len(sh.baseline))
	run := func(i int) (int, error) { return runOnce(ctx, svc, old, sh, i) }
	for i := range n {
		if _, err := run(i); err != nil {
			return r, err
		}
	}
	for i := range iterations {
		var rows int
		var wall time.Duration
		ran, err := cpu.measure(func() error {
			t := time.Now()
			var err error
			rows, err = run(i)
			wall = time.Since(t)
			return err
		})
		if err != nil {
			return r, err
		}
		r.lat = append(r.lat, wall)
		if cpu.ok {
			r.cpu = append(r.cpu, ran)
		}
		r.rows += rows
	}
	slices.Sort(r.lat)
	slices.Sort(r.cpu)
	if len(r.cpu) != len(r.lat) {
		r.cpu = nil // the meter stopped part-way
	}
	return r, nil
}

// runOnce runs the shape's i-th query and returns how many lots it gave.
func runOnce(ctx context.Context, svc *search.Service, old *bidding.Service, sh shape, i int) (int, error) {
	if len(sh.baseline) > 0 {
		list, err := old.Auctions(ctx, domain.AuctionFilter{Status: []domain.Status{domain.StatusOpen, domain.StatusScheduled},
			Query: sh.baseline[i%len(sh.baseline)], Limit: 50})
		return len(list), err
	}
	p, err := svc.Search(ctx, sh.queries[i%len(sh.queries)])
	return len(p.Auctions), err
}

// frequency is how many lots a word's query matches.
type frequency struct {
	word string
	n    int64
}

// frequencies counts the lots matching each word.
func frequencies(ctx context.Context, db *gorm.DB, words []string) ([]frequency, error) {
	var out []frequency
	for _, w := range words {
		var n int64
		err := db.WithContext(ctx).Raw("SELECT count(*) FROM auction_search WHERE document @@ to_tsquery('gavel', ?)",
			"'"+strings.ReplaceAll(w, "'", "''")+"'").Scan(&n).Error
		if err != nil {
			return nil, err
		}
		out = append(out, frequency{w, n})
	}
	return out, nil
}

// pick returns up to max words whose share of lots is within [lo, hi).
func pick(fs []frequency, total int, lo, hi float64, limit int) []string {
	var out []string
	for _, f := range fs {
		share := float64(f.n) / float64(total)
		if share >= lo && share < hi && len(out) < limit {
			out = append(out, f.word)
		}
	}
	return out
}

func buildShapes(ctx context.Context, db *gorm.DB, now time.Time, total int, progress func(string)) ([]shape, error) {
	start := time.Now()
	var words []string
	words = append(words, prose[:40]...)
	for _, o := range objects {
		if !strings.Contains(o, " ") {
			words = append(words, o)
		}
	}
	words = append(words, materials...)
	for i := 0; i < 20_000; i += 97 {
		words = append(words, newVocab(1, []int64{1}).makers[i])
	}
	fs, err := frequencies(ctx, db, words)
	if err != nil {
		return nil, err
	}
	common := pick(fs, total, 0.2, 1, 8)
	mid := pick(fs, total, 0.003, 0.03, 12)
	rare := pick(fs, total, 2/float64(total), 50/float64(total), 12)
	if len(common) == 0 || len(mid) == 0 || len(rare) == 0 {
		return nil, fmt.Errorf("the seeded words do not span the frequencies (common %d, medium %d, rare %d): seed more lots", len(common), len(mid), len(rare))
	}
	progress(fmt.Sprintf("picked query words by how many lots they match (%d words counted in %s): common (20%%+) %v; medium (0.3-3%%) %v; rare (2-50 lots) %v",
		len(words), time.Since(start).Round(time.Millisecond), common, mid, rare))
	var top []int64
	if err := db.Raw("SELECT id FROM categories WHERE parent_id IS NULL ORDER BY id").Scan(&top).Error; err != nil {
		return nil, err
	}
	subtree := func(id int64) []int64 {
		var ids []int64
		db.Raw("SELECT id FROM categories WHERE id = ? OR parent_id = ?", id, id).Scan(&ids)
		return ids
	}
	text := func(ws []string, sort domain.SearchSort) []domain.SearchQuery {
		out := make([]domain.SearchQuery, len(ws))
		for i, w := range ws {
			out[i] = domain.SearchQuery{Text: w, Sort: sort}
		}
		return out
	}
	var phrases []string
	for _, o := range objects {
		if strings.Count(o, " ") == 1 {
			phrases = append(phrases, `"`+o+`"`)
		}
	}
	var cats, browse, priceSorted []domain.SearchQuery
	lo, hi := int64(5000), int64(20000)
	for _, id := range top {
		ids := subtree(id)
		cats = append(cats, domain.SearchQuery{CategoryIDs: ids})
		browse = append(browse, domain.SearchQuery{CategoryIDs: ids, Currency: "EUR", MinPrice: &lo, MaxPrice: &hi, BuyNow: true})
		priceSorted = append(priceSorted, domain.SearchQuery{CategoryIDs: ids, Sort: domain.SortPriceLow})
	}
	var prices []domain.SearchQuery
	for _, p := range [][2]int64{{5000, 20000}, {100, 1000}, {100000, 500000}, {2500, 2600}} {
		a, b := p[0], p[1]
		prices = append(prices, domain.SearchQuery{Currency: "EUR", MinPrice: &a, MaxPrice: &b})
	}
	deep, err := deepCursors(ctx, db, now, []domain.SearchQuery{{}, {Text: common[0]}, {Sort: domain.SortNewest}}, 100)
	if err != nil {
		return nil, err
	}
	return []shape{
		{name: "word", example: "`" + mid[0] + "` (0.3-3% of lots)", queries: text(mid, "")},
		{name: "phrase", example: "`" + phrases[0] + "`", queries: text(phrases, "")},
		{name: "rare word", example: "`" + rare[0] + "` (2-50 lots)", queries: text(rare, "")},
		{name: "common word", example: "`" + common[0] + "` (20%+ of lots)", queries: text(common, "")},
		{name: "two words", example: "`" + mid[0] + " " + common[0] + "`", queries: text(pairs(mid, common), "")},
		{name: "category filter", example: "a top-level category and its children", queries: cats},
		{name: "price range", example: "EUR 50.00-200.00", queries: prices},
		{name: "ending soon", example: "`ending_within=1h`, sort ending", queries: []domain.SearchQuery{{EndingWithin: time.Hour}, {EndingWithin: 3 * time.Hour}}},
		{name: "deep keyset page", example: "page 101 (after 5,000 lots) of: all, a common word, newest", queries: deep},
		{name: "empty query with filters", example: "category + EUR 50-200 + buy it now", queries: browse},
		{name: "relevance sort", example: "`" + mid[0] + "`, sort=relevance", queries: text(mid, domain.SortRelevance)},
		{name: "price sort of a category", example: "a top-level category, sort=price_asc", queries: priceSorted},
		{name: "baseline: old title LIKE, medium word", example: "`lower(title) LIKE '%" + mid[0] + "%'`", baseline: mid},
		{name: "baseline: old title LIKE, rare word", example: "`lower(title) LIKE '%" + rare[0] + "%'`", baseline: rare},
	}, nil
}

// pairs combines medium and common words into two-word searches.
func pairs(a, b []string) []string {
	var out []string
	for i, w := range a {
		out = append(out, w+" "+b[i%len(b)])
	}
	return out
}

// deepCursors pages through each query to page+1 and returns the query
// with the cursor of that page.
func deepCursors(ctx context.Context, db *gorm.DB, now time.Time, qs []domain.SearchQuery, page int) ([]domain.SearchQuery, error) {
	svc := search.New(db, search.Options{Now: func() time.Time { return now }})
	var out []domain.SearchQuery
	for _, q := range qs {
		q.Limit = 50
		for range page {
			p, err := svc.Search(ctx, q)
			if err != nil {
				return nil, err
			}
			if p.Next == "" {
				break
			}
			q.After = p.Next
		}
		out = append(out, q)
	}
	return out, nil
}
