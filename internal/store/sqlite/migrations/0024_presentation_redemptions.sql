-- +goose Up
-- One row per QR presentation redeemed online (docs/presentations.md): the
-- SHA-256 of the payload's kid and nonce, never the payload or what it
-- discloses. The primary key decides a replay: the redeeming transaction
-- inserts with ON CONFLICT DO NOTHING, and a payload seen before inserts
-- nothing. A row is useless once its payload has expired (expires_at, the
-- payload's exp plus the clock skew, in microseconds); serve purges it then.
CREATE TABLE presentation_redemptions (
    digest     BLOB PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX presentation_redemptions_expiry ON presentation_redemptions (expires_at);

-- +goose Down
DROP TABLE presentation_redemptions;
