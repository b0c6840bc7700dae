-- +goose Up
-- Audit entries are sequenced in the transaction of the action they record
-- and integrated into the Merkle tree afterwards, in batches, by one
-- integrator at a time (docs/audit.md). A write transaction only inserts a
-- row here: no row is shared between writers. seq is the rowid: SQLite
-- hands out one above every row present, under the write lock, so the
-- integrator takes entries in the order they committed. (AUTOINCREMENT
-- would also keep numbers of integrated entries from coming back, at the
-- price of one more page written per commit; nothing needs that.) No index
-- on org: the queue holds about a second of entries, so a scan reads it.
CREATE TABLE audit_pending (
    seq     INTEGER PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    org     TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL
);

-- +goose Down
DROP TABLE audit_pending;
