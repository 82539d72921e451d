-- +goose Up
-- Search speed (#15): a category's running lots in end order. The
-- PostgreSQL migration adds price and buy-it-now indexes for a million
-- lots; the embedded SQLite database serves a laptop's catalogue, and
-- keeps bids' updates free of price indexes.
CREATE INDEX auctions_live_category_ends ON auctions (category_id, ends_at, id)
    WHERE status IN ('open', 'scheduled');

-- +goose Down
DROP INDEX auctions_live_category_ends;
