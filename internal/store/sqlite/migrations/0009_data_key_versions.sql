-- +goose Up
-- Data keys get versions (docs/keys.md, "Rotating data keys"): a rotation
-- adds the next version of a purpose, new values are sealed with the newest
-- active version, and older versions are retired once no value refers to
-- them. Retired keys stay so that backups remain readable. The key that
-- existed before is version 1: field ciphertexts of layout 1 name no key
-- and are read with it. SQLite cannot change a primary key in place, so the
-- table is rebuilt.
CREATE TABLE data_keys_versioned (
    purpose       TEXT NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    state         TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    wrapped       BLOB NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    rewrapped_at  BIGINT,
    retired_at    BIGINT,
    PRIMARY KEY (purpose, version)
);
INSERT INTO data_keys_versioned (purpose, version, state, wrapped, master_key_id, created_at, rewrapped_at)
    SELECT purpose, 1, 'active', wrapped, master_key_id, created_at, rewrapped_at FROM data_keys;
DROP TABLE data_keys;
ALTER TABLE data_keys_versioned RENAME TO data_keys;

-- +goose Down
-- Going back fails, on the primary key, while a purpose has more than one
-- data key: dropping one would make the values sealed with it unreadable.
-- Values sealed in layout 2 are unreadable to the older binary in any case.
CREATE TABLE data_keys_single (
    purpose       TEXT PRIMARY KEY,
    wrapped       BLOB NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    rewrapped_at  BIGINT
);
INSERT INTO data_keys_single (purpose, wrapped, master_key_id, created_at, rewrapped_at)
    SELECT purpose, wrapped, master_key_id, created_at, rewrapped_at FROM data_keys;
DROP TABLE data_keys;
ALTER TABLE data_keys_single RENAME TO data_keys;
