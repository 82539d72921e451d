-- +goose Up
-- Cascade cost (#14): a cascading bid writes its ~500 `extended` events
-- as one pack (bidding/eventpack.go), ~190 KB of text that PostgreSQL
-- compresses on insert, inside the bid's transaction, and decompresses
-- when the relay and lot replays read it. Inserting a 500-lot pack took
-- 2.0–2.3 ms with pglz (to 14 KB) and 1.2–1.4 ms with lz4 (to 18 KB),
-- commit included (docs/BENCHMARKS.md, "Session 8"). Only values written
-- from now on use it; existing rows keep pglz, and PostgreSQL reads
-- both. A server built without lz4 keeps pglz.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE events ALTER COLUMN payload SET COMPRESSION lz4;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE events ALTER COLUMN payload SET COMPRESSION default;
