-- +goose Up
-- The senders' claim (notify/store.go) takes the due notices in
-- (next_attempt_at, id) order. With only next_attempt_at indexed it read
-- and sorted every due notice to return a few: 25–140 ms with a backlog
-- of 10,000, competing with bids (docs/BENCHMARKS.md, "Email notifier").
-- In this order the scan stops after the rows it returns.
CREATE INDEX notifications_due_order ON notifications (next_attempt_at, id) WHERE status = 'pending';
DROP INDEX notifications_due;

-- +goose Down
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
DROP INDEX notifications_due_order;
