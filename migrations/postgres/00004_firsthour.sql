-- +goose Up
-- The audit log refuses UPDATE and DELETE row by row (00001); TRUNCATE
-- skips row triggers, so it needs a statement trigger of its own.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TRIGGER audit_log_no_truncate ON audit_log;
