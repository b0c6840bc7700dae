package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

var (
	_ license.TransferReader = (*DB)(nil)
	_ license.TransferTx     = (*Tx)(nil)
)

const transferColumns = `id, from_org, to_org, types, reason, state, total, moved, last_id, failure, lease_owner, lease_until,
	created_by, created_at, updated_at`

func scanTransfer(s scanner) (license.TransferJob, error) {
	var j license.TransferJob
	var types, state string
	var leaseUntil, created, updated int64
	err := s.Scan(&j.ID, &j.From, &j.To, &types, &j.Reason, &state, &j.Total, &j.Moved, &j.Cursor, &j.Failure, &j.LeaseOwner, &leaseUntil,
		&j.CreatedBy, &created, &updated)
	if err != nil {
		return license.TransferJob{}, mapErr(err)
	}
	j.Types, j.State = strings.Split(types, ","), license.TransferState(state)
	j.CreatedAt, j.UpdatedAt = fromMicros(created), fromMicros(updated)
	if leaseUntil != 0 {
		j.LeaseUntil = fromMicros(leaseUntil)
	}
	return j, nil
}

// scanText scans a row of one text column.
func scanText(s scanner) (string, error) {
	var v string
	return v, s.Scan(&v)
}

// leaseMicros is a lease's end as stored: 0 for none.
func leaseMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

// GetTransfer implements license.TransferReader.
func (h handle) GetTransfer(ctx context.Context, id string) (license.TransferJob, error) {
	j, err := scanTransfer(h.queryRow(ctx, `SELECT `+transferColumns+` FROM license_transfers WHERE id = ?`, id))
	if err != nil {
		return license.TransferJob{}, fmt.Errorf("transfer job %s: %w", id, err)
	}
	return j, nil
}

// ListTransfers implements license.TransferReader.
func (h handle) ListTransfers(ctx context.Context, f license.TransferFilter) ([]license.TransferJob, error) {
	where, args := `id > ?`, []any{f.After}
	if f.State != "" {
		where, args = where+` AND state = ?`, append(args, string(f.State))
	}
	rows, err := h.query(ctx, `SELECT `+transferColumns+` FROM license_transfers WHERE `+where+` ORDER BY id LIMIT ?`, append(args, f.Limit)...)
	js, err := collect(rows, err, scanTransfer)
	if err != nil {
		return nil, fmt.Errorf("list transfer jobs: %w", err)
	}
	return js, nil
}

// RunnableTransfers implements license.TransferReader; the partial index
// license_transfers_open (migration 0021) serves it.
func (h handle) RunnableTransfers(ctx context.Context, owner string, now time.Time, limit int) ([]string, error) {
	rows, err := h.query(ctx, `SELECT id FROM license_transfers WHERE state IN ('queued', 'running')
		AND (lease_owner = '' OR lease_owner = ? OR lease_until < ?) ORDER BY created_at, id LIMIT ?`, owner, micros(now), limit)
	out, err := collect(rows, err, scanText)
	if err != nil {
		return nil, fmt.Errorf("runnable transfer jobs: %w", err)
	}
	return out, nil
}

// candidates is the condition on licenses of issuer of the types, and its
// arguments.
func candidates(issuer string, types []string) (string, []any) {
	args := []any{issuer}
	for _, t := range types {
		args = append(args, t)
	}
	return `issuer = ? AND type_code IN (?` + strings.Repeat(`, ?`, len(types)-1) + `)`, args
}

// TransferCandidates implements license.TransferReader; the index
// licenses_issuer (issuer, id) serves it.
func (h handle) TransferCandidates(ctx context.Context, issuer string, types []string, limit int) ([]string, error) {
	if len(types) == 0 {
		return nil, nil
	}
	where, args := candidates(issuer, types)
	rows, err := h.query(ctx, `SELECT id FROM licenses WHERE `+where+` ORDER BY id LIMIT ?`, append(args, limit)...)
	out, err := collect(rows, err, scanText)
	if err != nil {
		return nil, fmt.Errorf("licenses of %s to transfer: %w", issuer, err)
	}
	return out, nil
}

// CountTransferCandidates implements license.TransferReader.
func (h handle) CountTransferCandidates(ctx context.Context, issuer string, types []string) (int64, error) {
	if len(types) == 0 {
		return 0, nil
	}
	where, args := candidates(issuer, types)
	var n int64
	if err := mapErr(h.queryRow(ctx, `SELECT COUNT(*) FROM licenses WHERE `+where, args...).Scan(&n)); err != nil {
		return 0, fmt.Errorf("count licenses of %s to transfer: %w", issuer, err)
	}
	return n, nil
}

// IssuedTypes implements license.TransferReader.
func (h handle) IssuedTypes(ctx context.Context, issuer string) ([]string, error) {
	rows, err := h.query(ctx, `SELECT DISTINCT type_code FROM licenses WHERE issuer = ? ORDER BY type_code`, issuer)
	out, err := collect(rows, err, scanText)
	if err != nil {
		return nil, fmt.Errorf("license types of %s: %w", issuer, err)
	}
	return out, nil
}

// InsertTransfer implements license.TransferTx.
func (tx *Tx) InsertTransfer(ctx context.Context, j license.TransferJob) error {
	_, err := tx.exec(ctx, `INSERT INTO license_transfers (`+transferColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.From, j.To, strings.Join(j.Types, ","), j.Reason, string(j.State), j.Total, j.Moved, j.Cursor, j.Failure, j.LeaseOwner,
		leaseMicros(j.LeaseUntil), j.CreatedBy, micros(j.CreatedAt), micros(j.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert transfer job %s: %w", j.ID, err)
	}
	return nil
}

// UpdateTransfer implements license.TransferTx: the lease owner is the
// condition, so that a runner whose lease another took writes nothing.
func (tx *Tx) UpdateTransfer(ctx context.Context, j license.TransferJob, owner string) error {
	res, err := tx.exec(ctx, `UPDATE license_transfers SET state = ?, total = ?, moved = ?, last_id = ?, failure = ?, lease_owner = ?,
		lease_until = ?, updated_at = ? WHERE id = ? AND lease_owner = ?`, string(j.State), j.Total, j.Moved, j.Cursor, j.Failure, j.LeaseOwner,
		leaseMicros(j.LeaseUntil), micros(j.UpdatedAt), j.ID, owner)
	if err != nil {
		return fmt.Errorf("update transfer job %s: %w", j.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "transfer job %s changed meanwhile", j.ID)
	}
	return nil
}

// TransferTx runs fn in one transaction; it is the license.TransferTxFunc
// of this store.
func (d *DB) TransferTx(ctx context.Context, fn func(license.TransferTx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}
