-- +goose Up
-- Cascade cost (#14): a bid that cascades in a sale rewrites the row of
-- every later unclosed lot (ends_at moves), and since ends_at is indexed
-- each such update is non-HOT: one new entry in EVERY index of auctions
-- whose predicate the row meets. (status, ends_at) and (status, starts_at)
-- held every auction; the queries they served each ask for one set of
-- statuses, so partial indexes on those statuses serve them, and a running
-- lot, which is what bids and cascades update, is in neither:
-- - the scheduler's openings: status = 'scheduled' AND starts_at <= now;
-- - ended lots by end (watch notices, seller statements): status IN
--   ('closed', 'cancelled') AND ends_at in a range;
-- - running lots by end (the scheduler's closes, ending-soon notices,
--   search) already use auctions_live_ends.
CREATE INDEX auctions_scheduled_starts ON auctions (starts_at) WHERE status = 'scheduled';
CREATE INDEX auctions_ended_ends ON auctions (ends_at) WHERE status IN ('closed', 'cancelled');
DROP INDEX auctions_status_starts_at;
DROP INDEX auctions_status_ends_at;

-- A cascade also writes one `extended` event per moved lot. events_created_at
-- serves only the retention sweep, which deletes published events
-- (published_at IS NOT NULL AND created_at < cutoff): a new event is
-- unpublished, so it need not be in the index until the relay marks it
-- published. That update already adds the row to every index (it changes
-- published_at, which events_unpublished's predicate names, so it is never
-- HOT), so the sweep's index costs the insert of an event nothing.
CREATE INDEX events_published_created_at ON events (created_at) WHERE published_at IS NOT NULL;
DROP INDEX events_created_at;

-- +goose Down
CREATE INDEX events_created_at ON events (created_at);
DROP INDEX events_published_created_at;
CREATE INDEX auctions_status_ends_at ON auctions (status, ends_at);
CREATE INDEX auctions_status_starts_at ON auctions (status, starts_at);
DROP INDEX auctions_ended_ends;
DROP INDEX auctions_scheduled_starts;
