-- +goose Up
-- Holder authorizations (授权用证, docs/holders.md): a holder lets one using
-- unit (org) use one of its licenses for one matter until valid_until,
-- naming the face fields it may see unmasked (comma-separated keys). The
-- holder is kept as the license keeps it, by kind and blind index, never
-- in clear. A grant is withdrawn once (withdrawn_at); one whose
-- valid_until has passed is expired without a write.
CREATE TABLE license_grants (
    id           TEXT PRIMARY KEY,
    license_id   TEXT NOT NULL REFERENCES licenses (id),
    holder_kind  TEXT NOT NULL,
    holder_index TEXT NOT NULL,
    granted_by   TEXT NOT NULL,                -- the holder, hol_…
    org          TEXT NOT NULL REFERENCES orgs (credit_code),
    matter       TEXT NOT NULL,
    fields       TEXT NOT NULL DEFAULT '',
    valid_until  BIGINT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('active', 'withdrawn')),
    created_at   BIGINT NOT NULL,
    withdrawn_at BIGINT NOT NULL DEFAULT 0
);
-- A holder's grants, a using unit's grants, and the grant in force for
-- (license, unit, matter) that enforcement looks up.
CREATE INDEX license_grants_holder ON license_grants (holder_kind, holder_index, id);
CREATE INDEX license_grants_org ON license_grants (org, id);
CREATE INDEX license_grants_use ON license_grants (license_id, org, matter);

-- Reissue requests (补办申请, docs/licenses.md): after a loss report the
-- holder asks its issuer for a new version. The partial unique index keeps
-- one open request per license; the issuer's reissue closes it (done) in
-- its transaction, or the issuer refuses it with a reason (answer).
CREATE TABLE reissue_requests (
    id           TEXT PRIMARY KEY,
    license_id   TEXT NOT NULL REFERENCES licenses (id),
    requested_by TEXT NOT NULL,                -- the holder, hol_…
    reason       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('open', 'done', 'refused')),
    answer       TEXT NOT NULL DEFAULT '',
    closed_by    TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    closed_at    BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX reissue_requests_open ON reissue_requests (license_id) WHERE state = 'open';
CREATE INDEX reissue_requests_license ON reissue_requests (license_id, id);

-- +goose Down
DROP TABLE reissue_requests;
DROP TABLE license_grants;
