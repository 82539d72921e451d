-- +goose Up
-- After the hammer (issue #17, docs/INVOICING.md): fees, invoices, credit
-- notes, payment and fulfilment, statements and offers after close.

-- A lot's fee schedule (JSON of domain.Fees; '' for none), copied when it
-- is listed or edited before its first bid: what bidders were shown is
-- what the winner pays.
ALTER TABLE auctions ADD COLUMN fees TEXT NOT NULL DEFAULT '';
-- When invoicing settled a closed lot: invoiced its winner, or found it
-- unsold. Lots that closed before invoicing existed are not invoiced
-- after the fact.
ALTER TABLE auctions ADD COLUMN settled_at DATETIME;
UPDATE auctions SET settled_at = updated_at WHERE status IN ('closed', 'cancelled');
CREATE INDEX auctions_unsettled ON auctions (id) WHERE status = 'closed' AND settled_at IS NULL;

-- A seller's defaults; commission_bps is set by admins (NULL: the
-- platform's default, platform_settings 'commission_bps').
CREATE TABLE seller_settings (
    user_id              BIGINT      PRIMARY KEY REFERENCES users (id),
    fees                 TEXT        NOT NULL DEFAULT '',
    currency             TEXT        NOT NULL DEFAULT '',
    payment_instructions TEXT        NOT NULL DEFAULT '',
    due_days             INTEGER     NOT NULL DEFAULT 14,
    commission_bps       BIGINT,
    updated_at           DATETIME NOT NULL
);

CREATE TABLE platform_settings (
    name       TEXT        PRIMARY KEY,
    value      TEXT        NOT NULL,
    updated_at DATETIME NOT NULL
);

-- The last number given per seller and kind (invoice, credit_note). The
-- row is locked by the UPDATE that takes the next number, until the
-- invoice commits: numbers have no gaps, and no two invoices share one.
CREATE TABLE invoice_counters (
    seller_id   BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    last_number BIGINT NOT NULL,
    PRIMARY KEY (seller_id, kind)
);

-- Invoices and credit notes. Everything down to due_at is the document
-- and never changes (trigger below); the columns after it are the
-- payment and fulfilment state.
CREATE TABLE invoices (
    id                   INTEGER     PRIMARY KEY AUTOINCREMENT,
    kind                 TEXT        NOT NULL,
    seller_id            BIGINT      NOT NULL REFERENCES users (id),
    buyer_id             BIGINT      NOT NULL REFERENCES users (id),
    number               BIGINT      NOT NULL,
    sale_id              BIGINT,
    credit_for           BIGINT      REFERENCES invoices (id),
    offer_id             BIGINT,
    currency             TEXT        NOT NULL,
    seller_name          TEXT        NOT NULL,
    seller_email         TEXT        NOT NULL,
    buyer_name           TEXT        NOT NULL,
    buyer_email          TEXT        NOT NULL,
    payment_instructions TEXT        NOT NULL,
    shipping_options     TEXT        NOT NULL,
    commission_bps       BIGINT      NOT NULL,
    line_count           INTEGER     NOT NULL,
    subtotal             BIGINT      NOT NULL,
    reason               TEXT        NOT NULL DEFAULT '',
    issued_at            DATETIME NOT NULL,
    due_at               DATETIME NOT NULL,
    status               TEXT        NOT NULL,
    paid_at              DATETIME,
    payment_method       TEXT        NOT NULL DEFAULT '',
    payment_reference    TEXT        NOT NULL DEFAULT '',
    shipped_at           DATETIME,
    collected_at         DATETIME,
    tracking             TEXT        NOT NULL DEFAULT '',
    cancelled_at         DATETIME,
    credit_note_id       BIGINT,
    overdue_notified_at  DATETIME,
    updated_at           DATETIME NOT NULL
);
CREATE UNIQUE INDEX invoices_number ON invoices (seller_id, kind, number);
CREATE UNIQUE INDEX invoices_credit_for ON invoices (credit_for) WHERE credit_for IS NOT NULL;
CREATE INDEX invoices_buyer ON invoices (buyer_id, id);
CREATE INDEX invoices_seller ON invoices (seller_id, id);
CREATE INDEX invoices_sale ON invoices (sale_id) WHERE sale_id IS NOT NULL;
CREATE INDEX invoices_overdue ON invoices (due_at) WHERE status = 'issued' AND overdue_notified_at IS NULL;

CREATE TABLE invoice_lines (
    invoice_id  BIGINT  NOT NULL REFERENCES invoices (id),
    position    INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    auction_id  BIGINT,
    lot_number  INTEGER NOT NULL DEFAULT 0,
    description TEXT    NOT NULL,
    rate_bps    BIGINT  NOT NULL DEFAULT 0,
    amount      BIGINT  NOT NULL,
    PRIMARY KEY (invoice_id, position)
);
CREATE INDEX invoice_lines_auction ON invoice_lines (auction_id);

-- The buyer's one choice of delivery or collection; its charge is the
-- invoice's shipping line.
CREATE TABLE invoice_checkouts (
    invoice_id   BIGINT      PRIMARY KEY REFERENCES invoices (id),
    option_index INTEGER     NOT NULL,
    choice       TEXT        NOT NULL,
    amount       BIGINT      NOT NULL,
    chosen_by    BIGINT      NOT NULL,
    chosen_at    DATETIME NOT NULL
);

CREATE TABLE offers (
    id         INTEGER     PRIMARY KEY AUTOINCREMENT,
    auction_id BIGINT      NOT NULL REFERENCES auctions (id),
    seller_id  BIGINT      NOT NULL REFERENCES users (id),
    buyer_id   BIGINT      NOT NULL REFERENCES users (id),
    kind       TEXT        NOT NULL,
    amount     BIGINT      NOT NULL,
    currency   TEXT        NOT NULL,
    status     TEXT        NOT NULL,
    expires_at DATETIME NOT NULL,
    created_at DATETIME NOT NULL,
    decided_at DATETIME,
    invoice_id BIGINT
);
-- At most one open offer per lot.
CREATE UNIQUE INDEX offers_one_open ON offers (auction_id) WHERE status = 'open';
CREATE INDEX offers_buyer ON offers (buyer_id, id);
CREATE INDEX offers_auction ON offers (auction_id);
CREATE INDEX offers_due ON offers (expires_at) WHERE status = 'open';

-- Immutability, enforced by the database itself.
-- +goose StatementBegin
CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices
BEGIN
    SELECT RAISE(ABORT, 'invoices are never deleted: issue a credit note');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoices_final BEFORE UPDATE ON invoices
    WHEN OLD.status = 'cancelled'
BEGIN
    SELECT RAISE(ABORT, 'an invoice cancelled by a credit note is final');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoices_immutable BEFORE UPDATE ON invoices
    WHEN NEW.kind IS NOT OLD.kind OR
    NEW.seller_id IS NOT OLD.seller_id OR
    NEW.buyer_id IS NOT OLD.buyer_id OR
    NEW.number IS NOT OLD.number OR
    NEW.sale_id IS NOT OLD.sale_id OR
    NEW.credit_for IS NOT OLD.credit_for OR
    NEW.offer_id IS NOT OLD.offer_id OR
    NEW.currency IS NOT OLD.currency OR
    NEW.seller_name IS NOT OLD.seller_name OR
    NEW.seller_email IS NOT OLD.seller_email OR
    NEW.buyer_name IS NOT OLD.buyer_name OR
    NEW.buyer_email IS NOT OLD.buyer_email OR
    NEW.payment_instructions IS NOT OLD.payment_instructions OR
    NEW.shipping_options IS NOT OLD.shipping_options OR
    NEW.commission_bps IS NOT OLD.commission_bps OR
    NEW.line_count IS NOT OLD.line_count OR
    NEW.subtotal IS NOT OLD.subtotal OR
    NEW.reason IS NOT OLD.reason OR
    NEW.issued_at IS NOT OLD.issued_at OR
    NEW.due_at IS NOT OLD.due_at
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice cannot be changed: issue a credit note');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoice_lines_no_update BEFORE UPDATE ON invoice_lines
BEGIN
    SELECT RAISE(ABORT, 'invoice lines cannot be changed: issue a credit note');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoice_lines_no_delete BEFORE DELETE ON invoice_lines
BEGIN
    SELECT RAISE(ABORT, 'invoice lines cannot be changed: issue a credit note');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoice_lines_complete BEFORE INSERT ON invoice_lines
    WHEN (SELECT count(*) FROM invoice_lines WHERE invoice_id = NEW.invoice_id)
        >= (SELECT line_count FROM invoices WHERE id = NEW.invoice_id)
BEGIN
    SELECT RAISE(ABORT, 'the invoice is complete: no line can be added');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoice_checkouts_no_update BEFORE UPDATE ON invoice_checkouts
BEGIN
    SELECT RAISE(ABORT, 'a checkout cannot be changed');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoice_checkouts_no_delete BEFORE DELETE ON invoice_checkouts
BEGIN
    SELECT RAISE(ABORT, 'a checkout cannot be changed');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER invoice_checkouts_open BEFORE INSERT ON invoice_checkouts
    WHEN (SELECT status FROM invoices WHERE id = NEW.invoice_id) IS NOT 'issued'
BEGIN
    SELECT RAISE(ABORT, 'the invoice is no longer open for checkout');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE offers;
DROP TABLE invoice_checkouts;
DROP TABLE invoice_lines;
DROP TABLE invoices;
DROP TABLE invoice_counters;
DROP TABLE platform_settings;
DROP TABLE seller_settings;
DROP INDEX auctions_unsettled;
ALTER TABLE auctions DROP COLUMN settled_at;
ALTER TABLE auctions DROP COLUMN fees;
