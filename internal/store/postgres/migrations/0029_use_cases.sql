-- +goose Up
-- A using unit's case archive (归档, R-USE-6, docs/use.md): which license a
-- use returned was kept with which case of the unit. A record holds no face
-- value and no holder identifier: the license is named by its id, and what
-- the unit saw is in the use's license.used audit entry, which the use id
-- finds (details.use). The number and type are read from licenses when the
-- case is listed, not copied here.
CREATE TABLE use_case_records (
    org            TEXT NOT NULL REFERENCES orgs (credit_code),
    case_no        TEXT NOT NULL,
    license_id     TEXT NOT NULL REFERENCES licenses (id),
    use_id         TEXT NOT NULL,
    matter         TEXT NOT NULL,
    matter_version INTEGER NOT NULL CHECK (matter_version >= 1),
    used_by        TEXT NOT NULL,
    used_at        BIGINT NOT NULL,
    attached_by    TEXT NOT NULL,
    attached_at    BIGINT NOT NULL,
    PRIMARY KEY (org, case_no, license_id, use_id)
);

-- +goose Down
DROP TABLE use_case_records;
