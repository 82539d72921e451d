-- +goose Up
-- Discovery (#15): categories, full-text search and watchlists. The
-- PostgreSQL file explains each table.
CREATE TABLE categories (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id  BIGINT   REFERENCES categories (id),
    slug       TEXT     NOT NULL,
    name       TEXT     NOT NULL,
    position   INTEGER  NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
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
SELECT slug, name, position, strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'), strftime('%Y-%m-%d %H:%M:%f+00:00', 'now') FROM v;

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
SELECT p.id, v.slug, v.name, v.position, strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'), strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')
FROM v JOIN categories p ON p.slug = v.parent;

ALTER TABLE auctions ADD COLUMN category_id BIGINT REFERENCES categories (id);
CREATE INDEX auctions_status_category ON auctions (status, category_id);
CREATE INDEX auctions_live_ends ON auctions (ends_at, id) WHERE status IN ('open', 'scheduled');

-- FTS5 over the auctions table itself (external content), kept in step by
-- triggers. The porter tokenizer stems English words; unicode61 splits
-- every script on Unicode word boundaries and folds case.
CREATE VIRTUAL TABLE auction_fts USING fts5(
    title, description, content = 'auctions', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 0'
);
-- +goose StatementBegin
CREATE TRIGGER auctions_fts_insert AFTER INSERT ON auctions BEGIN
    INSERT INTO auction_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER auctions_fts_update AFTER UPDATE OF title, description ON auctions BEGIN
    INSERT INTO auction_fts (auction_fts, rowid, title, description) VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO auction_fts (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER auctions_fts_delete AFTER DELETE ON auctions BEGIN
    INSERT INTO auction_fts (auction_fts, rowid, title, description) VALUES ('delete', old.id, old.title, old.description);
END;
-- +goose StatementEnd
INSERT INTO auction_fts (auction_fts) VALUES ('rebuild');

CREATE TABLE watchlist (
    user_id    BIGINT   NOT NULL REFERENCES users (id),
    auction_id BIGINT   NOT NULL REFERENCES auctions (id),
    created_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, auction_id)
);
CREATE INDEX watchlist_auction ON watchlist (auction_id, user_id);

CREATE TABLE watch_notices (
    auction_id   BIGINT   NOT NULL,
    kind         TEXT     NOT NULL,
    threshold_s  INTEGER  NOT NULL,
    last_user_id BIGINT   NOT NULL DEFAULT 0,
    done         BOOLEAN  NOT NULL DEFAULT FALSE,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL,
    PRIMARY KEY (auction_id, kind, threshold_s)
);
CREATE INDEX watch_notices_done ON watch_notices (updated_at) WHERE done;

-- +goose Down
DROP TABLE watch_notices;
DROP TABLE watchlist;
DROP TRIGGER auctions_fts_delete;
DROP TRIGGER auctions_fts_update;
DROP TRIGGER auctions_fts_insert;
DROP TABLE auction_fts;
DROP INDEX auctions_live_ends;
DROP INDEX auctions_status_category;
ALTER TABLE auctions DROP COLUMN category_id;
DROP TABLE categories;
