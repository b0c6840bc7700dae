package store

import (
	"context"
	"fmt"

	"zhengzhao/internal/auditlog"
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
	t.Size = uint64(size)
	for i := 0; i < len(hashes); i += 32 {
		t.Hashes = append(t.Hashes, hashes[i:i+32])
	}
	return t, nil
}

// InsertAuditEntry implements auditlog.Store.
func (q q) InsertAuditEntry(ctx context.Context, e auditlog.Entry, leaf []byte) error {
	_, err := q.exec(ctx, `INSERT INTO audit_entries (idx, at, actor, org, action, subject, details, leaf) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		int64(e.Index), micros(e.At), e.Actor, e.Org, e.Action, e.Subject, auditlog.DetailsJSON(e.Details), leaf)
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
	res, err := q.exec(ctx, `UPDATE audit_tree SET size = ?, hashes = ?, root = ? WHERE id = 1 AND size = ?`, int64(t.Size), hashes, t.Root, int64(t.Size)-1)
	if err != nil {
		return fmt.Errorf("audit tree: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: audit tree moved meanwhile", errBusy)
	}
	return nil
}

// AuditEntries implements auditlog.Store: entries [from, to) in order.
func (q q) AuditEntries(ctx context.Context, from, to uint64) ([]auditlog.Entry, [][]byte, error) {
	rows, err := q.query(ctx, `SELECT idx, at, actor, org, action, subject, details, leaf FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx`, int64(from), int64(to))
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
		e.Index, e.At = uint64(idx), fromMicros(at)
		if e.Details, err = auditlog.ParseDetails(details); err != nil {
			return nil, nil, fmt.Errorf("audit entry %d details: %w", idx, err)
		}
		entries = append(entries, e)
		leaves = append(leaves, leaf)
	}
	return entries, leaves, mapErr(rows.Err())
}
