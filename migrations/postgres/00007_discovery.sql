-- +goose Up
-- Discovery (#15): categories, full-text search and watchlists.

-- A two-level category tree: parent_id is NULL for a top-level category
-- and names a top-level one otherwise (the category service keeps it to
-- two levels). Slugs are unique over the whole tree, so /categories/{slug}
-- needs no parent in its path.
CREATE TABLE categories (
    id         BIGSERIAL PRIMARY KEY,
    parent_id  BIGINT      REFERENCES categories (id),
    slug       TEXT        NOT NULL,
    name       TEXT        NOT NULL,
    position   INTEGER     NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX categories_slug ON categories (slug);
CREATE INDEX categories_parent ON categories (parent_id);

WITH v (slug, name, position) AS (VALUES
    ('art', 'Art', 1),
    ('jewellery-and-watches', 'Jewellery & Watches', 2),
    ('collectibles', 'Collectibles', 3),
    ('antiques', 'Antiques', 4),
    ('furniture', 'Furniture', 5),
    ('books-and-manuscripts', 'Books & Manuscripts', 6),
    ('fashion', 'Fashion', 7),
    ('wine-and-spirits', 'Wine & Spirits', 8),
    ('cars-and-motorbikes', 'Cars & Motorbikes', 9),
    ('toys-and-models', 'Toys & Models', 10),
    ('electronics-and-cameras', 'Electronics & Cameras', 11),
    ('music', 'Music', 12),
    ('home-and-garden', 'Home & Garden', 13)
)
INSERT INTO categories (slug, name, position, created_at, updated_at)
SELECT slug, name, position, now(), now() FROM v;

WITH v (parent, slug, name, position) AS (VALUES
    ('art', 'paintings', 'Paintings', 1),
    ('art', 'prints', 'Prints & Multiples', 2),
    ('art', 'drawings', 'Drawings & Watercolours', 3),
    ('art', 'sculpture', 'Sculpture', 4),
    ('art', 'photography', 'Photography', 5),
    ('jewellery-and-watches', 'rings', 'Rings', 1),
    ('jewellery-and-watches', 'necklaces', 'Necklaces & Pendants', 2),
    ('jewellery-and-watches', 'earrings', 'Earrings', 3),
    ('jewellery-and-watches', 'bracelets', 'Bracelets', 4),
    ('jewellery-and-watches', 'wristwatches', 'Wristwatches', 5),
    ('jewellery-and-watches', 'pocket-watches', 'Pocket Watches', 6),
    ('collectibles', 'coins', 'Coins', 1),
    ('collectibles', 'stamps', 'Stamps', 2),
    ('collectibles', 'banknotes', 'Banknotes', 3),
    ('collectibles', 'militaria', 'Militaria', 4),
    ('collectibles', 'sports-memorabilia', 'Sports Memorabilia', 5),
    ('collectibles', 'comics', 'Comics', 6),
    ('antiques', 'clocks', 'Clocks', 1),
    ('antiques', 'silver', 'Silver', 2),
    ('antiques', 'ceramics', 'Ceramics & Porcelain', 3),
    ('antiques', 'glass', 'Glass', 4),
    ('antiques', 'rugs', 'Rugs & Carpets', 5),
    ('furniture', 'chairs', 'Chairs', 1),
    ('furniture', 'tables', 'Tables', 2),
    ('furniture', 'cabinets', 'Cabinets & Storage', 3),
    ('furniture', 'lighting', 'Lighting', 4),
    ('furniture', 'design-classics', 'Design Classics', 5),
    ('books-and-manuscripts', 'rare-books', 'Rare Books', 1),
    ('books-and-manuscripts', 'maps', 'Maps & Atlases', 2),
    ('books-and-manuscripts', 'autographs', 'Manuscripts & Autographs', 3),
    ('fashion', 'handbags', 'Handbags', 1),
    ('fashion', 'clothing', 'Clothing', 2),
    ('fashion', 'shoes', 'Shoes', 3),
    ('fashion', 'fashion-accessories', 'Accessories', 4),
    ('wine-and-spirits', 'wine', 'Wine', 1),
    ('wine-and-spirits', 'whisky', 'Whisky', 2),
    ('wine-and-spirits', 'champagne', 'Champagne', 3),
    ('wine-and-spirits', 'spirits', 'Other Spirits', 4),
    ('cars-and-motorbikes', 'classic-cars', 'Classic Cars', 1),
    ('cars-and-motorbikes', 'motorbikes', 'Motorbikes', 2),
    ('cars-and-motorbikes', 'automobilia', 'Automobilia', 3),
    ('toys-and-models', 'model-trains', 'Model Trains', 1),
    ('toys-and-models', 'model-cars', 'Model Cars', 2),
    ('toys-and-models', 'dolls', 'Dolls', 3),
    ('toys-and-models', 'construction-toys', 'Construction Toys', 4),
    ('toys-and-models', 'vintage-toys', 'Vintage Toys', 5),
    ('electronics-and-cameras', 'cameras', 'Cameras', 1),
    ('electronics-and-cameras', 'lenses', 'Lenses', 2),
    ('electronics-and-cameras', 'audio', 'Audio', 3),
    ('electronics-and-cameras', 'vintage-computers', 'Vintage Computers', 4),
    ('music', 'instruments', 'Instruments', 1),
    ('music', 'records', 'Vinyl Records', 2),
    ('music', 'music-memorabilia', 'Music Memorabilia', 3),
    ('home-and-garden', 'garden', 'Garden', 1),
    ('home-and-garden', 'kitchen', 'Kitchen', 2),
    ('home-and-garden', 'tools', 'Tools', 3),
    ('home-and-garden', 'decorative-objects', 'Decorative Objects', 4)
)
INSERT INTO categories (parent_id, slug, name, position, created_at, updated_at)
SELECT p.id, v.slug, v.name, v.position, now(), now() FROM v JOIN categories p ON p.slug = v.parent;

-- Optional on rows listed before categories existed.
ALTER TABLE auctions ADD COLUMN category_id BIGINT REFERENCES categories (id);
-- Category filters and the open-lot counts per category (an index-only
-- scan of the open range).
CREATE INDEX auctions_status_category ON auctions (status, category_id);
-- Search results of running lots in end order (the default sort), and
-- their keyset pages. Bids do not change these columns, so a bid's UPDATE
-- stays a HOT update.
CREATE INDEX auctions_live_ends ON auctions (ends_at, id) WHERE status IN ('open', 'scheduled');
-- Statistics (no index, so nothing for a bid to maintain) on the price a
-- list shows, so the planner can tell a narrow price filter from a wide
-- one: with them it walks the end-order index for a browse with a price
-- band instead of reading every running lot of a large category.
CREATE STATISTICS auctions_shown_price ON (GREATEST(current_price, start_price)) FROM auctions;

-- Full-text search. The configuration "gavel" stems English words (ASCII
-- words go through Snowball's English stemmer, without a stop-word list,
-- so "the" or "a" are still searchable) and keeps every other word, in
-- any script, as it is written, lower-cased (the "simple" dictionary).
CREATE TEXT SEARCH DICTIONARY gavel_english (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION gavel (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION gavel
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH gavel_english;

-- The document lives beside the auction rather than in it: bids update
-- auction rows thousands of times a second, and a stored tsvector there
-- would be recomputed, rewritten and read back (SELECT *) with each one.
CREATE TABLE auction_search (
    auction_id BIGINT   PRIMARY KEY REFERENCES auctions (id) ON DELETE CASCADE,
    document   tsvector NOT NULL
);
CREATE INDEX auction_search_document ON auction_search USING GIN (document);

-- +goose StatementBegin
CREATE FUNCTION auction_search_sync() RETURNS trigger AS $$
BEGIN
    INSERT INTO auction_search (auction_id, document)
    VALUES (NEW.id, setweight(to_tsvector('gavel', NEW.title), 'A') || setweight(to_tsvector('gavel', NEW.description), 'B'))
    ON CONFLICT (auction_id) DO UPDATE SET document = EXCLUDED.document;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER auctions_search_insert AFTER INSERT ON auctions
    FOR EACH ROW EXECUTE FUNCTION auction_search_sync();
CREATE TRIGGER auctions_search_update AFTER UPDATE OF title, description ON auctions
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION auction_search_sync();
INSERT INTO auction_search (auction_id, document)
SELECT id, setweight(to_tsvector('gavel', title), 'A') || setweight(to_tsvector('gavel', description), 'B') FROM auctions;

-- Watchlists: who watches which lot.
CREATE TABLE watchlist (
    user_id    BIGINT      NOT NULL REFERENCES users (id),
    auction_id BIGINT      NOT NULL REFERENCES auctions (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, auction_id)
);
CREATE INDEX watchlist_auction ON watchlist (auction_id, user_id);

-- One row per (lot, notice): ending_soon at each threshold, extended,
-- closed. Its fan-out to the lot's watchers commits in chunks of users in
-- id order; last_user_id is the last user a committed chunk covered, and
-- it commits in the same transaction as that chunk's outbox rows, so each
-- watcher gets each notice exactly once whichever node sends it.
CREATE TABLE watch_notices (
    auction_id   BIGINT      NOT NULL,
    kind         TEXT        NOT NULL,
    threshold_s  INTEGER     NOT NULL,
    last_user_id BIGINT      NOT NULL DEFAULT 0,
    done         BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (auction_id, kind, threshold_s)
);
CREATE INDEX watch_notices_done ON watch_notices (updated_at) WHERE done;

-- +goose Down
DROP TABLE watch_notices;
DROP TABLE watchlist;
DROP TRIGGER auctions_search_update ON auctions;
DROP TRIGGER auctions_search_insert ON auctions;
DROP FUNCTION auction_search_sync();
DROP TABLE auction_search;
DROP TEXT SEARCH CONFIGURATION gavel;
DROP TEXT SEARCH DICTIONARY gavel_english;
DROP STATISTICS auctions_shown_price;
DROP INDEX auctions_live_ends;
DROP INDEX auctions_status_category;
ALTER TABLE auctions DROP COLUMN category_id;
DROP TABLE categories;
