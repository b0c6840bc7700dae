-- +goose Up
-- Times are Unix microseconds (UTC) in both dialects so that one SQL text and
-- one scanner serve both stores.
CREATE TABLE orgs (
    credit_code        TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    region             TEXT NOT NULL,
    parent             TEXT REFERENCES orgs (credit_code),
    responsible_name   TEXT NOT NULL,
    -- The responsible person's phone and e-mail are personal data: encrypted
    -- with the "field" data key, bound to this table, row and column.
    responsible_phone  BYTEA NOT NULL,
    responsible_email  BYTEA NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    version            BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX orgs_region ON orgs (region, credit_code);

CREATE TABLE org_kinds (
    credit_code TEXT NOT NULL REFERENCES orgs (credit_code),
    kind        TEXT NOT NULL,
    PRIMARY KEY (credit_code, kind)
);
CREATE INDEX org_kinds_kind ON org_kinds (kind, credit_code);

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    org           TEXT NOT NULL REFERENCES orgs (credit_code),
    name          TEXT NOT NULL,
    roles         TEXT NOT NULL,
    password_hash TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('active', 'inactive')),
    created_at    BIGINT NOT NULL,
    UNIQUE (org, name)
);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    prefix      TEXT NOT NULL,
    hash        BYTEA NOT NULL UNIQUE,
    roles       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX tokens_account ON tokens (account_id, id);

CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    status_code  INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    response     BYTEA,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE tokens;
DROP TABLE accounts;
DROP TABLE org_kinds;
DROP TABLE orgs;
