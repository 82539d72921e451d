// Package searchbench is `gavel bench search`: it seeds a PostgreSQL
// database with a catalogue of lots whose words follow a realistic,
// long-tailed distribution, then times each shape of search query through
// the search package, with the old title LIKE query as a same-run
// baseline. It is a tool, not part of the server.
package searchbench

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// Vocabulary. Titles are "<adjective> <material> <object>[, <period>][ by
// <maker>]"; descriptions mix object words with common prose. Each list is
// drawn from with a Zipf law, so a few words are everywhere and most are
// rare, as in a real catalogue.
var (
	adjectives = []string{"antique", "vintage", "rare", "fine", "large", "small", "early", "signed", "original",
		"decorative", "pair of", "set of", "carved", "painted", "gilt", "engraved", "miniature", "hand-made", "restored",
		"unusual", "important", "superb", "charming", "elegant", "rustic", "ornate", "plain", "museum-quality",
		"provincial", "colonial", "oriental", "continental", "english", "french", "italian", "german", "dutch",
		"scandinavian", "japanese", "chinese"}
	materials = []string{"silver", "brass", "oak", "walnut", "mahogany", "porcelain", "bronze", "gold", "glass",
		"crystal", "leather", "pewter", "copper", "ivory-free", "marble", "teak", "rosewood", "cast iron", "enamel",
		"ceramic", "stoneware", "earthenware", "jade", "ebony", "pine", "cherry", "steel", "tin", "wool", "silk"}
	objects = []string{"clock", "carriage clock", "pocket watch", "wristwatch", "vase", "bowl", "teapot", "tea set",
		"chair", "armchair", "table", "side table", "cabinet", "chest of drawers", "mirror", "lamp", "candlestick",
		"painting", "oil painting", "watercolour", "print", "etching", "map", "globe", "book", "first edition",
		"manuscript", "letter", "coin", "medal", "stamp album", "banknote", "sword", "helmet", "camera", "lens",
		"radio", "gramophone", "typewriter", "sewing machine", "doll", "teddy bear", "model train", "model car",
		"tin toy", "ring", "necklace", "brooch", "bracelet", "earrings", "cufflinks", "handbag", "scarf", "hat",
		"wine", "whisky", "champagne", "decanter", "jug", "plate", "platter", "dinner service", "figurine", "sculpture",
		"bust", "rug", "carpet", "tapestry", "quilt", "guitar", "violin", "piano stool", "record", "poster", "telescope",
		"microscope", "barometer", "compass", "sextant", "music box"}
	periods = []string{"1890s", "1900s", "1920s", "1930s", "1950s", "1960s", "1970s", "victorian", "edwardian",
		"georgian", "regency", "art deco", "art nouveau", "mid-century", "19th century", "18th century", "baroque",
		"rococo", "bauhaus", "arts and crafts"}
	prose = []string{"the", "with", "and", "in", "of", "a", "good", "condition", "original", "some", "wear", "to",
		"minor", "signs", "age", "appropriate", "for", "its", "very", "working", "order", "has", "been", "cleaned",
		"serviced", "recently", "comes", "box", "case", "label", "marked", "base", "underside", "stamped", "maker's",
		"mark", "provenance", "private", "collection", "estate", "family", "by", "descent", "height", "width", "cm",
		"approximately", "weight", "grams", "no", "chips", "cracks", "repairs", "small", "scratch", "light", "patina",
		"surface", "finish", "hand", "painted", "decoration", "floral", "motif", "scene", "landscape", "portrait",
		"figure", "pattern", "design", "style", "manner", "after", "school", "attributed", "circa", "period", "example",
		"quality", "craftsmanship", "detail", "fitted", "interior", "key", "lock", "handles", "feet", "legs", "top",
		"drawer", "door", "glass", "frame", "mount", "strap", "chain", "clasp", "dial", "movement", "hands", "numerals",
		"pages", "binding", "cover", "spine", "illustrations", "plates", "edition", "copy", "rare", "scarce", "sought",
		"after", "collectors", "display", "shelf", "wall", "hanging", "pair", "set", "complete", "missing", "one",
		"two", "three", "each", "measures", "shipping", "insured", "worldwide", "pickup", "available", "please",
		"see", "photos", "questions", "welcome"}
)

// syllables make plausible maker names: a long tail of rare words.
var syllables = []string{"an", "ber", "cal", "dor", "el", "fen", "gar", "hol", "is", "jan", "kel", "lor", "mar",
	"nor", "ost", "pel", "quin", "ros", "sten", "tor", "ul", "van", "wil", "xan", "yor", "zel", "brek", "dru",
	"fal", "grim", "hart", "kros", "lind", "mott", "nash", "pratt", "rand", "sal", "thorn", "wick"}

// vocab is the drawn vocabulary of one seed run.
type vocab struct {
	rng                                          *rand.Rand
	adj, mat, obj, per, prose, maker, cat, price *rand.Zipf
	makers                                       []string
	leaves                                       []int64
}

func newVocab(seed uint64, leaves []int64) *vocab {
	rng := rand.New(rand.NewPCG(seed, 15))
	z := func(n int, s float64) *rand.Zipf { return rand.NewZipf(rng, s, 2, uint64(n-1)) }
	v := &vocab{rng: rng, leaves: leaves}
	for i := range 20_000 {
		a, b := syllables[i%len(syllables)], syllables[(i/len(syllables))%len(syllables)]
		c := syllables[(i/(len(syllables)*len(syllables)))%len(syllables)]
		v.makers = append(v.makers, a+b+c)
	}
	v.adj, v.mat, v.obj, v.per = z(len(adjectives), 1.1), z(len(materials), 1.1), z(len(objects), 1.05), z(len(periods), 1.1)
	v.prose, v.maker, v.cat = z(len(prose), 1.2), z(len(v.makers), 1.3), z(len(leaves), 1.1)
	return v
}

func (v *vocab) title() string {
	var b strings.Builder
	b.WriteString(adjectives[v.adj.Uint64()])
	b.WriteByte(' ')
	b.WriteString(materials[v.mat.Uint64()])
	b.WriteByte(' ')
	b.WriteString(objects[v.obj.Uint64()])
	if v.rng.IntN(3) == 0 {
		b.WriteString(", " + periods[v.per.Uint64()])
	}
	if v.rng.IntN(2) == 0 {
		b.WriteString(" by " + v.makers[v.maker.Uint64()])
	}
	return b.String()
}

func (v *vocab) description() string {
	n := 15 + v.rng.IntN(30)
	words := make([]string, 0, n+4)
	for i := range n {
		switch {
		case i%9 == 4:
			words = append(words, objects[v.obj.Uint64()])
		case i%13 == 7:
			words = append(words, materials[v.mat.Uint64()])
		default:
			words = append(words, prose[v.prose.Uint64()])
		}
	}
	if v.rng.IntN(4) == 0 {
		words = append(words, "from", "the", "workshop", "of", v.makers[v.maker.Uint64()])
	}
	return strings.Join(words, " ") + "."
}

// lot is one seeded auction row.
type lot struct {
	title, desc, currency, status        string
	category                             int64
	start, current, buyNow, bids         int64
	startsAt, endsAt, createdAt, updated time.Time
}

func (v *vocab) lot(now time.Time) lot {
	l := lot{title: v.title(), desc: v.description(), category: v.leaves[v.cat.Uint64()], currency: "EUR"}
	switch r := v.rng.IntN(10); {
	case r == 0:
		l.currency = "USD"
	case r == 1:
		l.currency = "GBP"
	}
	// Start prices spread from 1 to ~10,000 (log-uniform), in cents.
	l.start = int64(100 * math.Pow(10, v.rng.Float64()*4))
	switch r := v.rng.IntN(10); {
	case r < 6:
		l.status = "open"
		l.startsAt = now.Add(-time.Duration(v.rng.Int64N(int64(7 * 24 * time.Hour))))
		l.endsAt = now.Add(time.Minute + time.Duration(v.rng.Int64N(int64(14*24*time.Hour))))
	case r < 7:
		l.status = "scheduled"
		l.startsAt = now.Add(time.Hour + time.Duration(v.rng.Int64N(int64(20*24*time.Hour))))
		l.endsAt = l.startsAt.Add(7 * 24 * time.Hour)
	default:
		l.status = "closed"
		l.endsAt = now.Add(-time.Duration(v.rng.Int64N(int64(365 * 24 * time.Hour))))
		l.startsAt = l.endsAt.Add(-7 * 24 * time.Hour)
	}
	if l.status != "scheduled" && v.rng.IntN(10) < 4 {
		l.bids = 1 + v.rng.Int64N(40)
		l.current = l.start + l.start*l.bids/10
	} else if v.rng.IntN(5) == 0 {
		l.buyNow = l.start * 3
	}
	l.createdAt = l.startsAt.Add(-time.Hour)
	l.updated = l.createdAt
	return l
}

// benchSeller is the seller of every seeded lot; the user's creation time
// is the seed's clock.
const benchSeller = "bench-seller@example.com"

// seed inserts n lots by COPY, then builds the search documents and their
// GIN index in bulk (row triggers and an index maintained row by row would
// take several times as long), and analyzes the tables.
func seed(ctx context.Context, db *gorm.DB, n int, now time.Time, progress func(string)) error {
	var seller int64
	if err := db.Raw(`INSERT INTO users (email, name, password_hash, created_at) VALUES (?, 'Bench Seller', 'x', ?)
		RETURNING id`, benchSeller, now).Scan(&seller).Error; err != nil {
		return err
	}
	var leaves []int64
	if err := db.Raw("SELECT id FROM categories WHERE parent_id IS NOT NULL ORDER BY id").Scan(&leaves).Error; err != nil || len(leaves) == 0 {
		return fmt.Errorf("no categories to file lots under (migrations not applied?): %v", err)
	}
	v := newVocab(1, leaves)
	for _, q := range []string{
		"ALTER TABLE auctions DISABLE TRIGGER auctions_search_insert",
		"DROP INDEX auction_search_document",
	} {
		if err := db.Exec(q).Error; err != nil {
			return err
		}
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := copyLots(ctx, sqlDB, v, seller, n, now); err != nil {
		return err
	}
	progress(fmt.Sprintf("copied %d lots in %s", n, time.Since(start).Round(time.Second)))
	start = time.Now()
	for _, q := range []string{
		"SET maintenance_work_mem = '512MB'",
		`INSERT INTO auction_search (auction_id, document) SELECT id,
			setweight(to_tsvector('gavel', title), 'A') || setweight(to_tsvector('gavel', description), 'B') FROM auctions`,
		"CREATE INDEX auction_search_document ON auction_search USING GIN (document)",
		"ALTER TABLE auctions ENABLE TRIGGER auctions_search_insert",
		"VACUUM ANALYZE auctions",
		"VACUUM ANALYZE auction_search",
	} {
		if err := db.Exec(q).Error; err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(q)[0], err)
		}
	}
	progress(fmt.Sprintf("built the search documents, their GIN index and statistics in %s", time.Since(start).Round(time.Second)))
	return nil
}

// copyLots streams n generated lots into auctions with COPY.
func copyLots(ctx context.Context, sqlDB *sql.DB, v *vocab, seller int64, n int, now time.Time) error {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	cols := []string{"seller_id", "title", "description", "currency", "category_id", "start_price", "buy_now_price",
		"starts_at", "ends_at", "original_ends_at", "soft_close_seconds", "max_extension_seconds", "status",
		"current_price", "bid_count", "seq", "created_at", "updated_at"}
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		i := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			i++
			l := v.lot(now)
			return []any{seller, l.title, l.desc, l.currency, l.category, l.start, l.buyNow, l.startsAt, l.endsAt, l.endsAt,
				120, 3600, l.status, l.current, l.bids, l.bids, l.createdAt, l.updated}, nil
		})
		_, err := pc.CopyFrom(ctx, pgx.Identifier{"auctions"}, cols, src)
		return err
	})
}
