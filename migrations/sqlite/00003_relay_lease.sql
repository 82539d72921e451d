-- +goose Up
-- The outbox relay's turn (see the PostgreSQL migration). SQLite means one
-- process, so the lease only keeps last_seq across restarts.
CREATE TABLE relay_lease (
    id            INTEGER  PRIMARY KEY CHECK (id = 1),
    epoch         INTEGER  NOT NULL,
    holder        TEXT     NOT NULL,
    expires_at    DATETIME NOT NULL,
    last_seq      INTEGER  NOT NULL
);
INSERT INTO relay_lease (id, epoch, holder, expires_at, last_seq) VALUES (1, 0, '', '1970-01-01 00:00:00+00:00', 0);

-- +goose Down
DROP TABLE relay_lease;
