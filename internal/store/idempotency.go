package store

import (
	"context"
	"fmt"
	"time"
)

// IdempotencyRecord is what is kept of a request sent with an Idempotency-Key.
type IdempotencyRecord struct {
	RequestHash []byte
	Done        bool
	StatusCode  int
	ContentType string
	Response    []byte
	CreatedAt   time.Time
}

// ClaimIdempotencyKey records a pending request under (scope, key) and
// returns nil, or returns the record already there. A pending record older
// than staleAfter is taken over: its request died before it could finish.
func (d *DB) ClaimIdempotencyKey(ctx context.Context, scope, key string, reqHash []byte, now time.Time, staleAfter time.Duration) (*IdempotencyRecord, error) {
	var existing *IdempotencyRecord
	err := d.WithTx(ctx, func(tx *Tx) error {
		existing = nil
		// Most keys are new: the insert comes first, so that a fresh claim
		// reads nothing that a concurrent claim of another key writes, and
		// concurrent requests do not conflict over the index they share.
		res, err := tx.exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at)
			VALUES (?, ?, ?, 'pending', ?) ON CONFLICT (scope, key) DO NOTHING`, scope, key, reqHash, micros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var r IdempotencyRecord
		var state string
		var created int64
		err = tx.queryRow(ctx, `SELECT request_hash, state, status_code, content_type, response, created_at
			FROM idempotency_keys WHERE scope = ? AND key = ?`, scope, key).
			Scan(&r.RequestHash, &state, &r.StatusCode, &r.ContentType, &r.Response, &created)
		switch err := mapErr(err); {
		case errNotFound(err):
			_, err = tx.exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at)
				VALUES (?, ?, ?, 'pending', ?)`, scope, key, reqHash, micros(now))
			return err
		case err != nil:
			return err
		}
		r.Done, r.CreatedAt = state == "done", fromMicros(created)
		if !r.Done && now.Sub(r.CreatedAt) > staleAfter {
			_, err = tx.exec(ctx, `UPDATE idempotency_keys SET request_hash = ?, created_at = ? WHERE scope = ? AND key = ?`,
				reqHash, micros(now), scope, key)
			return err
		}
		existing = &r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	return existing, nil
}

// CompleteIdempotencyKey stores the answer given to the request.
func (d *DB) CompleteIdempotencyKey(ctx context.Context, scope, key string, status int, contentType string, body []byte) error {
	_, err := d.exec(ctx, `UPDATE idempotency_keys SET state = 'done', status_code = ?, content_type = ?, response = ?
		WHERE scope = ? AND key = ?`, status, contentType, body, scope, key)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey forgets a pending key whose request failed, so the
// client may try again with the same key.
func (d *DB) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	_, err := d.exec(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND state = 'pending'`, scope, key)
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}
