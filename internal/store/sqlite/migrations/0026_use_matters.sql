-- +goose Up
-- Using units' matters (用证事项, R-USE-1, docs/use.md): a matter is keyed
-- by its unit and a code the unit chooses; what it says lives in numbered
-- versions, each reviewed by the platform operator. Nothing is deleted: an
-- approved version never changes, and the newest approved one is the
-- matter's usable version.
CREATE TABLE use_matters (
    org        TEXT NOT NULL REFERENCES orgs (credit_code),
    code       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org, code)
);

CREATE TABLE use_matter_versions (
    org             TEXT NOT NULL,
    code            TEXT NOT NULL,
    number          INTEGER NOT NULL CHECK (number >= 1),
    name            TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    needs           TEXT NOT NULL,       -- []use.Need, JSON: types and their face fields
    state           TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'refused', 'superseded')),
    author          TEXT NOT NULL,
    proposed_at     BIGINT NOT NULL,
    decided_by      TEXT NOT NULL DEFAULT '',
    decided_at      BIGINT NOT NULL DEFAULT 0,
    decision_reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (org, code, number),
    FOREIGN KEY (org, code) REFERENCES use_matters (org, code)
);
-- What waits for review, across units.
CREATE INDEX use_matter_versions_state ON use_matter_versions (state, org, code, number);

-- Type grants (一证一接口, R-USE-3): the operator lets a unit use one license
-- type until valid_until (0: no end) or a withdrawal. Closed grants stay,
-- withdrawn or expired; the partial unique index keeps one active grant per
-- unit and type, so that of simultaneous grants one wins.
CREATE TABLE use_type_grants (
    id          TEXT PRIMARY KEY,
    org         TEXT NOT NULL REFERENCES orgs (credit_code),
    type_code   TEXT NOT NULL REFERENCES catalog_types (code),
    valid_until BIGINT NOT NULL DEFAULT 0,
    state       TEXT NOT NULL CHECK (state IN ('active', 'expired', 'withdrawn')),
    granted_by  TEXT NOT NULL,
    granted_at  BIGINT NOT NULL,
    closed_by   TEXT NOT NULL DEFAULT '',
    closed_at   BIGINT NOT NULL DEFAULT 0,
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX use_type_grants_active ON use_type_grants (org, type_code) WHERE state = 'active';
CREATE INDEX use_type_grants_org ON use_type_grants (org, id);

-- +goose Down
DROP TABLE use_type_grants;
DROP TABLE use_matter_versions;
DROP TABLE use_matters;
