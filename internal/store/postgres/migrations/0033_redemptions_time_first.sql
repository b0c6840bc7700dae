-- +goose Up
-- Redemption records keyed by their expiry first (docs/presentations.md,
-- "Records keyed time first"): records that expire later are mostly
-- redeemed later, so a key of (expires_at, digest) appends to the right
-- edge of its index instead of changing a random page of the digest's. The
-- key still decides a replay: expires_at is the payload's signed exp plus a
-- fixed clock skew, so one payload always claims the same pair. The key
-- serves the purge's reads in expiry order, so the expiry's own index goes.
ALTER TABLE presentation_redemptions DROP CONSTRAINT presentation_redemptions_pkey;
ALTER TABLE presentation_redemptions ADD PRIMARY KEY (expires_at, digest);
DROP INDEX presentation_redemptions_expiry;

-- +goose Down
CREATE INDEX presentation_redemptions_expiry ON presentation_redemptions (expires_at);
ALTER TABLE presentation_redemptions DROP CONSTRAINT presentation_redemptions_pkey;
ALTER TABLE presentation_redemptions ADD PRIMARY KEY (digest);
