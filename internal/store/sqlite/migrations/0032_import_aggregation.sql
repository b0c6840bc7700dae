-- +goose Up
-- Aggregation deadlines and reconciliation of imports (docs/import.md,
-- "Aggregation deadlines" and "Reconciliation"). increment says that a job
-- brings in a day's increment of licenses issued offline, due the day of
-- their completion; otherwise it is stock, due within five working days.
ALTER TABLE import_jobs ADD COLUMN increment INTEGER NOT NULL DEFAULT 0 CHECK (increment IN (0, 1));

-- Per license imported, as its last import wrote it: the business
-- completion date (办结日期, YYYY-MM-DD in China Standard Time), the last
-- day the aggregation was due, when it was imported, and whether that was
-- after the deadline. Rows imported before this migration have no
-- completion date ('') and are left out of the lateness report.
ALTER TABLE license_imports ADD COLUMN completed_on TEXT NOT NULL DEFAULT '';
ALTER TABLE license_imports ADD COLUMN due_on TEXT NOT NULL DEFAULT '';
ALTER TABLE license_imports ADD COLUMN imported_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE license_imports ADD COLUMN increment INTEGER NOT NULL DEFAULT 0 CHECK (increment IN (0, 1));
ALTER TABLE license_imports ADD COLUMN late INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1));
-- The lateness report reads a range of completion dates.
CREATE INDEX license_imports_completed ON license_imports (completed_on);

-- Reconciliations (对账): what an issuer stated it holds of a license type
-- (a count and a digest of its (number, version) pairs) against what the
-- platform computed over its licenses of that issuer and type; differences
-- counts the pairs in the issuer's list only (missing), the platform's
-- only (extra) and under both with other versions (version) when the
-- issuer sent its list, and first lists the first differing numbers (JSON).
CREATE TABLE reconciliations (
    id               TEXT PRIMARY KEY,
    issuer           TEXT NOT NULL,
    type_code        TEXT NOT NULL,
    stated_count     INTEGER NOT NULL,
    stated_digest    TEXT NOT NULL,
    platform_count   INTEGER NOT NULL,
    platform_digest  TEXT NOT NULL,
    matched          INTEGER NOT NULL CHECK (matched IN (0, 1)),
    listed           INTEGER NOT NULL CHECK (listed IN (0, 1)),
    missing          INTEGER NOT NULL,
    extra            INTEGER NOT NULL,
    version_differs  INTEGER NOT NULL,
    first            TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX reconciliations_issuer ON reconciliations (issuer, created_at, id);
CREATE INDEX reconciliations_created ON reconciliations (created_at, id);

-- +goose Down
DROP TABLE reconciliations;
DROP INDEX license_imports_completed;
ALTER TABLE license_imports DROP COLUMN late;
ALTER TABLE license_imports DROP COLUMN increment;
ALTER TABLE license_imports DROP COLUMN imported_at;
ALTER TABLE license_imports DROP COLUMN due_on;
ALTER TABLE license_imports DROP COLUMN completed_on;
ALTER TABLE import_jobs DROP COLUMN increment;
