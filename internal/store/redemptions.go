package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/present"
)

var (
	_ present.Tx     = (*Tx)(nil)
	_ present.Purger = (*DB)(nil)
)

// LiveStatus implements present.Tx: the state and end of validity (the
// holder's identifier is not decrypted) and each bit with its list's size,
// in one statement of scalar subqueries, prepared once per number of bits.
// A redemption decides on these in its transaction; three statements cost
// it about a tenth more CPU.
func (h handle) LiveStatus(ctx context.Context, id string, refs []present.BitRef) (license.State, *time.Time, []present.Bit, error) {
	var q strings.Builder
	q.WriteString(`SELECT l.state, l.valid_until`)
	args := make([]any, 0, 8*len(refs)+1)
	for _, r := range refs {
		q.WriteString(`, (SELECT s.size FROM status_lists s WHERE s.issuer = ? AND s.purposes = ? AND s.number = ?),
			(SELECT COUNT(*) FROM status_bits b WHERE b.purpose = ? AND b.idx = ? AND b.list_id =
				(SELECT s.id FROM status_lists s WHERE s.issuer = ? AND s.purposes = ? AND s.number = ?))`)
		args = append(args, r.List.Issuer, string(r.List.Purposes), r.List.Number,
			string(r.Purpose), r.Index, r.List.Issuer, string(r.List.Purposes), r.List.Number)
	}
	q.WriteString(` FROM licenses l WHERE l.id = ?`)
	args = append(args, id)
	var state string
	var until sql.NullInt64
	sizes, counts := make([]sql.NullInt64, len(refs)), make([]int64, len(refs))
	dest := make([]any, 0, 2+2*len(refs))
	dest = append(dest, &state, &until)
	for i := range refs {
		dest = append(dest, &sizes[i], &counts[i])
	}
	if err := h.queryRowPrepared(ctx, q.String(), args...).Scan(dest...); err != nil {
		return "", nil, nil, fmt.Errorf("license %s and its status bits: %w", id, mapErr(err))
	}
	bits := make([]present.Bit, len(refs))
	for i := range refs {
		bits[i] = present.Bit{Found: sizes[i].Valid, Size: int(sizes[i].Int64), Set: counts[i] > 0}
	}
	return license.State(state), timePtr(until), bits, nil
}

// ClaimRedemptions implements present.Tx: one multi-row insert whose
// RETURNING names the digests it inserted. The key is (expires_at,
// digest), which one payload always gives alike (its signed exp plus
// present.ClockSkew), so the key decides a replay as the digest did. ON CONFLICT DO NOTHING keeps a
// replay from aborting the transaction, which records its refusal; a
// digest given twice is inserted once, so its first claim is the new one,
// as in two inserts in a row. On PostgreSQL a concurrent redemption of the
// same payload waits for the first to commit and then fails to serialize,
// and its retry sees the row.
func (tx *Tx) ClaimRedemptions(ctx context.Context, claims []present.Claim) ([]bool, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 2*len(claims))
	for _, c := range claims {
		if len(c.Digest) == 0 {
			return nil, fmt.Errorf("record redemptions: a claim without a digest")
		}
		args = append(args, c.Digest, micros(c.Expires))
	}
	// On SQLite, OR IGNORE: a multi-row statement that may abort half-way
	// (ON CONFLICT DO NOTHING still aborts on NOT NULL) copies every page
	// it changes to a statement journal first, and when the records were
	// keyed by their random digests they changed a page each, so that
	// journal spilled to a file (migration 0033 keys them by expiry). With
	// every row given both values, only a taken digest is ignored.
	q := `INSERT INTO presentation_redemptions (digest, expires_at) VALUES ` + valueRows(len(claims), 2) +
		` ON CONFLICT (expires_at, digest) DO NOTHING RETURNING digest`
	if tx.dialect == SQLite {
		q = `INSERT OR IGNORE INTO presentation_redemptions (digest, expires_at) VALUES ` + valueRows(len(claims), 2) + ` RETURNING digest`
	}
	rows, err := tx.queryPrepared(ctx, q, args...)
	inserted, err := collect(rows, err, func(s scanner) (string, error) {
		var d []byte
		err := s.Scan(&d)
		return string(d), err
	})
	if err != nil {
		return nil, fmt.Errorf("record redemptions: %w", err)
	}
	fresh := make(map[string]bool, len(inserted))
	for _, d := range inserted {
		fresh[d] = true
	}
	out := make([]bool, len(claims))
	for i, c := range claims {
		out[i] = fresh[string(c.Digest)]
		delete(fresh, string(c.Digest)) // a second claim of it in the batch is a replay
	}
	return out, nil
}

// PurgeRedemptions implements present.Purger: one statement that commits
// by itself, deleting rows by their primary key, so that processes
// purging at once delete each row once and block no redemption for long.
func (d *DB) PurgeRedemptions(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int64
	err := d.retry(ctx, func() error {
		res, err := d.exec(ctx, `DELETE FROM presentation_redemptions WHERE (expires_at, digest) IN
			(SELECT expires_at, digest FROM presentation_redemptions WHERE expires_at < ? ORDER BY expires_at, digest LIMIT ?)`, micros(before), limit)
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
