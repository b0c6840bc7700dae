-- +goose Up
-- Redemption records keyed by their expiry first (docs/presentations.md,
-- "Records keyed time first"). Keyed by the digest alone, every record
-- landed on a random page of the digest's index, and each page a group of
-- redemptions changed cost a WAL frame at commit and again at the
-- checkpoint; records that expire later are mostly redeemed later, so a
-- key of (expires_at, digest) appends instead. The key still decides a
-- replay: expires_at is the payload's signed exp plus a fixed clock skew,
-- so one payload always claims the same pair. The expiry's own index is
-- the key now, which the purge reads in order.
CREATE TABLE presentation_redemptions_by_expiry (
    expires_at BIGINT NOT NULL,
    digest     BLOB NOT NULL,
    PRIMARY KEY (expires_at, digest)
) WITHOUT ROWID;
INSERT INTO presentation_redemptions_by_expiry (expires_at, digest)
    SELECT expires_at, digest FROM presentation_redemptions;
DROP TABLE presentation_redemptions;
ALTER TABLE presentation_redemptions_by_expiry RENAME TO presentation_redemptions;

-- +goose Down
CREATE TABLE presentation_redemptions_by_digest (
    digest     BLOB PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
INSERT OR IGNORE INTO presentation_redemptions_by_digest (digest, expires_at)
    SELECT digest, expires_at FROM presentation_redemptions;
DROP TABLE presentation_redemptions;
ALTER TABLE presentation_redemptions_by_digest RENAME TO presentation_redemptions;
CREATE INDEX presentation_redemptions_expiry ON presentation_redemptions (expires_at);
