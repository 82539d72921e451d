-- +goose Up
-- Cascade cost (#14): a cascade moves ~500 later lots, and while ends_at
-- was in an index each move was a non-HOT update (7 new index entries per
-- lot). ends_floor is a lower bound of ends_at that the indexes use
-- instead: every write of a lot sets it to ends_at, except a cascade's
-- move, which moves a lot only later and leaves the floor where it was, so
-- the move changes no indexed column and is a HOT update. ends_at stays
-- the truth; the queries that find lots by their end through these indexes
-- bound them by the floor and recheck ends_at (docs/SALES.md, "The end
-- floor"). No index may name ends_at again, or every move is non-HOT.
ALTER TABLE auctions ADD COLUMN ends_floor TIMESTAMPTZ;
UPDATE auctions SET ends_floor = ends_at;
ALTER TABLE auctions ALTER COLUMN ends_floor SET NOT NULL;

-- Rows inserted without a floor (raw SQL, bulk loads) start at their end.
-- +goose StatementBegin
CREATE FUNCTION auctions_ends_floor_default() RETURNS trigger AS $$
BEGIN
    NEW.ends_floor := COALESCE(NEW.ends_floor, NEW.ends_at);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER auctions_ends_floor_insert BEFORE INSERT ON auctions
    FOR EACH ROW EXECUTE FUNCTION auctions_ends_floor_default();

CREATE INDEX auctions_live_floor ON auctions (ends_floor, id) WHERE status IN ('open', 'scheduled');
CREATE INDEX auctions_live_category_floor ON auctions (category_id, ends_floor, id)
    WHERE status IN ('open', 'scheduled');
CREATE INDEX auctions_live_buy_now_floor ON auctions (category_id, ends_floor, id, currency, start_price)
    WHERE status IN ('open', 'scheduled') AND buy_now_price > 0;
-- Closed and cancelled lots: closing or cancelling writes the lot, which
-- sets its floor to its end, so here the floor IS the end.
CREATE INDEX auctions_ended_floor ON auctions (ends_floor) WHERE status IN ('closed', 'cancelled');
DROP INDEX auctions_live_ends;
DROP INDEX auctions_live_category_ends;
DROP INDEX auctions_live_buy_now;
DROP INDEX auctions_ended_ends;

-- A HOT update needs room for the new version on the row's own page, and a
-- cascade rewrites every lot of a sale, page by page, in one statement:
-- with full pages (fillfactor 100) 62% of the moves were HOT in
-- BenchmarkSaleBids, with 90 92%, with 70 97% (docs/BENCHMARKS.md). It
-- applies to pages filled from now on; existing rows keep their packing
-- until the table is rewritten.
ALTER TABLE auctions SET (fillfactor = 80);

-- +goose Down
ALTER TABLE auctions RESET (fillfactor);
CREATE INDEX auctions_ended_ends ON auctions (ends_at) WHERE status IN ('closed', 'cancelled');
CREATE INDEX auctions_live_buy_now ON auctions (category_id, ends_at, id, currency, start_price)
    WHERE status IN ('open', 'scheduled') AND buy_now_price > 0;
CREATE INDEX auctions_live_category_ends ON auctions (category_id, ends_at, id)
    WHERE status IN ('open', 'scheduled');
CREATE INDEX auctions_live_ends ON auctions (ends_at, id) WHERE status IN ('open', 'scheduled');
DROP INDEX auctions_ended_floor;
DROP INDEX auctions_live_buy_now_floor;
DROP INDEX auctions_live_category_floor;
DROP INDEX auctions_live_floor;
DROP TRIGGER auctions_ends_floor_insert ON auctions;
DROP FUNCTION auctions_ends_floor_default();
ALTER TABLE auctions DROP COLUMN ends_floor;
