package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/present"
)

var (
	_ present.Tx     = (*Tx)(nil)
	_ present.Purger = (*DB)(nil)
)

// LicenseState implements present.Tx: the state and end of validity
// alone, without decrypting the holder's identifier.
func (h handle) LicenseState(ctx context.Context, id string) (license.State, *time.Time, error) {
	var state string
	var until sql.NullInt64
	if err := h.queryRowPrepared(ctx, `SELECT state, valid_until FROM licenses WHERE id = ?`, id).Scan(&state, &until); err != nil {
		return "", nil, fmt.Errorf("license %s: %w", id, mapErr(err))
	}
	return license.State(state), timePtr(until), nil
}

// ClaimRedemption implements present.Tx. ON CONFLICT DO NOTHING keeps a
// replay from aborting the transaction, which records its refusal; on
// PostgreSQL a concurrent redemption of the same payload waits for the
// first to commit and then fails to serialize, and its retry sees the row.
func (tx *Tx) ClaimRedemption(ctx context.Context, digest []byte, expires time.Time) (bool, error) {
	res, err := tx.execPrepared(ctx, `INSERT INTO presentation_redemptions (digest, expires_at) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING`,
		digest, micros(expires))
	if err != nil {
		return false, fmt.Errorf("record a redemption: %w", mapErr(err))
	}
	return affected(res, "record a redemption")
}

// PurgeRedemptions implements present.Purger: one statement that commits
// by itself, deleting rows by their primary key, so that processes
// purging at once delete each row once and block no redemption for long.
func (d *DB) PurgeRedemptions(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int64
	err := d.retry(ctx, func() error {
		res, err := d.exec(ctx, `DELETE FROM presentation_redemptions WHERE digest IN
			(SELECT digest FROM presentation_redemptions WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`, micros(before), limit)
		if err != nil {
			return mapErr(err)
		}
		n, err = res.RowsAffected()
		return mapErr(err)
	})
	if err != nil {
		return 0, fmt.Errorf("purge redemptions: %w", err)
	}
	return int(n), nil
}

// PresentTx runs fn in one transaction; it is the present.TxFunc of this
// store.
func (d *DB) PresentTx(ctx context.Context, fn func(present.Tx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}
