-- +goose Up
-- Import jobs uploaded over the API (docs/import.md, "Importing over the
-- API"): what a serve process needs to run one, and the lease that keeps
-- two processes from running it at once. A job of the command line has
-- no row here.
CREATE TABLE import_uploads (
    job_id        TEXT PRIMARY KEY REFERENCES import_jobs (id),
    format        TEXT NOT NULL,
    encoding      TEXT NOT NULL,
    sign          TEXT NOT NULL CHECK (sign IN ('batch', 'each')),
    batch_size    INTEGER NOT NULL,
    size          BIGINT NOT NULL,
    chunks        INTEGER NOT NULL,
    -- rows is the data rows of the file, counted at the upload: the ETA.
    rows          BIGINT NOT NULL,
    lease_owner   TEXT NOT NULL DEFAULT '',
    lease_until   BIGINT NOT NULL DEFAULT 0,
    -- When the current run started and at which checkpoint: its rows/s.
    run_started   BIGINT NOT NULL DEFAULT 0,
    run_from      BIGINT NOT NULL DEFAULT 0
);

-- The uploaded file in chunks of at most 1 MiB, each encrypted under the
-- field data key bound to its ref (job_id/seq), so that a large file is
-- no one huge row and a row moved elsewhere does not decrypt.
CREATE TABLE import_chunks (
    ref    TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES import_jobs (id),
    seq    INTEGER NOT NULL,
    data   BYTEA NOT NULL,
    UNIQUE (job_id, seq)
);

-- The problems of the rows a job rejected, values masked as in the
-- command line's report; pos orders the problems of one row. A resumed
-- job reads its rows again and adds their problems again: the key keeps
-- one of each.
CREATE TABLE import_problems (
    job_id   TEXT NOT NULL REFERENCES import_jobs (id),
    row_num  BIGINT NOT NULL,
    pos      INTEGER NOT NULL,
    col      TEXT NOT NULL,
    field    TEXT NOT NULL,
    rule     TEXT NOT NULL,
    value    TEXT NOT NULL,
    detail   TEXT NOT NULL,
    PRIMARY KEY (job_id, row_num, pos)
);

-- +goose Down
DROP TABLE import_problems;
DROP TABLE import_chunks;
DROP TABLE import_uploads;
