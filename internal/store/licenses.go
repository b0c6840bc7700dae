package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/status"
)

var (
	_ license.Store = (*DB)(nil)
	_ license.Tx    = (*Tx)(nil)
)

// The encrypted columns of licenses (see encryptedColumns).
const (
	licensesTable        = "licenses"
	licenseHolderColumn  = "holder_identifier"
	licenseVersionsTable = "license_versions"
	licenseDocumentCol   = "document"
)

// licenseVersionRef is the row key an encrypted document is bound to.
func licenseVersionRef(id string, version int64) string {
	return id + "/" + strconv.FormatInt(version, 10)
}

// holderIndex is the blind index of a normalized holder identifier: equal
// identifiers index equally, and the index reveals nothing else without
// the master key.
func (h handle) holderIndex(identifier string) (string, error) {
	return h.blindIndex("license-holder", identifier)
}

// InsertLicense implements license.Tx.
func (tx *Tx) InsertLicense(ctx context.Context, l license.License) error {
	return tx.InsertLicenses(ctx, []license.License{l})
}

// InsertLicenseVersion implements license.Tx.
func (tx *Tx) InsertLicenseVersion(ctx context.Context, v license.Version) error {
	return tx.InsertLicenseVersions(ctx, []license.Version{v})
}

// UpdateLicense implements license.Tx: what a lifecycle operation may
// change (the issuer: a transfer), on the condition that the row is still
// as the operation read it.
func (tx *Tx) UpdateLicense(ctx context.Context, l license.License, state license.State, version int64) error {
	res, err := tx.exec(ctx, `UPDATE licenses SET issuer = ?, type_version = ?, valid_from = ?, valid_until = ?, state = ?, version = ?, status_issuer = ?,
		status_purposes = ?, status_list = ?, status_index = ?, seal_id = ?, updated_at = ? WHERE id = ? AND state = ? AND version = ?`,
		l.Issuer, l.TypeVersion, micros(l.ValidFrom), nullMicros(l.ValidUntil), string(l.State), l.Version, l.Slot.List.Issuer, string(l.Slot.List.Purposes),
		l.Slot.List.Number, l.Slot.Index, l.SealID, micros(l.UpdatedAt), l.ID, string(state), version)
	if err != nil {
		return fmt.Errorf("update license %s: %w", l.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "license %s changed meanwhile", l.ID)
	}
	return nil
}

// InsertLicenseTransition implements license.Tx. The sequence is the
// license's next, counted on the license row the transition writes anyway:
// reading MAX(seq) from the history's index would have every transition
// read index pages the others insert into, which PostgreSQL's SERIALIZABLE
// counts as conflicts.
func (tx *Tx) InsertLicenseTransition(ctx context.Context, r license.Record) (int64, error) {
	var seq int64
	err := mapErr(tx.queryRow(ctx, `UPDATE licenses SET transitions = transitions + 1 WHERE id = ? RETURNING transitions`, r.LicenseID).Scan(&seq))
	if err != nil {
		return 0, fmt.Errorf("license %s transitions: %w", r.LicenseID, err)
	}
	_, err = tx.exec(ctx, `INSERT INTO license_transitions (license_id, seq, operation, from_state, to_state, reason, actor, at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.LicenseID, seq, string(r.Operation), string(r.From), string(r.To), r.Reason, r.Actor,
		micros(r.At), r.Version)
	if err != nil {
		return 0, fmt.Errorf("insert license %s transition %d: %w", r.LicenseID, seq, err)
	}
	return seq, nil
}

// LicenseTransitions implements license.Reader.
func (h handle) LicenseTransitions(ctx context.Context, f license.HistoryFilter) ([]license.Record, error) {
	rows, err := h.query(ctx, `SELECT license_id, seq, operation, from_state, to_state, reason, actor, at, version FROM license_transitions
		WHERE license_id = ? AND seq > ? ORDER BY seq LIMIT ?`, f.LicenseID, f.After, f.Limit)
	rs, err := collect(rows, err, func(s scanner) (license.Record, error) {
		var r license.Record
		var op, from, to string
		var at int64
		if err := s.Scan(&r.LicenseID, &r.Seq, &op, &from, &to, &r.Reason, &r.Actor, &at, &r.Version); err != nil {
			return license.Record{}, err
		}
		r.Operation, r.From, r.To, r.At = license.Operation(op), license.State(from), license.State(to), fromMicros(at)
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("license %s transitions: %w", f.LicenseID, err)
	}
	return rs, nil
}

// DueLicenses implements license.Reader. The states are those Expire is
// allowed from, and the predicate of the partial index licenses_due
// (migration 0016), which serves the query.
func (h handle) DueLicenses(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := h.query(ctx, `SELECT id FROM licenses WHERE state IN ('active', 'suspended', 'pledged', 'reported-lost')
		AND valid_until <= ? ORDER BY valid_until, id LIMIT ?`, micros(now), limit)
	ids, err := collect(rows, err, func(s scanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("licenses due to expire: %w", err)
	}
	return ids, nil
}

const licenseColumns = `id, number, type_code, type_version, issuer, holder_kind, holder_identifier, holder_index, holder_name, valid_from,
	valid_until, state, version, status_issuer, status_purposes, status_list, status_index, seal_id, issued_by, issued_at, updated_at`

// licenseRow is a license as read, its holder identifier still encrypted.
type licenseRow struct {
	l      license.License
	holder []byte
}

func scanLicense(s scanner) (licenseRow, error) {
	var r licenseRow
	var holderKind, state, purposes string
	var from, issued, updated int64
	var until sql.NullInt64
	err := s.Scan(&r.l.ID, &r.l.Number, &r.l.TypeCode, &r.l.TypeVersion, &r.l.Issuer, &holderKind, &r.holder, &r.l.HolderIndex, &r.l.HolderName, &from,
		&until, &state, &r.l.Version, &r.l.Slot.List.Issuer, &purposes, &r.l.Slot.List.Number, &r.l.Slot.Index, &r.l.SealID,
		&r.l.IssuedBy, &issued, &updated)
	if err != nil {
		return licenseRow{}, mapErr(err)
	}
	r.l.HolderKind, r.l.State, r.l.Slot.List.Purposes = catalog.HolderKind(holderKind), license.State(state), status.PurposeSet(purposes)
	r.l.ValidFrom, r.l.ValidUntil, r.l.IssuedAt, r.l.UpdatedAt = fromMicros(from), timePtr(until), fromMicros(issued), fromMicros(updated)
	return r, nil
}

// open decrypts the holder identifier of a row read.
func (h handle) openLicense(ctx context.Context, r licenseRow) (license.License, error) {
	holder, err := h.decrypt(ctx, FieldKey, licensesTable, r.l.ID, licenseHolderColumn, r.holder)
	if err != nil {
		return license.License{}, err
	}
	r.l.HolderID = holder
	return r.l, nil
}

// GetLicense implements license.Reader.
func (h handle) GetLicense(ctx context.Context, id string) (license.License, error) {
	r, err := scanLicense(h.queryRow(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE id = ?`, id))
	if err != nil {
		return license.License{}, fmt.Errorf("license %s: %w", id, err)
	}
	return h.openLicense(ctx, r)
}

// ListLicenses implements license.Reader.
func (h handle) ListLicenses(ctx context.Context, f license.Filter) ([]license.License, error) {
	where, args := []string{`id > ?`}, []any{f.After}
	for _, c := range []struct{ col, val string }{{"issuer", f.Issuer}, {"type_code", f.TypeCode}, {"state", string(f.State)},
		{"holder_kind", string(f.HolderKind)}, {"holder_index", f.HolderIndex}} {
		if c.val != "" {
			where, args = append(where, c.col+` = ?`), append(args, c.val)
		}
	}
	if f.Holder != "" {
		index, err := h.holderIndex(f.Holder)
		if err != nil {
			return nil, err
		}
		where, args = append(where, `holder_index = ?`), append(args, index)
	}
	rows, err := h.query(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE `+strings.Join(where, ` AND `)+` ORDER BY id LIMIT ?`,
		append(args, f.Limit)...)
	rs, err := collect(rows, err, scanLicense)
	if err != nil {
		return nil, fmt.Errorf("list licenses: %w", err)
	}
	out := make([]license.License, 0, len(rs))
	for _, r := range rs {
		l, err := h.openLicense(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// LicenseDocument implements license.Reader.
func (h handle) LicenseDocument(ctx context.Context, id string, version int64) ([]byte, error) {
	ref := licenseVersionRef(id, version)
	var doc []byte
	if err := mapErr(h.queryRow(ctx, `SELECT document FROM license_versions WHERE ref = ?`, ref).Scan(&doc)); err != nil {
		return nil, fmt.Errorf("license document %s: %w", ref, err)
	}
	plain, err := h.decrypt(ctx, FieldKey, licenseVersionsTable, ref, licenseDocumentCol, doc)
	if err != nil {
		return nil, err
	}
	return []byte(plain), nil
}

// NextSeq implements ids.Sequencer (license.Store) for license numbers.
// Like NextCRLNumber it is on DB and auto-committed: a number is spent
// whether or not its issuance commits, and one conditional UPDATE queues
// on the counter's row lock for a moment where a counter read and written
// in the issuing transaction would hold it, or conflict, for the whole
// issuance.
func (d *DB) NextSeq(ctx context.Context, scope ids.SequenceScope) (uint64, error) {
	return d.nextSequence(ctx, "number/"+scope.TypeCode+"/"+scope.Region+"/"+strconv.Itoa(scope.Year))
}

// NextLicenseSeq implements license.Store: the identifier sequence of a
// type and issuer, as NextSeq.
func (d *DB) NextLicenseSeq(ctx context.Context, typeCode, issuer string) (uint64, error) {
	return d.nextSequence(ctx, "id/"+typeCode+"/"+issuer)
}

func (d *DB) nextSequence(ctx context.Context, scope string) (uint64, error) {
	return d.nextSequenceBy(ctx, scope, 1)
}

// nextSequenceBy advances the counter of scope by step and returns its
// new value, the last of the step values drawn.
func (d *DB) nextSequenceBy(ctx context.Context, scope string, step int) (n uint64, err error) {
	err = d.retry(ctx, func() error {
		var v int64
		// The counter row exists but for the first draw of a scope: one
		// statement, one short write, in the common case.
		err := mapErr(d.queryRow(ctx, `UPDATE license_sequences SET value = value + ? WHERE scope = ? RETURNING value`, step, scope).Scan(&v))
		if errNotFound(err) {
			if _, err := d.exec(ctx, `INSERT INTO license_sequences (scope, value) VALUES (?, 0) ON CONFLICT (scope) DO NOTHING`, scope); err != nil {
				return err
			}
			err = mapErr(d.queryRow(ctx, `UPDATE license_sequences SET value = value + ? WHERE scope = ? RETURNING value`, step, scope).Scan(&v))
		}
		if err != nil {
			return err
		}
		n = uint64(v) //nolint:gosec // the counter starts at 0 and only grows
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("license sequence %s: %w", scope, err)
	}
	return n, nil
}

// LicenseTx runs fn in one transaction; it is the license.TxFunc of this
// store.
func (d *DB) LicenseTx(ctx context.Context, fn func(license.Tx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}
