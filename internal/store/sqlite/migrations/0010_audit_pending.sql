-- +goose Up
-- Audit entries are sequenced in the transaction of the action they record
-- and integrated into the Merkle tree afterwards, in batches, by one
-- integrator at a time (docs/audit.md). A write transaction only inserts a
-- row here: no row is shared between writers. seq orders the entries the
-- integrator takes; AUTOINCREMENT never hands out a number twice.
CREATE TABLE audit_pending (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    org     TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX audit_pending_org ON audit_pending (org, seq);

-- +goose Down
DROP TABLE audit_pending;
