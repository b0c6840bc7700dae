-- +goose Up
-- A change of a license's state must not touch its indexes, so that
-- PostgreSQL updates the row in place (a HOT update) and concurrent
-- transitions of other licenses, which read the same index pages under
-- SERIALIZABLE, do not conflict with it. The expiry index therefore no
-- longer depends on the state (expiry filters it when it scans), the table
-- leaves room on each page for the new row versions, and a transition's
-- sequence is counted on the license row the transition writes anyway
-- instead of read as MAX(seq) from the history's index.
DROP INDEX licenses_due;
CREATE INDEX licenses_due ON licenses (valid_until) WHERE valid_until IS NOT NULL;
ALTER TABLE licenses SET (fillfactor = 80);
ALTER TABLE licenses ADD COLUMN transitions BIGINT NOT NULL DEFAULT 0;
UPDATE licenses SET transitions = COALESCE((SELECT MAX(t.seq) FROM license_transitions t WHERE t.license_id = licenses.id), 0);

-- +goose Down
ALTER TABLE licenses DROP COLUMN transitions;
ALTER TABLE licenses RESET (fillfactor);
DROP INDEX licenses_due;
CREATE INDEX licenses_due ON licenses (valid_until) WHERE state IN ('active', 'suspended', 'pledged', 'reported-lost');
