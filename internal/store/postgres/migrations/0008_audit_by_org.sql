-- +goose Up
-- An organization reads the audit entries about its own data and seals
-- (R-SEC-2), in index order.
CREATE INDEX audit_entries_org ON audit_entries (org, idx);

-- +goose Down
DROP INDEX audit_entries_org;
