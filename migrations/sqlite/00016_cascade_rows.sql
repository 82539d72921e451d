-- +goose Up
-- Cascade cost (#14): the PostgreSQL migration explains ends_floor, a
-- lower bound of ends_at that the end-order indexes use, so that a
-- cascade's move of a later lot (which leaves the floor alone) writes no
-- index entry there. SQLite has no HOT updates; the column and indexes are
-- here so that both dialects run the same queries and keep the same rule.
ALTER TABLE auctions ADD COLUMN ends_floor DATETIME;
UPDATE auctions SET ends_floor = ends_at;

-- Rows inserted without a floor (raw SQL, bulk loads) start at their end.
-- +goose StatementBegin
CREATE TRIGGER auctions_ends_floor_insert AFTER INSERT ON auctions
    WHEN NEW.ends_floor IS NULL
BEGIN
    UPDATE auctions SET ends_floor = NEW.ends_at WHERE id = NEW.id;
END;
-- +goose StatementEnd

CREATE INDEX auctions_live_floor ON auctions (ends_floor, id) WHERE status IN ('open', 'scheduled');
CREATE INDEX auctions_live_category_floor ON auctions (category_id, ends_floor, id)
    WHERE status IN ('open', 'scheduled');
CREATE INDEX auctions_ended_floor ON auctions (ends_floor) WHERE status IN ('closed', 'cancelled');
DROP INDEX auctions_live_ends;
DROP INDEX auctions_live_category_ends;
DROP INDEX auctions_ended_ends;

-- +goose Down
CREATE INDEX auctions_ended_ends ON auctions (ends_at) WHERE status IN ('closed', 'cancelled');
CREATE INDEX auctions_live_category_ends ON auctions (category_id, ends_at, id)
    WHERE status IN ('open', 'scheduled');
CREATE INDEX auctions_live_ends ON auctions (ends_at, id) WHERE status IN ('open', 'scheduled');
DROP INDEX auctions_ended_floor;
DROP INDEX auctions_live_category_floor;
DROP INDEX auctions_live_floor;
DROP TRIGGER auctions_ends_floor_insert;
ALTER TABLE auctions DROP COLUMN ends_floor;
