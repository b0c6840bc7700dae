-- +goose Up
-- The license catalog (R-CAT-1..4): license types, the organizations that
-- may issue each, and the versions of each type's face template with their
-- review by the platform operator. Nothing is deleted: a rejected version
-- stays as the record of the review, an approved one never changes.

CREATE TABLE catalog_types (
    code             TEXT PRIMARY KEY,  -- six characters of the GB 32100 alphabet
    name_zh          TEXT NOT NULL,
    name_en          TEXT NOT NULL,
    any_issuer       INTEGER NOT NULL CHECK (any_issuer IN (0, 1)),
    holder_kind      TEXT NOT NULL CHECK (holder_kind IN ('person', 'organization')),
    level            TEXT NOT NULL CHECK (level IN ('national', 'provincial', 'municipal', 'county')),
    public           TEXT NOT NULL CHECK (public IN ('public', 'shared', 'restricted')),
    collection_start TEXT NOT NULL,     -- YYYY-MM-DD
    validity         TEXT NOT NULL,     -- catalog.ValidityRule, JSON
    numbering        TEXT NOT NULL,     -- ids.NumberingRule
    owner            TEXT NOT NULL REFERENCES orgs (credit_code),  -- who defined it and proposes its versions
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX catalog_types_owner ON catalog_types (owner, code);

-- The explicit issuers of a type; a type with any_issuer has none.
CREATE TABLE catalog_type_issuers (
    type_code TEXT NOT NULL REFERENCES catalog_types (code),
    issuer    TEXT NOT NULL REFERENCES orgs (credit_code),
    PRIMARY KEY (type_code, issuer)
);
CREATE INDEX catalog_type_issuers_issuer ON catalog_type_issuers (issuer, type_code);

CREATE TABLE catalog_versions (
    type_code       TEXT NOT NULL REFERENCES catalog_types (code),
    number          INTEGER NOT NULL CHECK (number >= 1),
    template        TEXT NOT NULL,      -- catalog.Template, JSON
    state           TEXT NOT NULL CHECK (state IN ('draft', 'pending', 'approved', 'rejected')),
    author          TEXT NOT NULL,
    proposed_at     BIGINT,             -- when it went to review
    decided_by      TEXT NOT NULL DEFAULT '',
    decided_at      BIGINT,
    decision_reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (type_code, number)
);
CREATE INDEX catalog_versions_state ON catalog_versions (state, type_code, number);

-- +goose Down
DROP TABLE catalog_versions;
DROP TABLE catalog_type_issuers;
DROP TABLE catalog_types;
