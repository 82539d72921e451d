-- +goose Up
-- The outbox relay's turn. Relays on every API node take turns: a turn is
-- a lease that ends when its relay finishes the round or, if that relay
-- stalls (a paused or partitioned node), when expires_at passes. epoch
-- counts turns: a relay marks events published only while its epoch is
-- still the current one, so one that wakes after its turn was taken over
-- changes nothing. last_seq is the stream sequence of the message the last
-- turn published last, which the next turn's first message tells JetStream
-- to expect (Nats-Expected-Last-Sequence).
CREATE TABLE relay_lease (
    id            INT         PRIMARY KEY CHECK (id = 1),
    epoch         BIGINT      NOT NULL,
    holder        TEXT        NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    last_seq      BIGINT      NOT NULL
);
INSERT INTO relay_lease (id, epoch, holder, expires_at, last_seq) VALUES (1, 0, '', '-infinity', 0);

-- +goose Down
DROP TABLE relay_lease;
