-- +goose Up
-- Cascade cost (#14): a bid that cascades over 500 lots writes 500
-- `extended` events in its own transaction, and each event row wrote an
-- entry in three indexes: events_pkey, events_channel_seq and
-- events_unpublished. No query finds an event by its id through
-- events_pkey: replay reads a log by position (events_channel_seq,
-- events_sale_seq), the relay reads and marks unpublished events
-- (events_unpublished, whose predicate its marking names), and the
-- retention sweep finds published ones by age (events_published_created_at)
-- and deletes them by ctid. The id stays unique without the index, since
-- only its sequence assigns it. The relay's marking, which cannot be a HOT
-- update (published_at is in the predicates), writes one entry fewer too.
ALTER TABLE events DROP CONSTRAINT events_pkey;

-- +goose Down
ALTER TABLE events ADD PRIMARY KEY (id);
