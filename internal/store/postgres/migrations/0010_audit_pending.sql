-- +goose Up
-- Audit entries are sequenced in the transaction of the action they record
-- and integrated into the Merkle tree afterwards, in batches, by one
-- integrator at a time (docs/audit.md). A write transaction only inserts a
-- row here: no row is shared between writers, and the identity's sequence
-- hands out seq outside transactions, so it conflicts with nothing. No
-- index on org: the queue holds about a second of entries, so a scan reads
-- it.
CREATE TABLE audit_pending (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    org     TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL
);

-- +goose Down
DROP TABLE audit_pending;
