package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
)

// IdempotencyRecord is what is kept of a request sent with an Idempotency-Key.
type IdempotencyRecord struct {
	// RequestHash equals the hash the request was claimed with when the
	// record is of the same request, and differs from it otherwise. What is
	// stored is a keyed hash of it: a body may hold a phone number, which an
	// unkeyed hash would let anyone holding the file guess.
	RequestHash []byte
	Done        bool
	StatusCode  int
	ContentType string
	Response    []byte
	CreatedAt   time.Time
}

// idempotencyTable and idempotencyResponse name the encrypted column that
// keeps the answers replayed: they hold what the platform otherwise never
// stores in clear (a token's secret, a responsible person's phone).
const (
	idempotencyTable    = "idempotency_keys"
	idempotencyResponse = "response"
)

// idempotencyRow is the row key that binds a stored answer to its record;
// scopes are account IDs, which hold no '/'.
func idempotencyRow(scope, key string) string { return scope + "/" + key }

// requestMAC is the keyed hash of a request hash that is stored.
func (h handle) requestMAC(reqHash []byte) ([]byte, error) {
	if h.keys == nil {
		return nil, apperr.Wrap(apperr.Internal, ErrLocked, "the store is locked")
	}
	k, err := h.keys.blindIndexKey("idempotency-request")
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(envelope.BlindIndex(k, hex.EncodeToString(reqHash)))
}

// ClaimIdempotencyKey records a pending request under (scope, key) and
// returns nil, or returns the record already there, its answer decrypted. A
// pending record older than staleAfter is taken over: its request died
// before it could finish. It is on DB and commits by itself: the claim must
// be visible to a concurrent retry of the same request before the request's
// own transaction commits.
func (d *DB) ClaimIdempotencyKey(ctx context.Context, scope, key string, reqHash []byte, now time.Time, staleAfter time.Duration) (*IdempotencyRecord, error) {
	mac, err := d.requestMAC(reqHash)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	var existing *IdempotencyRecord
	err = d.WithTx(ctx, func(tx *Tx) error {
		existing = nil
		// Most keys are new: the insert comes first, so that a fresh claim
		// reads nothing that a concurrent claim of another key writes, and
		// concurrent requests do not conflict over the index they share.
		res, err := tx.exec(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at)
			VALUES (?, ?, ?, 'pending', ?) ON CONFLICT (scope, key) DO NOTHING`, scope, key, mac, micros(now))
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
		// The insert found the key, so the row is there: PostgreSQL fails a
		// conflict with a row this snapshot cannot see as a serialization
		// error, which WithTx retries, rather than hiding the row.
		if err := mapErr(err); err != nil {
			return err
		}
		r.Done, r.CreatedAt = state == "done", fromMicros(created)
		if !r.Done && now.Sub(r.CreatedAt) > staleAfter {
			_, err = tx.exec(ctx, `UPDATE idempotency_keys SET request_hash = ?, created_at = ? WHERE scope = ? AND key = ?`,
				mac, micros(now), scope, key)
			return err
		}
		if bytes.Equal(r.RequestHash, mac) {
			r.RequestHash = reqHash
		}
		if r.Done && r.Response != nil {
			body, err := tx.decrypt(ctx, FieldKey, idempotencyTable, idempotencyRow(scope, key), idempotencyResponse, r.Response)
			if err != nil {
				return err
			}
			r.Response = []byte(body)
		}
		existing = &r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	return existing, nil
}

// CompleteIdempotencyKey stores the answer given to the request, encrypted
// and bound to its record. It is on DB because the answer exists only once
// the request's own transaction is over.
func (d *DB) CompleteIdempotencyKey(ctx context.Context, scope, key string, status int, contentType string, body []byte) error {
	ciphertext, err := d.encrypt(ctx, FieldKey, idempotencyTable, idempotencyRow(scope, key), idempotencyResponse, string(body))
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	err = d.retry(ctx, func() error {
		_, err := d.exec(ctx, `UPDATE idempotency_keys SET state = 'done', status_code = ?, content_type = ?, response = ?
		WHERE scope = ? AND key = ?`, status, contentType, ciphertext, scope, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey forgets a pending key whose request failed, so the
// client may try again with the same key. It is on DB because the request's
// transaction has rolled back by then.
func (d *DB) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	err := d.retry(ctx, func() error {
		_, err := d.exec(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND state = 'pending'`, scope, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}
