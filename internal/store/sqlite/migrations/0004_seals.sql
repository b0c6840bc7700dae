-- +goose Up
-- Electronic seals (R-SEAL-1..8). Nothing about making a seal is ever
-- deleted: states change, rows stay.

-- Outbox: events written in the same transaction as the change that causes
-- them, delivered later (filing records to the upstream platform, …).
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    topic        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (delivered_at, created_at);

CREATE TABLE seal_applications (
    id            TEXT PRIMARY KEY,
    org           TEXT NOT NULL REFERENCES orgs (credit_code),
    action        TEXT NOT NULL CHECK (action IN ('make', 'renew', 'change', 'suspend', 'restore', 'cancel', 'pin-reset')),
    seal_id       TEXT,
    seal_kind     TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL,
    justification TEXT NOT NULL DEFAULT '',
    attachments   TEXT NOT NULL DEFAULT '[]',
    image         BLOB,
    width_mm      INTEGER NOT NULL DEFAULT 0,
    height_mm     INTEGER NOT NULL DEFAULT 0,
    keepers       TEXT NOT NULL DEFAULT '',
    use_policy    TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    applicant     TEXT NOT NULL,
    approver      TEXT NOT NULL DEFAULT '',
    comment       TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    decided_at    BIGINT
);
CREATE INDEX seal_applications_org ON seal_applications (org, status, id);

CREATE TABLE seals (
    id               TEXT PRIMARY KEY,  -- the seal code
    org              TEXT NOT NULL REFERENCES orgs (credit_code),
    kind             TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    name             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'cancelled')),
    key_id           TEXT NOT NULL REFERENCES keys (id),
    cert_fingerprint TEXT NOT NULL REFERENCES certificates (fingerprint),
    valid_from       BIGINT NOT NULL,
    valid_to         BIGINT NOT NULL,
    image_format     TEXT NOT NULL,
    image            BLOB NOT NULL,
    image_hash       TEXT NOT NULL,
    width_mm         INTEGER NOT NULL,
    height_mm        INTEGER NOT NULL,
    structure        BLOB NOT NULL,  -- SES_Seal, DER
    keepers          TEXT NOT NULL,
    use_policy       TEXT NOT NULL CHECK (use_policy IN ('none', 'one', 'two')),
    pin_hash         TEXT NOT NULL DEFAULT '',
    pin_set_at       BIGINT,
    pin_failures     INTEGER NOT NULL DEFAULT 0,
    locked           INTEGER NOT NULL DEFAULT 0,
    filing_state     TEXT NOT NULL,
    version          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (org, kind, seq)
);

-- Every seal structure ever made (making, renewal), kept forever.
CREATE TABLE seal_makings (
    seal_id          TEXT NOT NULL REFERENCES seals (id),
    n                INTEGER NOT NULL,
    cert_fingerprint TEXT NOT NULL REFERENCES certificates (fingerprint),
    structure        BLOB NOT NULL,
    valid_from       BIGINT NOT NULL,
    valid_to         BIGINT NOT NULL,
    application_id   TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (seal_id, n)
);

-- Every state change of a seal: who, when, why.
CREATE TABLE seal_events (
    id             TEXT PRIMARY KEY,
    seal_id        TEXT NOT NULL REFERENCES seals (id),
    at             BIGINT NOT NULL,
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL,
    state          TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    application_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX seal_events_seal ON seal_events (seal_id, at);

CREATE TABLE seal_use_requests (
    id         TEXT PRIMARY KEY,
    seal_id    TEXT NOT NULL REFERENCES seals (id),
    doc_hash   TEXT NOT NULL,
    title      TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    requester  TEXT NOT NULL,
    needed     INTEGER NOT NULL,
    approvals  TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'used')),
    comment    TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE INDEX seal_use_requests_seal ON seal_use_requests (seal_id, status, id);

-- Every use of a seal (R-SEAL-5, R-SEC-2): written in the same transaction
-- that releases the signature.
CREATE TABLE seal_uses (
    id               TEXT PRIMARY KEY,
    seal_id          TEXT NOT NULL REFERENCES seals (id),
    request_id       TEXT NOT NULL UNIQUE REFERENCES seal_use_requests (id),
    doc_hash         TEXT NOT NULL,
    signer           TEXT NOT NULL,
    signed_at        BIGINT NOT NULL,
    cert_fingerprint TEXT NOT NULL,
    signature        BLOB NOT NULL
);
CREATE INDEX seal_uses_seal ON seal_uses (seal_id, signed_at);

-- Signed documents kept with their use (R-SEAL-6).
CREATE TABLE seal_archive (
    id         TEXT PRIMARY KEY,
    use_id     TEXT NOT NULL REFERENCES seal_uses (id),
    doc_hash   TEXT NOT NULL,
    title      TEXT NOT NULL,
    content    BLOB,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE seal_archive;
DROP TABLE seal_uses;
DROP TABLE seal_use_requests;
DROP TABLE seal_events;
DROP TABLE seal_makings;
DROP TABLE seals;
DROP TABLE seal_applications;
DROP TABLE outbox;
