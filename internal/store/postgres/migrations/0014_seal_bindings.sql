-- +goose Up
-- A license-issuing seal bound to the issuing service (docs/seals.md,
-- "Binding a license-issuing seal"): an approved bind application binds
-- it, an approved unbind application or the seal's cancellation ends the
-- binding. Bindings are never deleted: an ended one keeps who ended it.

-- Applications gain the actions bind and unbind and what a binding allows.
ALTER TABLE seal_applications DROP CONSTRAINT seal_applications_action_check;
ALTER TABLE seal_applications ADD CONSTRAINT seal_applications_action_check
    CHECK (action IN ('make', 'renew', 'change', 'suspend', 'restore', 'cancel', 'pin-reset', 'bind', 'unbind'));
ALTER TABLE seal_applications ADD COLUMN bind_service TEXT NOT NULL DEFAULT '';
ALTER TABLE seal_applications ADD COLUMN bind_types TEXT NOT NULL DEFAULT '';
ALTER TABLE seal_applications ADD COLUMN bind_until BIGINT;

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
ALTER TABLE seal_uses ADD COLUMN kind TEXT NOT NULL DEFAULT 'request' CHECK (kind IN ('request', 'bound'));
ALTER TABLE seal_uses ADD COLUMN binding_id TEXT REFERENCES seal_bindings (id);
ALTER TABLE seal_uses ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE seal_uses ALTER COLUMN request_id DROP NOT NULL;
ALTER TABLE seal_uses ADD CONSTRAINT seal_uses_request_kind CHECK ((kind = 'request') = (request_id IS NOT NULL));
ALTER TABLE seal_uses ADD CONSTRAINT seal_uses_binding_kind CHECK ((kind = 'bound') = (binding_id IS NOT NULL));

-- +goose Down
DELETE FROM seal_archive WHERE use_id IN (SELECT id FROM seal_uses WHERE kind = 'bound');
DELETE FROM seal_uses WHERE kind = 'bound';
ALTER TABLE seal_uses DROP CONSTRAINT seal_uses_binding_kind;
ALTER TABLE seal_uses DROP CONSTRAINT seal_uses_request_kind;
ALTER TABLE seal_uses ALTER COLUMN request_id SET NOT NULL;
ALTER TABLE seal_uses DROP COLUMN title;
ALTER TABLE seal_uses DROP COLUMN binding_id;
ALTER TABLE seal_uses DROP COLUMN kind;
DROP TABLE seal_bindings;
DELETE FROM seal_applications WHERE action IN ('bind', 'unbind');
ALTER TABLE seal_applications DROP COLUMN bind_until;
ALTER TABLE seal_applications DROP COLUMN bind_types;
ALTER TABLE seal_applications DROP COLUMN bind_service;
ALTER TABLE seal_applications DROP CONSTRAINT seal_applications_action_check;
ALTER TABLE seal_applications ADD CONSTRAINT seal_applications_action_check
    CHECK (action IN ('make', 'renew', 'change', 'suspend', 'restore', 'cancel', 'pin-reset'));
