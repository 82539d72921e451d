-- +goose Up
-- The audit log refuses UPDATE and DELETE row by row (00001); TRUNCATE
-- skips row triggers, so it needs a statement trigger of its own.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- A leader raising their own maximum is no public line of the history.
ALTER TABLE bids ADD COLUMN raised BOOLEAN NOT NULL DEFAULT FALSE;

-- Automatic bids: what the engine bid from hidden maxima in answer to the
-- bid at (auction_id, seq), in order (pos 1, 2). The history shows them so
-- that it always explains the price and the leader. A recomputation
-- (struck bid, suspension) rewrites an auction's rows.
CREATE TABLE auto_bids (
    auction_id BIGINT   NOT NULL,
    seq        BIGINT   NOT NULL,
    pos        SMALLINT NOT NULL,
    bidder_id  BIGINT   NOT NULL,
    amount     BIGINT   NOT NULL,
    PRIMARY KEY (auction_id, seq, pos)
);

-- Why an auction was cancelled, as its watchers were told.
ALTER TABLE auctions ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';

-- Facts about the installation itself, such as demo=true on a database the
-- demo seeded, so the demo keeps running on every start.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
ALTER TABLE auctions DROP COLUMN cancel_reason;
DROP TABLE auto_bids;
ALTER TABLE bids DROP COLUMN raised;
DROP TRIGGER audit_log_no_truncate ON audit_log;
