-- +goose Up
-- The tamper-evident audit log (R-SEC-2): entries are the leaves of an
-- RFC 6962 Merkle tree whose state is the single audit_tree row; appends
-- take turns on that row.
CREATE TABLE audit_entries (
    idx      BIGINT PRIMARY KEY,
    at       BIGINT NOT NULL,
    actor    TEXT NOT NULL,
    org      TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT NOT NULL,
    details  TEXT NOT NULL,
    leaf     BYTEA NOT NULL  -- the canonical bytes the leaf hash covers
);
CREATE INDEX audit_entries_subject ON audit_entries (subject, idx);
CREATE INDEX audit_entries_actor ON audit_entries (actor, idx);

CREATE TABLE audit_tree (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    size   BIGINT NOT NULL,
    hashes BYTEA NOT NULL,  -- the compact range, 32-byte hashes concatenated
    root   BYTEA NOT NULL
);
INSERT INTO audit_tree (id, size, hashes, root) VALUES (1, 0, ''::bytea, ''::bytea);

-- +goose Down
DROP TABLE audit_tree;
DROP TABLE audit_entries;
