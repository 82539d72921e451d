-- +goose Up
-- Catalogue sales (issue #14): a sale's lots are auctions with a sale id,
-- a lot number (unique in the sale, and its order) and estimates.
CREATE TABLE sales (
    id                 BIGSERIAL PRIMARY KEY,
    seller_id          BIGINT      NOT NULL REFERENCES users (id),
    title              TEXT        NOT NULL,
    description        TEXT        NOT NULL DEFAULT '',
    terms              TEXT        NOT NULL DEFAULT '',
    currency           TEXT        NOT NULL,
    increment          BIGINT      NOT NULL DEFAULT 0,
    status             TEXT        NOT NULL,
    -- NULL on a draft that opens when it is published
    opens_at           TIMESTAMPTZ,
    first_close_at     TIMESTAMPTZ NOT NULL,
    gap_seconds        INTEGER     NOT NULL,
    soft_close_seconds INTEGER     NOT NULL,
    soft_close_mode    TEXT        NOT NULL,
    paused_at          TIMESTAMPTZ,
    -- head of the sale's event log (events.sale_seq), assigned under this
    -- row's lock in the transaction that writes the event
    event_seq          BIGINT      NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX sales_status_opens_at ON sales (status, opens_at);
CREATE INDEX sales_seller ON sales (seller_id);

ALTER TABLE auctions ADD COLUMN sale_id BIGINT REFERENCES sales (id);
ALTER TABLE auctions ADD COLUMN lot_number INTEGER;
ALTER TABLE auctions ADD COLUMN low_estimate BIGINT NOT NULL DEFAULT 0;
ALTER TABLE auctions ADD COLUMN high_estimate BIGINT NOT NULL DEFAULT 0;
-- Lot numbers are unique in a sale; the index also serves the cascade's
-- "every later lot" lookups.
CREATE UNIQUE INDEX auctions_sale_lot ON auctions (sale_id, lot_number) WHERE sale_id IS NOT NULL;

-- A lot event's position in its sale's log (and a sale's own events'),
-- NULL for events outside any sale's log.
ALTER TABLE events ADD COLUMN sale_id BIGINT;
ALTER TABLE events ADD COLUMN sale_seq BIGINT;
CREATE UNIQUE INDEX events_sale_seq ON events (sale_id, sale_seq) WHERE sale_id IS NOT NULL;

-- +goose Down
DROP INDEX events_sale_seq;
ALTER TABLE events DROP COLUMN sale_seq;
ALTER TABLE events DROP COLUMN sale_id;
DROP INDEX auctions_sale_lot;
ALTER TABLE auctions DROP COLUMN high_estimate;
ALTER TABLE auctions DROP COLUMN low_estimate;
ALTER TABLE auctions DROP COLUMN lot_number;
ALTER TABLE auctions DROP COLUMN sale_id;
DROP TABLE sales;
