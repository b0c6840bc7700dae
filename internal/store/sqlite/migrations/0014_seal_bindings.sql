-- +goose Up
-- A license-issuing seal bound to the issuing service (docs/seals.md,
-- "Binding a license-issuing seal"): an approved bind application binds
-- it, an approved unbind application or the seal's cancellation ends the
-- binding. Bindings are never deleted: an ended one keeps who ended it.

-- Applications gain the actions bind and unbind and what a binding
-- allows. SQLite cannot alter a CHECK constraint, so the table is rebuilt;
-- no other table references it.
CREATE TABLE seal_applications_next (
    id            TEXT PRIMARY KEY,
    org           TEXT NOT NULL REFERENCES orgs (credit_code),
    action        TEXT NOT NULL CHECK (action IN ('make', 'renew', 'change', 'suspend', 'restore', 'cancel', 'pin-reset', 'bind', 'unbind')),
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
    decided_at    BIGINT,
    bind_service  TEXT NOT NULL DEFAULT '',
    bind_types    TEXT NOT NULL DEFAULT '',
    bind_until    BIGINT
);
INSERT INTO seal_applications_next (id, org, action, seal_id, seal_kind, name, reason, justification, attachments, image,
    width_mm, height_mm, keepers, use_policy, status, applicant, approver, comment, created_at, decided_at)
SELECT id, org, action, seal_id, seal_kind, name, reason, justification, attachments, image,
    width_mm, height_mm, keepers, use_policy, status, applicant, approver, comment, created_at, decided_at
FROM seal_applications;
DROP TABLE seal_applications;
ALTER TABLE seal_applications_next RENAME TO seal_applications;
CREATE INDEX seal_applications_org ON seal_applications (org, status, id);

CREATE TABLE seal_bindings (
    id                 TEXT PRIMARY KEY,
    seal_id            TEXT NOT NULL REFERENCES seals (id),
    org                TEXT NOT NULL REFERENCES orgs (credit_code),
    service            TEXT NOT NULL CHECK (service IN ('license-issuance')),
    license_types      TEXT NOT NULL DEFAULT '',  -- comma-separated codes; '' allows every type
    valid_until        BIGINT,                    -- the binding lapses after it; NULL: no end date
    application_id     TEXT NOT NULL,
    bound_by           TEXT NOT NULL,
    bound_at           BIGINT NOT NULL,
    ended_at           BIGINT,
    ended_by           TEXT NOT NULL DEFAULT '',
    end_reason         TEXT NOT NULL DEFAULT '',
    end_application_id TEXT NOT NULL DEFAULT ''
);
-- One binding in force per seal and service.
CREATE UNIQUE INDEX seal_bindings_active ON seal_bindings (seal_id, service) WHERE ended_at IS NULL;

-- A bound signature is a seal use without a use request: kind says which,
-- binding_id names the binding that allowed it and title the document.
-- seal_archive references seal_uses, so its rows are set aside while
-- seal_uses is rebuilt (SQLite cannot drop a NOT NULL constraint) and put
-- back after, leaving no foreign key dangling at any statement.
CREATE TABLE seal_archive_aside AS SELECT * FROM seal_archive;
DELETE FROM seal_archive;
CREATE TABLE seal_uses_aside AS SELECT * FROM seal_uses;
DROP TABLE seal_uses;
CREATE TABLE seal_uses (
    id               TEXT PRIMARY KEY,
    seal_id          TEXT NOT NULL REFERENCES seals (id),
    kind             TEXT NOT NULL DEFAULT 'request' CHECK (kind IN ('request', 'bound')),
    request_id       TEXT UNIQUE REFERENCES seal_use_requests (id),
    binding_id       TEXT REFERENCES seal_bindings (id),
    title            TEXT NOT NULL DEFAULT '',
    doc_hash         TEXT NOT NULL,
    signer           TEXT NOT NULL,
    signed_at        BIGINT NOT NULL,
    cert_fingerprint TEXT NOT NULL,
    signature        BLOB NOT NULL,
    CHECK ((kind = 'request') = (request_id IS NOT NULL)),
    CHECK ((kind = 'bound') = (binding_id IS NOT NULL))
);
INSERT INTO seal_uses (id, seal_id, kind, request_id, doc_hash, signer, signed_at, cert_fingerprint, signature)
SELECT id, seal_id, 'request', request_id, doc_hash, signer, signed_at, cert_fingerprint, signature FROM seal_uses_aside;
DROP TABLE seal_uses_aside;
CREATE INDEX seal_uses_seal ON seal_uses (seal_id, signed_at);
INSERT INTO seal_archive SELECT * FROM seal_archive_aside;
DROP TABLE seal_archive_aside;

-- +goose Down
CREATE TABLE seal_archive_aside AS SELECT * FROM seal_archive;
DELETE FROM seal_archive;
CREATE TABLE seal_uses_aside AS SELECT * FROM seal_uses WHERE kind = 'request';
DROP TABLE seal_uses;
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
INSERT INTO seal_uses SELECT id, seal_id, request_id, doc_hash, signer, signed_at, cert_fingerprint, signature FROM seal_uses_aside;
DROP TABLE seal_uses_aside;
CREATE INDEX seal_uses_seal ON seal_uses (seal_id, signed_at);
INSERT INTO seal_archive SELECT * FROM seal_archive_aside WHERE use_id IN (SELECT id FROM seal_uses);
DROP TABLE seal_archive_aside;
DROP TABLE seal_bindings;
CREATE TABLE seal_applications_prev (
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
INSERT INTO seal_applications_prev SELECT id, org, action, seal_id, seal_kind, name, reason, justification, attachments, image,
    width_mm, height_mm, keepers, use_policy, status, applicant, approver, comment, created_at, decided_at
FROM seal_applications WHERE action NOT IN ('bind', 'unbind');
DROP TABLE seal_applications;
ALTER TABLE seal_applications_prev RENAME TO seal_applications;
CREATE INDEX seal_applications_org ON seal_applications (org, status, id);
