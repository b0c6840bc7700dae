package store

import (
	"context"
	"fmt"
	"math"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
)

var (
	_ auditlog.Store = (*DB)(nil)
	_ auditlog.Store = (*Tx)(nil)
)

// AuditTree implements auditlog.Store. Reading it inside a write
// transaction is what serializes appends: SQLite's IMMEDIATE lock, and
// PostgreSQL's SERIALIZABLE isolation with WithTx's retry.
func (q q) AuditTree(ctx context.Context) (auditlog.Tree, error) {
	var t auditlog.Tree
	var size int64
	var hashes []byte
	if err := mapErr(q.queryRow(ctx, `SELECT size, hashes, root FROM audit_tree WHERE id = 1`).Scan(&size, &hashes, &t.Root)); err != nil {
		return t, fmt.Errorf("audit tree: %w", err)
	}
	if len(hashes)%32 != 0 {
		return t, fmt.Errorf("audit tree: compact range of %d bytes", len(hashes))
	}
	if size < 0 {
		return t, fmt.Errorf("audit tree: negative size %d", size)
	}
	t.Size = uint64(size)
	for i := 0; i < len(hashes); i += 32 {
		t.Hashes = append(t.Hashes, hashes[i:i+32])
	}
	return t, nil
}

// InsertAuditEntry implements auditlog.Store.
func (q q) InsertAuditEntry(ctx context.Context, e auditlog.Entry, leaf []byte) error {
	idx, err := sqlIndex(e.Index)
	if err != nil {
		return fmt.Errorf("audit entry: %w", err)
	}
	_, err = q.exec(ctx, `INSERT INTO audit_entries (idx, at, actor, org, action, subject, details, leaf) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		idx, micros(e.At), e.Actor, e.Org, e.Action, e.Subject, auditlog.DetailsJSON(e.Details), leaf)
	if err != nil {
		return fmt.Errorf("audit entry: %w", err)
	}
	return nil
}

// UpdateAuditTree implements auditlog.Store.
func (q q) UpdateAuditTree(ctx context.Context, t auditlog.Tree) error {
	var hashes []byte
	for _, h := range t.Hashes {
		hashes = append(hashes, h...)
	}
	if hashes == nil {
		hashes = []byte{}
	}
	size, err := sqlIndex(t.Size)
	if err != nil {
		return fmt.Errorf("audit tree: %w", err)
	}
	res, err := q.exec(ctx, `UPDATE audit_tree SET size = ?, hashes = ?, root = ? WHERE id = 1 AND size = ?`, size, hashes, t.Root, size-1)
	if err != nil {
		return fmt.Errorf("audit tree: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: audit tree moved meanwhile", errBusy)
	}
	return nil
}

// AuditEntries implements auditlog.Store: entries [from, to) in order.
// from and to may come from a request: no entry lies past the largest SQL
// integer, so both are capped there rather than wrapped to negative numbers,
// which would have read from index 0.
func (q q) AuditEntries(ctx context.Context, from, to uint64) ([]auditlog.Entry, [][]byte, error) {
	from, to = min(from, math.MaxInt64), min(to, math.MaxInt64)
	if from >= to {
		return nil, nil, nil
	}
	return q.auditEntries(ctx, `idx >= ? AND idx < ? ORDER BY idx`, int64(from), int64(to))
}

// AuditEntriesOfOrg returns up to limit entries about org from index from
// on, in order.
func (q q) AuditEntriesOfOrg(ctx context.Context, org string, from uint64, limit int) ([]auditlog.Entry, error) {
	if from > math.MaxInt64 || limit <= 0 {
		return nil, nil
	}
	entries, _, err := q.auditEntries(ctx, `org = ? AND idx >= ? ORDER BY idx LIMIT ?`, org, int64(from), limit)
	return entries, err
}

// auditEntries reads the entries a WHERE clause selects.
func (q q) auditEntries(ctx context.Context, where string, args ...any) ([]auditlog.Entry, [][]byte, error) {
	rows, err := q.query(ctx, `SELECT idx, at, actor, org, action, subject, details, leaf FROM audit_entries WHERE `+where, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("audit entries: %w", err)
	}
	defer rows.Close()
	var entries []auditlog.Entry
	var leaves [][]byte
	for rows.Next() {
		var e auditlog.Entry
		var idx, at int64
		var details string
		var leaf []byte
		if err := rows.Scan(&idx, &at, &e.Actor, &e.Org, &e.Action, &e.Subject, &details, &leaf); err != nil {
			return nil, nil, mapErr(err)
		}
		if idx < 0 {
			return nil, nil, fmt.Errorf("audit entry with negative index %d", idx)
		}
		e.Index, e.At = uint64(idx), fromMicros(at)
		if e.Details, err = auditlog.ParseDetails(details); err != nil {
			return nil, nil, fmt.Errorf("audit entry %d details: %w", idx, err)
		}
		entries = append(entries, e)
		leaves = append(leaves, leaf)
	}
	return entries, leaves, mapErr(rows.Err())
}

// InsertAuditNode implements auditlog.Store.
func (q q) InsertAuditNode(ctx context.Context, level uint, index uint64, hash []byte) error {
	idx, err := sqlIndex(index)
	if err != nil {
		return fmt.Errorf("audit node: %w", err)
	}
	if _, err := q.exec(ctx, `INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)`, level, idx, hash); err != nil {
		return fmt.Errorf("audit node %d/%d: %w", level, index, err)
	}
	return nil
}

// AuditNode implements auditlog.Store.
func (q q) AuditNode(ctx context.Context, level uint, index uint64) ([]byte, error) {
	idx, err := sqlIndex(index)
	if err != nil {
		return nil, fmt.Errorf("audit node: %w", err)
	}
	var hash []byte
	if err := mapErr(q.queryRow(ctx, `SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?`, level, idx).Scan(&hash)); err != nil {
		return nil, fmt.Errorf("audit node %d/%d: %w", level, index, err)
	}
	return hash, nil
}

// sqlIndex converts a tree size or entry index to the signed integer SQL
// stores. A log grows by one entry per action and never gets near 2^63, but a
// wrapped negative index would corrupt the tree, so it is an error.
func sqlIndex(n uint64) (int64, error) {
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("index %d past the largest SQL integer", n)
	}
	return int64(n), nil
}
