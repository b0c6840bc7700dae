-- +goose Up
-- X.509 certificates: the platform root, the seal and issuer certificates it
-- issues, and certificates imported from external CAs with their roots.
-- Nothing here is ever deleted (R-SEAL-8); revocation is a column.
CREATE TABLE certificates (
    fingerprint       TEXT PRIMARY KEY,  -- SHA-256 of the DER, hex
    serial            TEXT NOT NULL,     -- hex
    key_id            TEXT REFERENCES keys (id),
    kind              TEXT NOT NULL CHECK (kind IN ('root', 'seal', 'issuer', 'external-root')),
    source            TEXT NOT NULL CHECK (source IN ('internal', 'external')),
    issuer            TEXT NOT NULL DEFAULT '',  -- fingerprint of the issuing root, '' for roots
    subject           TEXT NOT NULL,
    not_before        BIGINT NOT NULL,
    not_after         BIGINT NOT NULL,
    der               BYTEA NOT NULL,
    created_at        BIGINT NOT NULL,
    revoked_at        BIGINT,
    revocation_reason INTEGER
);
CREATE UNIQUE INDEX certificates_issuer_serial ON certificates (issuer, serial);
CREATE INDEX certificates_key ON certificates (key_id, not_after);
CREATE INDEX certificates_kind ON certificates (kind, created_at);

-- +goose Down
DROP TABLE certificates;
