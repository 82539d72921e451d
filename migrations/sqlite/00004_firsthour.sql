-- +goose Up
-- SQLite has no TRUNCATE: a DELETE without WHERE meets the row trigger of
-- 00001. The rest mirrors the PostgreSQL migration.

-- A leader raising their own maximum is no public line of the history.
ALTER TABLE bids ADD COLUMN raised BOOLEAN NOT NULL DEFAULT FALSE;

-- Automatic bids: what the engine bid from hidden maxima in answer to the
-- bid at (auction_id, seq), in order (pos 1, 2).
CREATE TABLE auto_bids (
    auction_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    pos        INTEGER NOT NULL,
    bidder_id  INTEGER NOT NULL,
    amount     INTEGER NOT NULL,
    PRIMARY KEY (auction_id, seq, pos)
);

-- Why an auction was cancelled, as its watchers were told.
ALTER TABLE auctions ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';

-- Facts about the installation itself, such as demo=true.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
ALTER TABLE auctions DROP COLUMN cancel_reason;
DROP TABLE auto_bids;
ALTER TABLE bids DROP COLUMN raised;
