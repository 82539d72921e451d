-- +goose Up
-- Cascade cost (#14): the same indexes as the PostgreSQL migration, which
-- explains them. There they spare each update of a running lot (every bid,
-- and every lot a cascade moves) two index entries, and each new event one;
-- here they keep the two schemas alike, and serve the same queries:
-- - the scheduler's openings: status = 'scheduled' AND starts_at <= now;
-- - ended lots by end (watch notices, seller statements): status IN
--   ('closed', 'cancelled') AND ends_at in a range;
-- - the retention sweep: published_at IS NOT NULL AND created_at < cutoff.
CREATE INDEX auctions_scheduled_starts ON auctions (starts_at) WHERE status = 'scheduled';
CREATE INDEX auctions_ended_ends ON auctions (ends_at) WHERE status IN ('closed', 'cancelled');
DROP INDEX auctions_status_starts_at;
DROP INDEX auctions_status_ends_at;
CREATE INDEX events_published_created_at ON events (created_at) WHERE published_at IS NOT NULL;
DROP INDEX events_created_at;

-- +goose Down
CREATE INDEX events_created_at ON events (created_at);
DROP INDEX events_published_created_at;
CREATE INDEX auctions_status_ends_at ON auctions (status, ends_at);
CREATE INDEX auctions_status_starts_at ON auctions (status, starts_at);
DROP INDEX auctions_ended_ends;
DROP INDEX auctions_scheduled_starts;
