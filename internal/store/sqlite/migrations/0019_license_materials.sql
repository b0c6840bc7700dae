-- +goose Up
-- Issuance materials (签发材料, R-ISS-7): files archived with a license,
-- numbered per license from 1 by licenses.materials, which the transaction
-- that adds one advances (so concurrent additions queue on the license row
-- and get contiguous numbers). The content is encrypted with the field data
-- key, bound to table, row (ref: license id '/' seq) and column.
ALTER TABLE licenses ADD COLUMN materials INTEGER NOT NULL DEFAULT 0;

CREATE TABLE license_materials (
    ref        TEXT PRIMARY KEY,
    license_id TEXT NOT NULL REFERENCES licenses (id),
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    name       TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       BIGINT NOT NULL CHECK (size >= 0),
    sm3        TEXT NOT NULL,
    content    BLOB NOT NULL,
    added_by   TEXT NOT NULL,
    added_at   BIGINT NOT NULL,
    UNIQUE (license_id, seq)
);

-- +goose Down
DROP TABLE license_materials;
ALTER TABLE licenses DROP COLUMN materials;
