-- +goose Up
-- Holders (持证主体) who sign in to see their own licenses: natural persons
-- by citizen ID number, organizations by credit code. The identifier is
-- encrypted with the field data key and found by its blind index, the
-- same index licenses keep in holder_index: a holder's licenses are those
-- of its kind whose holder_index equals its own.
CREATE TABLE holders (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('person', 'organization')),
    identifier       BYTEA NOT NULL,
    identifier_index TEXT NOT NULL,
    name             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (kind, identifier_index)
);

-- The external identities (an OpenID provider's issuer and subject) that
-- sign in as a holder. The subject is kept as a blind index only.
CREATE TABLE holder_identities (
    issuer        TEXT NOT NULL,
    subject_index TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('person', 'organization')),
    holder_id     TEXT NOT NULL REFERENCES holders (id),
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject_index, kind)
);

-- Holder sessions: only the SHA-256 of the bearer secret is kept. A
-- session ends at expires_at, after idle time without use (last_seen), or
-- when revoked (logout).
CREATE TABLE holder_sessions (
    id         TEXT PRIMARY KEY,
    holder_id  TEXT NOT NULL REFERENCES holders (id),
    hash       BYTEA NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,
    method     TEXT NOT NULL,
    representative TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX holder_sessions_holder ON holder_sessions (holder_id);

-- Logins begun and not finished: the SHA-256 of the state parameter and
-- its expiry. The PKCE verifier and the nonce are derived from the state
-- under a key of the master key, so nothing secret is kept; a row is
-- deleted when its callback arrives, which makes the state one-time.
CREATE TABLE holder_logins (
    state_hash BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX holder_logins_expiry ON holder_logins (expires_at);

-- +goose Down
DROP TABLE holder_logins;
DROP TABLE holder_sessions;
DROP TABLE holder_identities;
DROP TABLE holders;
