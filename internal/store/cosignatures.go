package store

import (
	"context"
	"fmt"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
)

var (
	_ auditlog.CosignatureReader = (*DB)(nil)
	_ auditlog.CosignatureTx     = (*Tx)(nil)
)

const cosignatureColumns = `witness, size, root, cosigned_at, line, received_at`

// AuditCosignatures implements auditlog.CosignatureReader.
func (h handle) AuditCosignatures(ctx context.Context, size uint64) ([]auditlog.Cosignature, error) {
	n, err := sqlIndex(size)
	if err != nil {
		return nil, fmt.Errorf("audit cosignatures: %w", err)
	}
	return h.cosignatures(ctx, `WHERE size = ? ORDER BY witness`, n)
}

// NewestAuditCosignature implements auditlog.CosignatureReader.
func (h handle) NewestAuditCosignature(ctx context.Context) (auditlog.Cosignature, error) {
	return h.cosignature(ctx, `WHERE size = (SELECT MAX(size) FROM audit_cosignatures) ORDER BY received_at, witness LIMIT 1`)
}

// LatestAuditCosignature implements auditlog.CosignatureTx.
func (h handle) LatestAuditCosignature(ctx context.Context, witness string) (auditlog.Cosignature, error) {
	return h.cosignature(ctx, `WHERE witness = ? ORDER BY size DESC LIMIT 1`, witness)
}

// InsertAuditCosignature implements auditlog.CosignatureTx. A concurrent
// transaction that stored the same witness and size first makes this one
// start again, when it reads that cosignature as stored: a retry, not a
// failure of the request.
func (tx *Tx) InsertAuditCosignature(ctx context.Context, c auditlog.Cosignature) error {
	size, err := sqlIndex(c.Size)
	if err != nil {
		return fmt.Errorf("audit cosignature: %w", err)
	}
	ts, err := sqlIndex(c.Timestamp)
	if err != nil {
		return fmt.Errorf("audit cosignature: %w", err)
	}
	res, err := tx.exec(ctx, `INSERT INTO audit_cosignatures (`+cosignatureColumns+`) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (witness, size) DO NOTHING`,
		c.Witness, size, c.Root, ts, c.Line, micros(c.ReceivedAt))
	if err != nil {
		return fmt.Errorf("audit cosignature: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("%w: cosignature of %s at %d stored meanwhile", errBusy, c.Witness, c.Size)
	}
	return nil
}

// CosignatureTx runs fn in one transaction.
func (d *DB) CosignatureTx(ctx context.Context, fn func(auditlog.CosignatureTx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

func (h handle) cosignature(ctx context.Context, clause string, args ...any) (auditlog.Cosignature, error) {
	var c auditlog.Cosignature
	var size, ts, at int64
	err := mapErr(h.queryRow(ctx, `SELECT `+cosignatureColumns+` FROM audit_cosignatures `+clause, args...).
		Scan(&c.Witness, &size, &c.Root, &ts, &c.Line, &at))
	if err != nil {
		return c, fmt.Errorf("audit cosignature: %w", err)
	}
	return cosignatureOf(c, size, ts, at)
}

func (h handle) cosignatures(ctx context.Context, clause string, args ...any) ([]auditlog.Cosignature, error) {
	rows, err := h.query(ctx, `SELECT `+cosignatureColumns+` FROM audit_cosignatures `+clause, args...)
	out, err := collect(rows, err, func(s scanner) (auditlog.Cosignature, error) {
		var c auditlog.Cosignature
		var size, ts, at int64
		if err := s.Scan(&c.Witness, &size, &c.Root, &ts, &c.Line, &at); err != nil {
			return c, err
		}
		return cosignatureOf(c, size, ts, at)
	})
	if err != nil {
		return nil, fmt.Errorf("audit cosignatures: %w", err)
	}
	return out, nil
}

// cosignatureOf completes a row's cosignature with its converted numbers.
func cosignatureOf(c auditlog.Cosignature, size, ts, at int64) (auditlog.Cosignature, error) {
	if size < 0 || ts < 0 {
		return c, fmt.Errorf("audit cosignature of %s with negative size %d or time %d", c.Witness, size, ts)
	}
	c.Size, c.Timestamp, c.ReceivedAt, c.Stored = uint64(size), uint64(ts), fromMicros(at), true
	return c, nil
}
