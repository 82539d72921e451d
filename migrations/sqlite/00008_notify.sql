-- +goose Up
-- Email (docs/EMAIL.md). Accounts that existed before verification did
-- count as verified: nobody is locked out by the upgrade.
ALTER TABLE users ADD COLUMN email_verified_at DATETIME;
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
-- Changes with the password: sessions and reset links of another version
-- are spent.
ALTER TABLE users ADD COLUMN auth_version BIGINT NOT NULL DEFAULT 0;
UPDATE users SET email_verified_at = created_at;

-- One row per notice: the unique key makes each go out once whatever the
-- number of notifiers, redeliveries and restarts.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         BIGINT      NOT NULL,
    kind            TEXT        NOT NULL,
    subject_key     TEXT        NOT NULL,
    payload         TEXT        NOT NULL,
    status          TEXT        NOT NULL DEFAULT 'pending', -- pending, sent, failed
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    lease_until     DATETIME,
    last_error      TEXT        NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    sent_at         DATETIME
);
CREATE UNIQUE INDEX notifications_key ON notifications (user_id, kind, subject_key);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_failed ON notifications (id) WHERE status = 'failed';
CREATE INDEX notifications_user_kind_created ON notifications (user_id, kind, created_at);

-- The last notice of a kind per user and subject, for "at most one outbid
-- per lot per 10 minutes".
CREATE TABLE notification_throttle (
    user_id     BIGINT      NOT NULL,
    kind        TEXT        NOT NULL,
    subject_key TEXT        NOT NULL,
    last_at     DATETIME NOT NULL,
    PRIMARY KEY (user_id, kind, subject_key)
);

-- Kinds a user turned off or on; a missing row means the default (on).
CREATE TABLE notification_prefs (
    user_id BIGINT  NOT NULL,
    kind    TEXT    NOT NULL,
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- The development mailbox: with no SMTP server configured, mail is kept
-- here and administrators read it at /admin/mail.
CREATE TABLE mailbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id BIGINT      NOT NULL,
    message_id      TEXT        NOT NULL,
    kind            TEXT        NOT NULL,
    to_addr         TEXT        NOT NULL,
    subject         TEXT        NOT NULL,
    headers         TEXT        NOT NULL,
    text_body       TEXT        NOT NULL,
    html_body       TEXT        NOT NULL,
    created_at      DATETIME NOT NULL
);
CREATE UNIQUE INDEX mailbox_message_id ON mailbox (message_id);

-- Signing keys of links in email, made once and shared by every node.
CREATE TABLE notify_keys (
    name       TEXT        PRIMARY KEY,
    secret     TEXT        NOT NULL,
    created_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE notify_keys;
DROP TABLE mailbox;
DROP TABLE notification_prefs;
DROP TABLE notification_throttle;
DROP TABLE notifications;
ALTER TABLE users DROP COLUMN auth_version;
ALTER TABLE users DROP COLUMN time_zone;
ALTER TABLE users DROP COLUMN email_verified_at;
