-- +goose Up
-- The license lifecycle (docs/licenses.md, "Lifecycle"). Each signed
-- version has its own index in the status lists: a change, renewal or
-- reissue signs a new version with a new index and revokes the old one's
-- (superseded), so the slot moves from the license to its versions. The
-- license row keeps the slot of its current version.
ALTER TABLE license_versions ADD COLUMN status_issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE license_versions ADD COLUMN status_purposes TEXT NOT NULL DEFAULT '';
ALTER TABLE license_versions ADD COLUMN status_list INTEGER NOT NULL DEFAULT 0;
ALTER TABLE license_versions ADD COLUMN status_index INTEGER NOT NULL DEFAULT 0;
UPDATE license_versions SET
    status_issuer = (SELECT l.status_issuer FROM licenses l WHERE l.id = license_versions.license_id),
    status_purposes = (SELECT l.status_purposes FROM licenses l WHERE l.id = license_versions.license_id),
    status_list = (SELECT l.status_list FROM licenses l WHERE l.id = license_versions.license_id),
    status_index = (SELECT l.status_index FROM licenses l WHERE l.id = license_versions.license_id);
CREATE UNIQUE INDEX license_versions_slot ON license_versions (status_issuer, status_purposes, status_list, status_index);

-- The history of every license: one row per transition, numbered per
-- license from 1. version is the license's version after it.
CREATE TABLE license_transitions (
    license_id TEXT NOT NULL REFERENCES licenses (id),
    seq        BIGINT NOT NULL CHECK (seq >= 1),
    operation  TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    at         BIGINT NOT NULL,
    version    BIGINT NOT NULL CHECK (version >= 1),
    PRIMARY KEY (license_id, seq)
);

-- What expiry looks for: licenses not yet ended, by the end of their
-- validity. The predicate is the one DueLicenses queries with.
CREATE INDEX licenses_due ON licenses (valid_until) WHERE state IN ('active', 'suspended', 'pledged', 'reported-lost');

-- +goose Down
DROP INDEX licenses_due;
DROP TABLE license_transitions;
DROP INDEX license_versions_slot;
ALTER TABLE license_versions DROP COLUMN status_index;
ALTER TABLE license_versions DROP COLUMN status_list;
ALTER TABLE license_versions DROP COLUMN status_purposes;
ALTER TABLE license_versions DROP COLUMN status_issuer;
