-- +goose Up
-- Photos of auctions (package media). The files live in the JetStream
-- Object Store under the SHA-256 of their bytes; a row names the three
-- sizes of one photo. ordinal is dense from 0 within an auction, and 0 is
-- the cover.
CREATE TABLE auction_photos (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    auction_id  BIGINT      NOT NULL REFERENCES auctions (id),
    ordinal     INTEGER     NOT NULL,
    thumb       TEXT        NOT NULL,
    medium      TEXT        NOT NULL,
    large       TEXT        NOT NULL,
    width       INTEGER     NOT NULL,
    height      INTEGER     NOT NULL,
    uploaded_by BIGINT      NOT NULL REFERENCES users (id),
    created_at  DATETIME    NOT NULL
);
CREATE INDEX auction_photos_auction ON auction_photos (auction_id, ordinal);
-- Deleting a file asks whether any photo still uses it.
CREATE INDEX auction_photos_thumb ON auction_photos (thumb);
CREATE INDEX auction_photos_medium ON auction_photos (medium);
CREATE INDEX auction_photos_large ON auction_photos (large);

-- +goose Down
DROP TABLE auction_photos;
