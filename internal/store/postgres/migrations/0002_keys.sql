-- +goose Up
-- Platform settings that every process must agree on, such as the ID of the
-- master key the data keys are wrapped with.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Data keys, wrapped by the master key (envelope encryption). One per purpose.
CREATE TABLE data_keys (
    purpose       TEXT PRIMARY KEY,
    wrapped       BYTEA NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    rewrapped_at  BIGINT
);

-- Signing keys. A rotation adds a row with the same (org, name) and the next
-- version; the old row is retired and stays, so old signatures verify.
CREATE TABLE keys (
    id           TEXT PRIMARY KEY,
    org          TEXT NOT NULL REFERENCES orgs (credit_code),
    name         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    purpose      TEXT NOT NULL,
    algorithm    TEXT NOT NULL,
    backend      TEXT NOT NULL CHECK (backend IN ('software', 'pkcs11')),
    state        TEXT NOT NULL CHECK (state IN ('active', 'disabled', 'retired')),
    public_key   BYTEA NOT NULL,
    private_key  BYTEA,
    created_at   BIGINT NOT NULL,
    rotated_at   BIGINT,
    replaced_by  TEXT,
    UNIQUE (org, name, version)
);
CREATE INDEX keys_org ON keys (org, purpose, id);

-- +goose Down
DROP TABLE keys;
DROP TABLE data_keys;
DROP TABLE settings;
