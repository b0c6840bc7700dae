-- +goose Up
-- Hashes of the complete subtrees of the audit log's Merkle tree above the
-- leaves, kept as entries are appended, so that an inclusion or consistency
-- proof reads O(log n) rows instead of rehashing every leaf.
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

-- +goose Down
DROP TABLE audit_nodes;
