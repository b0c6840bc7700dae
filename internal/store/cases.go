package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// Using units' case archive and the issuers' usage reports (migration
// 0029).

var (
	_ use.CaseTx  = (*Tx)(nil)
	_ use.QueryTx = (*Tx)(nil)
)

// UseCaseTx runs fn in one transaction; it is the use.CaseTxFunc of this
// store.
func (d *DB) UseCaseTx(ctx context.Context, fn func(use.CaseTx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// usedDetail is the pattern that finds an entry's details naming a use:
// details are JSON with sorted keys, and a use id is letters, digits and
// '_', which LIKE's '_' matches as itself among others, so the subject
// and action narrow the rows first.
func usedDetail(useID string) string { return `%"use":"` + useID + `"%` }

// caseColumns are a record's columns, the license's type and number, and
// the index of the use's license.used entry of the license once
// integrated.
const caseColumns = `r.org, r.case_no, r.license_id, r.use_id, r.matter, r.matter_version, r.used_by, r.used_at,
	r.attached_by, r.attached_at, l.type_code, l.number,
	(SELECT e.idx FROM audit_entries e WHERE e.subject = r.license_id AND e.action = 'license.used'
		AND e.at = r.used_at AND e.details LIKE '%"use":"' || r.use_id || '"%')`

func scanCaseRecord(s scanner) (use.CaseRecord, error) {
	var r use.CaseRecord
	var used, attached int64
	var idx *int64
	if err := s.Scan(&r.Org, &r.Case, &r.LicenseID, &r.Use, &r.Matter, &r.MatterVersion, &r.UsedBy, &used,
		&r.AttachedBy, &attached, &r.TypeCode, &r.Number, &idx); err != nil {
		return use.CaseRecord{}, mapErr(err)
	}
	r.UsedAt, r.AttachedAt = fromMicros(used), fromMicros(attached)
	if idx != nil {
		if *idx < 0 {
			return use.CaseRecord{}, fmt.Errorf("audit entry with negative index %d", *idx)
		}
		n := uint64(*idx)
		r.Entry = &n
	}
	return r, nil
}

// InsertCaseRecord implements use.CaseTx: a record the case holds already
// is left as it is.
func (tx *Tx) InsertCaseRecord(ctx context.Context, r use.CaseRecord) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO use_case_records (org, case_no, license_id, use_id, matter, matter_version, used_by, used_at,
		attached_by, attached_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (org, case_no, license_id, use_id) DO NOTHING`,
		r.Org, r.Case, r.LicenseID, r.Use, r.Matter, r.MatterVersion, r.UsedBy, micros(r.UsedAt), r.AttachedBy, micros(r.AttachedAt))
	if err != nil {
		return false, fmt.Errorf("insert case record of %s in case %s: %w", r.LicenseID, r.Case, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert case record: %w", err)
	}
	return n == 1, nil
}

// GetCaseRecord implements use.Reader.
func (h handle) GetCaseRecord(ctx context.Context, org, kase, licenseID, useID string) (use.CaseRecord, error) {
	r, err := scanCaseRecord(h.queryRow(ctx, `SELECT `+caseColumns+` FROM use_case_records r JOIN licenses l ON l.id = r.license_id
		WHERE r.org = ? AND r.case_no = ? AND r.license_id = ? AND r.use_id = ?`, org, kase, licenseID, useID))
	if err != nil {
		return use.CaseRecord{}, fmt.Errorf("case %s record of %s: %w", kase, licenseID, err)
	}
	return r, nil
}

// ListCaseRecords implements use.Reader; the cursor is "use|license".
func (h handle) ListCaseRecords(ctx context.Context, f use.CaseFilter) ([]use.CaseRecord, error) {
	where, args := []string{`r.org = ?`, `r.case_no = ?`}, []any{f.Org, f.Case}
	if f.After != "" {
		u, l, _ := strings.Cut(f.After, "|")
		where, args = append(where, `(r.use_id > ? OR (r.use_id = ? AND r.license_id > ?))`), append(args, u, u, l)
	}
	rows, err := h.query(ctx, `SELECT `+caseColumns+` FROM use_case_records r JOIN licenses l ON l.id = r.license_id`+
		whereClause(where)+` ORDER BY r.use_id, r.license_id LIMIT ?`, append(args, f.Limit)...)
	out, err := collect(rows, err, scanCaseRecord)
	if err != nil {
		return nil, fmt.Errorf("list case %s of %s: %w", f.Case, f.Org, err)
	}
	return out, nil
}

// UsedEntry implements use.CaseTx: the license.used entry of the license
// naming the use, among the integrated entries (found by subject) and
// those still pending (a queue of about a second of entries).
func (h handle) UsedEntry(ctx context.Context, licenseID, useID string) (auditlog.Entry, error) {
	entries, _, err := h.auditEntries(ctx, `subject = ? AND action = ? AND details LIKE ? ORDER BY idx LIMIT 1`,
		licenseID, use.UsedAction, usedDetail(useID))
	if err != nil {
		return auditlog.Entry{}, err
	}
	if len(entries) == 0 {
		if entries, err = h.pendingEntries(ctx, `WHERE subject = ? AND action = ? AND details LIKE ? ORDER BY seq LIMIT 1`,
			licenseID, use.UsedAction, usedDetail(useID)); err != nil {
			return auditlog.Entry{}, err
		}
	}
	for _, e := range entries {
		if e.Details["use"] == useID {
			return e, nil
		}
	}
	return auditlog.Entry{}, apperr.New(apperr.NotFound, "no use %s of license %s", useID, licenseID)
}

// usageSQL is the usage report per dialect: the integrated entries of
// scoped uses and redemptions whose subject is a license of the issuer,
// counted by unit, matter and month of China Standard Time (UTC+8, the
// 28,800 seconds added). A redemption is a refusal when its details say
// valid false; a use is never one.
var usageSQL = map[Dialect]string{
	SQLite: `SELECT issuer, unit, matter, month, SUM(ok), SUM(1 - ok) FROM (
		SELECT l.issuer AS issuer, COALESCE(json_extract(e.details, '$.unit'), '') AS unit,
			COALESCE(json_extract(e.details, '$.matter'), '') AS matter,
			strftime('%Y-%m', e.at / 1000000 + 28800, 'unixepoch') AS month,
			CASE WHEN e.action = 'license.used' OR json_extract(e.details, '$.valid') = 'true' THEN 1 ELSE 0 END AS ok
		FROM licenses l JOIN audit_entries e ON e.subject = l.id
		WHERE e.action IN ('license.used', 'presentation.redeem') AND e.at >= ? AND e.at < ? {issuer}
	) u GROUP BY issuer, unit, matter, month ORDER BY issuer, month, unit, matter`,
	Postgres: `SELECT issuer, unit, matter, month, SUM(ok), SUM(1 - ok) FROM (
		SELECT l.issuer AS issuer, COALESCE(e.details::jsonb ->> 'unit', '') AS unit,
			COALESCE(e.details::jsonb ->> 'matter', '') AS matter,
			to_char(to_timestamp(e.at / 1000000 + 28800) AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
			CASE WHEN e.action = 'license.used' OR e.details::jsonb ->> 'valid' = 'true' THEN 1 ELSE 0 END AS ok
		FROM licenses l JOIN audit_entries e ON e.subject = l.id
		WHERE e.action IN ('license.used', 'presentation.redeem') AND e.at >= ? AND e.at < ? {issuer}
	) u GROUP BY issuer, unit, matter, month ORDER BY issuer, month, unit, matter`,
}

// UsageReport implements use.Reader.
func (h handle) UsageReport(ctx context.Context, f use.ReportFilter) ([]use.UsageRow, error) {
	args := []any{micros(f.From), micros(f.To)}
	issuer := ""
	if f.Issuer != "" {
		issuer, args = `AND l.issuer = ?`, append(args, f.Issuer)
	}
	rows, err := h.query(ctx, strings.Replace(usageSQL[h.dialect], "{issuer}", issuer, 1), args...)
	out, err := collect(rows, err, func(s scanner) (use.UsageRow, error) {
		var r use.UsageRow
		err := s.Scan(&r.Issuer, &r.Unit, &r.Matter, &r.Month, &r.Uses, &r.Refusals)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("usage report: %w", err)
	}
	return out, nil
}
