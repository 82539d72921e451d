-- +goose Up
-- Cascade cost (#14): the PostgreSQL migration drops events_pkey, an index
-- no query used, which every event row paid for. SQLite's INTEGER PRIMARY
-- KEY is the rowid itself and costs no index, so it stays.
SELECT 1;

-- +goose Down
SELECT 1;
