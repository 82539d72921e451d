-- +goose Up
-- SQLite has no TRUNCATE: a DELETE without WHERE meets the row trigger of
-- 00001. Kept so both dialects share one migration history.
SELECT 1;

-- +goose Down
SELECT 1;
