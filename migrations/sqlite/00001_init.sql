-- +goose Up
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT        NOT NULL,
    name          TEXT        NOT NULL,
    password_hash TEXT        NOT NULL,
    admin         BOOLEAN     NOT NULL DEFAULT FALSE,
    suspended     BOOLEAN     NOT NULL DEFAULT FALSE,
    -- position of the user's personal event log (outbid, won, suspended)
    event_seq     BIGINT      NOT NULL DEFAULT 0,
    created_at    DATETIME NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE auctions (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    seller_id             BIGINT      NOT NULL REFERENCES users (id),
    title                 TEXT        NOT NULL,
    description           TEXT        NOT NULL DEFAULT '',
    currency              TEXT        NOT NULL,
    start_price           BIGINT      NOT NULL,
    reserve_price         BIGINT      NOT NULL DEFAULT 0,
    buy_now_price         BIGINT      NOT NULL DEFAULT 0,
    increment             BIGINT      NOT NULL DEFAULT 0,
    starts_at             DATETIME NOT NULL,
    ends_at               DATETIME NOT NULL,
    original_ends_at      DATETIME NOT NULL,
    soft_close_seconds    INTEGER     NOT NULL,
    max_extension_seconds INTEGER     NOT NULL,
    status                TEXT        NOT NULL,
    current_price         BIGINT      NOT NULL DEFAULT 0,
    bid_count             INTEGER     NOT NULL DEFAULT 0,
    leader_id             BIGINT      REFERENCES users (id),
    leader_max            BIGINT      NOT NULL DEFAULT 0,
    leader_alias          TEXT        NOT NULL DEFAULT '',
    bidder_count          INTEGER     NOT NULL DEFAULT 0,
    seq                   BIGINT      NOT NULL DEFAULT 0,
    created_at            DATETIME NOT NULL,
    updated_at            DATETIME NOT NULL
);
CREATE INDEX auctions_status_ends_at ON auctions (status, ends_at);
CREATE INDEX auctions_status_starts_at ON auctions (status, starts_at);
CREATE INDEX auctions_seller ON auctions (seller_id);

-- A bidder's alias ("Bidder 3") is stable within one auction.
CREATE TABLE auction_bidders (
    auction_id BIGINT NOT NULL REFERENCES auctions (id),
    user_id    BIGINT NOT NULL REFERENCES users (id),
    alias      TEXT   NOT NULL,
    PRIMARY KEY (auction_id, user_id)
);
CREATE INDEX auction_bidders_user ON auction_bidders (user_id);

-- No foreign keys here: every foreign-key check takes a KEY SHARE lock on
-- the referenced row, which on a hot auction meant a tuple lock on every
-- bidder's user row per batch (-16% bids/s). Bids are written only by the
-- bidding service, under the auction's row lock, for users it just read.
CREATE TABLE bids (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    auction_id  BIGINT      NOT NULL,
    bidder_id   BIGINT      NOT NULL,
    amount      BIGINT      NOT NULL,
    max_amount  BIGINT      NOT NULL,
    buy_now     BOOLEAN     NOT NULL DEFAULT FALSE,
    seq         BIGINT      NOT NULL,
    received_at DATETIME NOT NULL,
    -- set when an admin suspends the bidder; voided bids no longer count
    voided      BOOLEAN     NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX bids_auction_seq ON bids (auction_id, seq);
CREATE INDEX bids_bidder ON bids (bidder_id);

-- The outbox, and the replay log realtime nodes resume from: one row per
-- event, written in the transaction that made the change.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_kind TEXT        NOT NULL,
    channel_id   BIGINT      NOT NULL,
    seq          BIGINT      NOT NULL,
    event_id     TEXT        NOT NULL,
    type         TEXT        NOT NULL,
    subject      TEXT        NOT NULL,
    payload      TEXT        NOT NULL,
    created_at   DATETIME NOT NULL,
    published_at DATETIME
);
CREATE UNIQUE INDEX events_channel_seq ON events (channel_kind, channel_id, seq);
CREATE INDEX events_unpublished ON events (id) WHERE published_at IS NULL;
CREATE INDEX events_created_at ON events (created_at);

CREATE TABLE idempotency_keys (
    user_id    BIGINT      NOT NULL,
    key        TEXT        NOT NULL,
    auction_id BIGINT      NOT NULL,
    receipt    TEXT        NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id   BIGINT      NOT NULL REFERENCES users (id),
    action     TEXT        NOT NULL,
    target_id  BIGINT      NOT NULL,
    reason     TEXT        NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- scs session store (shared by every node)
CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB       NOT NULL,
    expiry DATETIME NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- +goose Down
DROP TABLE sessions;
DROP TABLE audit_log;
DROP TABLE idempotency_keys;
DROP TABLE events;
DROP TABLE bids;
DROP TABLE auction_bidders;
DROP TABLE auctions;
DROP TABLE users;
