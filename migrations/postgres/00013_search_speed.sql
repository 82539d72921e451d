-- +goose Up
-- Search speed (#15): indexes for the shapes that missed p99 <= 50 ms with
-- a million lots. Each covers running lots only (the partial predicate the
-- search renders literally), so closed lots, most of a mature catalogue,
-- cost nothing here.

-- A category's running lots in end order: the default sort of a category
-- page, read one category at a time (search.fetchPerCategory) so that a
-- top-level category with its children is several short index ranges.
CREATE INDEX auctions_live_category_ends ON auctions (category_id, ends_at, id)
    WHERE status IN ('open', 'scheduled');

-- A category's running lots by the price a list shows. The price changes
-- with bids, so this index makes a bid's UPDATE a non-HOT update (a new
-- entry in each index of the row); docs/BENCHMARKS.md measures that cost.
-- Without it, a price sort of a large category sorted every one of its
-- running lots (0.5 s of CPU with a million lots).
CREATE INDEX auctions_live_category_price ON auctions (category_id, (GREATEST(current_price, start_price)), id)
    WHERE status IN ('open', 'scheduled');

-- Running lots with a buy-it-now price, per category, in end order, with
-- their currency and start price so that those filters run in the index.
-- A browse by category, price band and "buy it now" matched 0.1% of the
-- lots it walked in the end-order index. No column a bid changes is in
-- it (the first bid ends "buy it now": the search checks bid_count on the
-- row), so on its own it would keep bids' updates HOT; while the price
-- index makes them non-HOT, a bid on a lot with a buy-it-now price adds
-- one entry here too.
CREATE INDEX auctions_live_buy_now ON auctions (category_id, ends_at, id, currency, start_price)
    WHERE status IN ('open', 'scheduled') AND buy_now_price > 0;

-- +goose Down
DROP INDEX auctions_live_buy_now;
DROP INDEX auctions_live_category_price;
DROP INDEX auctions_live_category_ends;
