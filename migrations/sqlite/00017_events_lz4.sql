-- +goose Up
-- PostgreSQL's 00017 compresses event packs with lz4; SQLite stores them
-- uncompressed and has nothing to change. Kept so that both dialects
-- share their migration versions.
SELECT 1;

-- +goose Down
SELECT 1;
