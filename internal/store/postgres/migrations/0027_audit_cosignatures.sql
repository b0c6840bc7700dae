-- +goose Up
-- Witness cosignatures of the audit log's checkpoints (C2SP
-- tlog-cosignature v1, docs/audit.md "Witnesses"): one row per witness and
-- tree size. The checkpoint body is not kept: it is the log's origin, size
-- and root, which the tree gives again. line is the signature line exactly
-- as a signed note carries it, so that a served checkpoint appends it
-- unchanged; cosigned_at is the witness's timestamp (seconds, as signed),
-- received_at when the platform accepted it (microseconds).
CREATE TABLE audit_cosignatures (
    witness     TEXT NOT NULL,
    size        BIGINT NOT NULL,
    root        BYTEA NOT NULL,
    cosigned_at BIGINT NOT NULL,
    line        TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (witness, size)
);
-- The cosignatures of one checkpoint, which its served copy carries.
CREATE INDEX audit_cosignatures_size ON audit_cosignatures (size);

-- +goose Down
DROP TABLE audit_cosignatures;
