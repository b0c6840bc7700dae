-- +goose Up
-- Issuer transfer jobs (docs/licenses.md, "Transfer of issuer (R-ISS-5)").
-- A job moves the licenses of one issuing organization to another in
-- batches; each batch advances cursor (the last license identifier moved)
-- and moved in the transaction that moves its licenses, so that a process
-- killed at any point leaves a job that resumes exactly. A runner holds the
-- job by a lease (lease_owner, lease_until), taken and renewed by
-- conditional updates: two processes never run one job at once, and a dead
-- one's lease runs out for another to continue.
CREATE TABLE license_transfers (
    id          TEXT PRIMARY KEY,
    from_org    TEXT NOT NULL REFERENCES orgs (credit_code),
    to_org      TEXT NOT NULL REFERENCES orgs (credit_code),
    types       TEXT NOT NULL,                 -- comma-separated license type codes
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    total       BIGINT NOT NULL DEFAULT 0,
    moved       BIGINT NOT NULL DEFAULT 0,
    last_id     TEXT NOT NULL DEFAULT '',        -- the last license moved, in identifier order
    failure     TEXT NOT NULL DEFAULT '',
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CHECK (from_org <> to_org)
);
-- What the runners of serve look for: jobs still to run.
CREATE INDEX license_transfers_open ON license_transfers (created_at, id) WHERE state IN ('queued', 'running');

-- +goose Down
DROP INDEX license_transfers_open;
DROP TABLE license_transfers;
