-- +goose Up
-- Answers kept for replay under an Idempotency-Key are now encrypted with
-- the field data key, bound to their record, and the request hash is kept
-- keyed (docs/api.md, "Idempotency"). Records written before kept a token's
-- secret or a responsible person's phone in clear: they are dropped. A
-- request retried across this upgrade runs again, as one without a key
-- would.
DELETE FROM idempotency_keys;

-- +goose Down
-- Nothing to undo: the dropped records are not restored.
SELECT 1;
