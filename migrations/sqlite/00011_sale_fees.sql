-- +goose Up
-- A sale's fee schedule (issue #17, docs/INVOICING.md "Per-sale fees"):
-- JSON of domain.Fees, '' for none, as auctions.fees. Every lot of the
-- sale carries a copy in auctions.fees, so invoicing reads nothing here.
ALTER TABLE sales ADD COLUMN fees TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sales DROP COLUMN fees;
