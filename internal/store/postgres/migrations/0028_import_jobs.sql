-- +goose Up
-- Bulk import jobs (docs/import.md, "Importing into the store"). A job is
-- one file of one issuer and license type; checkpoint counts the data
-- rows of the file whose batch has committed, advanced in the transaction
-- of each batch together with the counts, so that a job stopped at any
-- point resumes after it. state is running, done, cancelled or failed.
CREATE TABLE import_jobs (
    id           TEXT PRIMARY KEY,
    issuer       TEXT NOT NULL,
    type_code    TEXT NOT NULL,
    type_version INTEGER NOT NULL,
    file_name    TEXT NOT NULL,
    file_digest  TEXT NOT NULL,
    mapping      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('running', 'done', 'cancelled', 'failed')),
    checkpoint   BIGINT NOT NULL DEFAULT 0,
    imported     BIGINT NOT NULL DEFAULT 0,
    versioned    BIGINT NOT NULL DEFAULT 0,
    unchanged    BIGINT NOT NULL DEFAULT 0,
    rejected     BIGINT NOT NULL DEFAULT 0,
    batches      BIGINT NOT NULL DEFAULT 0,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
-- The unfinished job of a file, which a new run of the file resumes.
CREATE INDEX import_jobs_file ON import_jobs (issuer, file_digest, state);

-- The licenses an import brought in, by license: digest is a keyed hash
-- (HMAC-SM3 under the blind-index key) of the row's content as its last
-- import read it, so that a row imported again is told unchanged without
-- decrypting the license, and reveals nothing of the holder without the
-- master key.
CREATE TABLE license_imports (
    license_id TEXT PRIMARY KEY REFERENCES licenses (id),
    job_id     TEXT NOT NULL REFERENCES import_jobs (id),
    digest     TEXT NOT NULL
);

-- +goose Down
DROP TABLE license_imports;
DROP TABLE import_jobs;
