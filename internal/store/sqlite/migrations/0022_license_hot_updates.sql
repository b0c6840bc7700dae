-- +goose Up
-- The twin of the PostgreSQL migration, where it matters (HOT updates
-- under SERIALIZABLE): the expiry index no longer depends on the state,
-- and a transition's sequence is counted on the license row.
DROP INDEX licenses_due;
CREATE INDEX licenses_due ON licenses (valid_until) WHERE valid_until IS NOT NULL;
ALTER TABLE licenses ADD COLUMN transitions BIGINT NOT NULL DEFAULT 0;
UPDATE licenses SET transitions = COALESCE((SELECT MAX(t.seq) FROM license_transitions t WHERE t.license_id = licenses.id), 0);

-- +goose Down
ALTER TABLE licenses DROP COLUMN transitions;
DROP INDEX licenses_due;
CREATE INDEX licenses_due ON licenses (valid_until) WHERE state IN ('active', 'suspended', 'pledged', 'reported-lost');
