package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/status"
)

var (
	_ status.Reader = (*DB)(nil)
	_ status.Tx     = (*Tx)(nil)

	_ status.IndexesClaimer = (*Tx)(nil)
)

// usageSample is the sampling step of status_lists.used. Counting the
// claims of a list inside the issuing transaction would make every two
// concurrent issuances of one issuer a read-write cycle on PostgreSQL
// (each reads the range the other inserts into), and rewriting the count
// on every claim would make the list row one that every issuance rewrites.
// So only a claim whose index is a multiple of usageSample adds
// usageSample to the count: indices are uniform, so the estimate is
// unbiased (about ±2% at the 75% fill limit), and the list row is written
// by one issuance in usageSample. A short estimate only delays the opening
// of the next list (status.List.Used).
const usageSample = 64

// changeShards is the number of rows a list's change counter is split
// over (status_list_changes). A change adds 1 to the shard of its index, so
// two changes of state of different licenses of one issuer write the same
// row only when their indices are equal modulo changeShards: at 64, two
// concurrent changes collide with probability 1/64 (on PostgreSQL the
// loser starts again once), and the publisher's sum reads 64 small rows at
// most. The index rather than a random draw picks the shard because
// changes of one index already contend on their license's row anyway.
// Changing it needs no migration: the counter is the sum whatever the
// shards.
const changeShards = 64

const statusListColumns = `issuer, purposes, number, size, used, created_at`

func scanStatusList(s scanner) (status.List, error) {
	var l status.List
	var purposes string
	var created int64
	if err := s.Scan(&l.Issuer, &purposes, &l.Number, &l.Size, &l.Used, &created); err != nil {
		return status.List{}, err
	}
	l.Purposes = status.PurposeSet(purposes)
	l.Created = fromMicros(created)
	return l, nil
}

// CurrentList implements status.Store.
func (h handle) CurrentList(ctx context.Context, issuer string, purposes status.PurposeSet) (status.List, bool, error) {
	rows, err := h.query(ctx, `SELECT `+statusListColumns+` FROM status_lists
		WHERE issuer = ? AND purposes = ? ORDER BY number DESC LIMIT 1`, issuer, string(purposes))
	ls, err := collect(rows, err, scanStatusList)
	if err != nil {
		return status.List{}, false, fmt.Errorf("current status list of %s: %w", issuer, err)
	}
	if len(ls) == 0 {
		return status.List{}, false, nil
	}
	return ls[0], true, nil
}

// GetStatusList implements status.Reader.
func (h handle) GetStatusList(ctx context.Context, ref status.ListRef) (status.List, error) {
	l, err := scanStatusList(h.queryRow(ctx, `SELECT `+statusListColumns+` FROM status_lists
		WHERE issuer = ? AND purposes = ? AND number = ?`, ref.Issuer, string(ref.Purposes), ref.Number))
	if err != nil {
		return status.List{}, fmt.Errorf("status list %d of %s: %w", ref.Number, ref.Issuer, mapErr(err))
	}
	return l, nil
}

// StatusListChanges implements status.Reader: the sum of the list's
// shards of the change counter. Every committed change adds 1 to one
// shard, so the sum grows by one with each, whatever order concurrent
// changes commit in; a list nothing changed yet has no shard and sums to 0.
func (h handle) StatusListChanges(ctx context.Context, ref status.ListRef) (int64, error) {
	var n int64
	err := h.queryRow(ctx, `SELECT COALESCE((SELECT SUM(c.changes) FROM status_list_changes c WHERE c.list_id = l.id), 0)
		FROM status_lists l WHERE l.issuer = ? AND l.purposes = ? AND l.number = ?`,
		ref.Issuer, string(ref.Purposes), ref.Number).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("changes of status list %d of %s: %w", ref.Number, ref.Issuer, mapErr(err))
	}
	return n, nil
}

// statusListID reads the row id of the list ref names.
func (h handle) statusListID(ctx context.Context, ref status.ListRef) (int64, error) {
	var id int64
	err := h.queryRow(ctx, `SELECT id FROM status_lists WHERE issuer = ? AND purposes = ? AND number = ?`,
		ref.Issuer, string(ref.Purposes), ref.Number).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("status list %d of %s: %w", ref.Number, ref.Issuer, mapErr(err))
	}
	return id, nil
}

// StatusListBits implements status.Reader.
func (h handle) StatusListBits(ctx context.Context, ref status.ListRef, p status.Purpose) ([]int, error) {
	rows, err := h.query(ctx, `SELECT b.idx FROM status_bits b JOIN status_lists l ON l.id = b.list_id
		WHERE l.issuer = ? AND l.purposes = ? AND l.number = ? AND b.purpose = ? ORDER BY b.idx`,
		ref.Issuer, string(ref.Purposes), ref.Number, string(p))
	out, err := collect(rows, err, func(s scanner) (int, error) {
		var i int
		err := s.Scan(&i)
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("set %s bits of status list %d of %s: %w", p, ref.Number, ref.Issuer, err)
	}
	return out, nil
}

// StatusLists implements status.Reader.
func (h handle) StatusLists(ctx context.Context) ([]status.List, error) {
	rows, err := h.query(ctx, `SELECT `+statusListColumns+` FROM status_lists ORDER BY issuer, purposes, number`)
	ls, err := collect(rows, err, scanStatusList)
	if err != nil {
		return nil, fmt.Errorf("status lists: %w", err)
	}
	return ls, nil
}

// StatusBit implements status.Reader: one row, whether or not the bit is
// set, so that a missing list is told from a clear bit.
func (h handle) StatusBit(ctx context.Context, ref status.ListRef, p status.Purpose, index int) (bool, int, error) {
	var size, set int
	err := h.queryRowPrepared(ctx, `SELECT l.size, (SELECT COUNT(*) FROM status_bits b WHERE b.list_id = l.id AND b.purpose = ? AND b.idx = ?)
		FROM status_lists l WHERE l.issuer = ? AND l.purposes = ? AND l.number = ?`,
		string(p), index, ref.Issuer, string(ref.Purposes), ref.Number).Scan(&size, &set)
	if err != nil {
		return false, 0, fmt.Errorf("%s bit %d of status list %d of %s: %w", p, index, ref.Number, ref.Issuer, mapErr(err))
	}
	return set > 0, size, nil
}

// OpenList implements status.Store.
func (tx *Tx) OpenList(ctx context.Context, l status.List) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO status_lists (issuer, purposes, number, size, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (issuer, purposes, number) DO NOTHING`,
		l.Issuer, string(l.Purposes), l.Number, l.Size, micros(l.Created))
	if err != nil {
		return false, fmt.Errorf("open status list %d of %s: %w", l.Number, l.Issuer, err)
	}
	return affected(res, "open status list")
}

// ClaimIndex implements status.Store. ON CONFLICT DO NOTHING keeps a taken
// index from aborting the issuing transaction: the allocator draws again.
func (tx *Tx) ClaimIndex(ctx context.Context, list status.ListRef, index int) (bool, error) {
	res, err := tx.execPrepared(ctx, `INSERT INTO status_claims (list_id, idx)
		SELECT id, ? FROM status_lists WHERE issuer = ? AND purposes = ? AND number = ?
		ON CONFLICT (list_id, idx) DO NOTHING`, index, list.Issuer, string(list.Purposes), list.Number)
	if err != nil {
		return false, fmt.Errorf("claim index %d of status list %d of %s: %w", index, list.Number, list.Issuer, err)
	}
	ok, err := affected(res, "claim status index")
	if !ok || err != nil || index%usageSample != 0 {
		return ok, err
	}
	if _, err := tx.exec(ctx, `UPDATE status_lists SET used = used + ? WHERE issuer = ? AND purposes = ? AND number = ?`,
		usageSample, list.Issuer, string(list.Purposes), list.Number); err != nil {
		return false, fmt.Errorf("count claims of status list %d of %s: %w", list.Number, list.Issuer, err)
	}
	return true, nil
}

// ClaimIndexes implements status.IndexesClaimer: the indices in one
// statement, as ClaimIndex claims one; RETURNING names those it claimed.
func (tx *Tx) ClaimIndexes(ctx context.Context, list status.ListRef, indices []int) ([]bool, error) {
	claimed := make([]bool, len(indices))
	if len(indices) == 0 {
		return claimed, nil
	}
	var id int64
	err := tx.queryRowPrepared(ctx, `SELECT id FROM status_lists WHERE issuer = ? AND purposes = ? AND number = ?`,
		list.Issuer, string(list.Purposes), list.Number).Scan(&id)
	switch {
	case errNotFound(mapErr(err)):
		// As ClaimIndex's INSERT … SELECT of no list claims nothing.
		return claimed, nil
	case err != nil:
		return nil, fmt.Errorf("claim indices of status list %d of %s: %w", list.Number, list.Issuer, mapErr(err))
	}
	args := make([]any, 0, 2*len(indices))
	for _, i := range indices {
		args = append(args, id, i)
	}
	q := `INSERT INTO status_claims (list_id, idx) VALUES ` + valueRows(len(indices), 2) +
		` ON CONFLICT (list_id, idx) DO NOTHING RETURNING idx`
	var rows *sql.Rows
	if len(indices) == status.ClaimsPerStatement {
		// The statement of a full draw is the one a bulk import runs again
		// and again.
		rows, err = tx.queryPrepared(ctx, q, args...)
	} else {
		rows, err = tx.query(ctx, q, args...)
	}
	got, err := collect(rows, err, func(sc scanner) (int, error) {
		var i int
		err := sc.Scan(&i)
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim %d indices of status list %d of %s: %w", len(indices), list.Number, list.Issuer, err)
	}
	taken := make(map[int]bool, len(got))
	samples := 0
	for _, i := range got {
		taken[i] = true
		if i%usageSample == 0 {
			samples++
		}
	}
	for j, i := range indices {
		claimed[j] = taken[i]
	}
	if samples == 0 {
		return claimed, nil
	}
	if _, err := tx.exec(ctx, `UPDATE status_lists SET used = used + ? WHERE id = ?`, samples*usageSample, id); err != nil {
		return nil, fmt.Errorf("count claims of status list %d of %s: %w", list.Number, list.Issuer, err)
	}
	return claimed, nil
}

// SlotBits implements status.Tx.
func (tx *Tx) SlotBits(ctx context.Context, s status.Slot) (status.Bits, error) {
	rows, err := tx.query(ctx, `SELECT b.purpose FROM status_lists l
		JOIN status_claims c ON c.list_id = l.id
		LEFT JOIN status_bits b ON b.list_id = c.list_id AND b.idx = c.idx
		WHERE l.issuer = ? AND l.purposes = ? AND l.number = ? AND c.idx = ?`,
		s.List.Issuer, string(s.List.Purposes), s.List.Number, s.Index)
	purposes, err := collect(rows, err, func(sc scanner) (*string, error) {
		var p *string
		err := sc.Scan(&p)
		return p, err
	})
	if err != nil {
		return status.Bits{}, fmt.Errorf("bits of index %d of status list %d of %s: %w", s.Index, s.List.Number, s.List.Issuer, err)
	}
	if len(purposes) == 0 {
		return status.Bits{}, fmt.Errorf("bits of index %d of status list %d of %s: %w", s.Index, s.List.Number, s.List.Issuer, mapErr(sql.ErrNoRows))
	}
	var b status.Bits
	for _, p := range purposes {
		if p == nil {
			continue
		}
		switch status.Purpose(*p) {
		case status.PurposeRevocation:
			b.Revocation = true
		case status.PurposeSuspension:
			b.Suspension = true
		}
	}
	return b, nil
}

// SetSlotBits implements status.Tx: a set bit is a row, inserted or
// deleted; a bit that stays as it was is not touched (see status.Tx), and
// the list's change counter moves by one in the shard of s's index
// (changeShards).
func (tx *Tx) SetSlotBits(ctx context.Context, s status.Slot, cur, next status.Bits, at time.Time) error {
	if cur == next {
		return nil
	}
	id, err := tx.statusListID(ctx, s.List)
	if err != nil {
		return err
	}
	for _, p := range s.List.Purposes.Purposes() {
		if cur.Bit(p) == next.Bit(p) {
			continue
		}
		q := `DELETE FROM status_bits WHERE list_id = ? AND purpose = ? AND idx = ?`
		args := []any{id, string(p), s.Index}
		if next.Bit(p) {
			q = `INSERT INTO status_bits (list_id, purpose, idx, set_at) VALUES (?, ?, ?, ?) ON CONFLICT (list_id, purpose, idx) DO NOTHING`
			args = append(args, micros(at))
		}
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("set %s bit of index %d of status list %d of %s: %w", p, s.Index, s.List.Number, s.List.Issuer, err)
		}
	}
	if _, err := tx.exec(ctx, `INSERT INTO status_list_changes (list_id, shard, changes) VALUES (?, ?, 1)
		ON CONFLICT (list_id, shard) DO UPDATE SET changes = status_list_changes.changes + 1`, id, s.Index%changeShards); err != nil {
		return fmt.Errorf("count a change of status list %d of %s: %w", s.List.Number, s.List.Issuer, err)
	}
	return nil
}

// affected reports whether res touched exactly one row.
func affected(res sql.Result, what string) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, mapErr(err))
	}
	return n == 1, nil
}

// StatusTx runs fn in one transaction; it is the status.TxFunc of this
// store.
func (d *DB) StatusTx(ctx context.Context, fn func(status.Tx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}
