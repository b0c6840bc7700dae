-- +goose Up
-- Licenses (docs/licenses.md). A license row is written before its seal
-- signs (the intent), its signed document beside it as a version, in the
-- same transaction. The holder's identifier and the signed document (which
-- carries the face data) are encrypted with the field data key; the holder
-- is found by a blind index (HMAC-SM3) of the normalized identifier.
CREATE TABLE licenses (
    id                TEXT PRIMARY KEY,
    number            TEXT NOT NULL,
    type_code         TEXT NOT NULL,
    type_version      INTEGER NOT NULL CHECK (type_version >= 1),
    issuer            TEXT NOT NULL,
    holder_kind       TEXT NOT NULL CHECK (holder_kind IN ('person', 'organization')),
    holder_identifier BLOB NOT NULL,
    holder_index      TEXT NOT NULL,
    holder_name       TEXT NOT NULL,
    valid_from        BIGINT NOT NULL,
    valid_until       BIGINT,
    state             TEXT NOT NULL,
    version           BIGINT NOT NULL CHECK (version >= 1),
    status_issuer     TEXT NOT NULL,
    status_purposes   TEXT NOT NULL,
    status_list       INTEGER NOT NULL,
    status_index      INTEGER NOT NULL,
    seal_id           TEXT NOT NULL,
    issued_by         TEXT NOT NULL,
    issued_at         BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (type_code, number),
    UNIQUE (status_issuer, status_purposes, status_list, status_index)
);
CREATE INDEX licenses_issuer ON licenses (issuer, id);
CREATE INDEX licenses_holder ON licenses (holder_index);

-- One row per signed version; ref is license id '/' version, the row the
-- encrypted document is bound to.
CREATE TABLE license_versions (
    ref        TEXT PRIMARY KEY,
    license_id TEXT NOT NULL REFERENCES licenses (id),
    version    BIGINT NOT NULL CHECK (version >= 1),
    document   BLOB NOT NULL,
    seal_id    TEXT NOT NULL,
    use_id     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (license_id, version)
);

-- Counters of identifier sequences (per type and issuer) and of license
-- numbers (per numbering scope). Each is advanced by one auto-committed
-- UPDATE … RETURNING: gaps are allowed, duplicates never.
CREATE TABLE license_sequences (
    scope TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- +goose Down
DROP TABLE license_sequences;
DROP TABLE license_versions;
DROP TABLE licenses;
