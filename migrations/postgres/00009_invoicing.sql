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
ALTER TABLE auctions ADD COLUMN settled_at TIMESTAMPTZ;
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
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE platform_settings (
    name       TEXT        PRIMARY KEY,
    value      TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
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
    id                   BIGSERIAL   PRIMARY KEY,
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
    issued_at            TIMESTAMPTZ NOT NULL,
    due_at               TIMESTAMPTZ NOT NULL,
    status               TEXT        NOT NULL,
    paid_at              TIMESTAMPTZ,
    payment_method       TEXT        NOT NULL DEFAULT '',
    payment_reference    TEXT        NOT NULL DEFAULT '',
    shipped_at           TIMESTAMPTZ,
    collected_at         TIMESTAMPTZ,
    tracking             TEXT        NOT NULL DEFAULT '',
    cancelled_at         TIMESTAMPTZ,
    credit_note_id       BIGINT,
    overdue_notified_at  TIMESTAMPTZ,
    updated_at           TIMESTAMPTZ NOT NULL
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
    chosen_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE offers (
    id         BIGSERIAL   PRIMARY KEY,
    auction_id BIGINT      NOT NULL REFERENCES auctions (id),
    seller_id  BIGINT      NOT NULL REFERENCES users (id),
    buyer_id   BIGINT      NOT NULL REFERENCES users (id),
    kind       TEXT        NOT NULL,
    amount     BIGINT      NOT NULL,
    currency   TEXT        NOT NULL,
    status     TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    decided_at TIMESTAMPTZ,
    invoice_id BIGINT
);
-- At most one open offer per lot.
CREATE UNIQUE INDEX offers_one_open ON offers (auction_id) WHERE status = 'open';
CREATE INDEX offers_buyer ON offers (buyer_id, id);
CREATE INDEX offers_auction ON offers (auction_id);
CREATE INDEX offers_due ON offers (expires_at) WHERE status = 'open';

-- Immutability, enforced by the database itself.
-- +goose StatementBegin
CREATE FUNCTION invoices_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'invoices are never deleted: issue a credit note';
    END IF;
    IF OLD.status = 'cancelled' THEN
        RAISE EXCEPTION 'invoice % was cancelled by a credit note and is final', OLD.id;
    END IF;
    IF (NEW.kind, NEW.seller_id, NEW.buyer_id, NEW.number, NEW.sale_id, NEW.credit_for, NEW.offer_id, NEW.currency,
        NEW.seller_name, NEW.seller_email, NEW.buyer_name, NEW.buyer_email, NEW.payment_instructions,
        NEW.shipping_options, NEW.commission_bps, NEW.line_count, NEW.subtotal, NEW.reason, NEW.issued_at, NEW.due_at)
       IS DISTINCT FROM
       (OLD.kind, OLD.seller_id, OLD.buyer_id, OLD.number, OLD.sale_id, OLD.credit_for, OLD.offer_id, OLD.currency,
        OLD.seller_name, OLD.seller_email, OLD.buyer_name, OLD.buyer_email, OLD.payment_instructions,
        OLD.shipping_options, OLD.commission_bps, OLD.line_count, OLD.subtotal, OLD.reason, OLD.issued_at, OLD.due_at) THEN
        RAISE EXCEPTION 'issued invoice % cannot be changed: issue a credit note', OLD.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_guard();

-- +goose StatementBegin
CREATE FUNCTION invoice_lines_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'invoice lines cannot be changed: issue a credit note';
    END IF;
    IF (SELECT count(*) FROM invoice_lines WHERE invoice_id = NEW.invoice_id)
       >= (SELECT line_count FROM invoices WHERE id = NEW.invoice_id) THEN
        RAISE EXCEPTION 'invoice % is complete: no line can be added', NEW.invoice_id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER invoice_lines_immutable BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_guard();

-- +goose StatementBegin
CREATE FUNCTION invoice_checkouts_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'a checkout cannot be changed';
    END IF;
    IF (SELECT status FROM invoices WHERE id = NEW.invoice_id) IS DISTINCT FROM 'issued' THEN
        RAISE EXCEPTION 'invoice % is no longer open for checkout', NEW.invoice_id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER invoice_checkouts_immutable BEFORE INSERT OR UPDATE OR DELETE ON invoice_checkouts
    FOR EACH ROW EXECUTE FUNCTION invoice_checkouts_guard();

-- +goose StatementBegin
CREATE FUNCTION invoices_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'invoices are never deleted';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER invoices_no_truncate BEFORE TRUNCATE ON invoices
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_no_truncate();
CREATE TRIGGER invoice_lines_no_truncate BEFORE TRUNCATE ON invoice_lines
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_no_truncate();
CREATE TRIGGER invoice_checkouts_no_truncate BEFORE TRUNCATE ON invoice_checkouts
    FOR EACH STATEMENT EXECUTE FUNCTION invoices_no_truncate();

-- +goose Down
DROP TABLE offers;
DROP TABLE invoice_checkouts;
DROP TABLE invoice_lines;
DROP TABLE invoices;
DROP FUNCTION invoices_no_truncate();
DROP FUNCTION invoice_checkouts_guard();
DROP FUNCTION invoice_lines_guard();
DROP FUNCTION invoices_guard();
DROP TABLE invoice_counters;
DROP TABLE platform_settings;
DROP TABLE seller_settings;
DROP INDEX auctions_unsettled;
ALTER TABLE auctions DROP COLUMN settled_at;
ALTER TABLE auctions DROP COLUMN fees;
