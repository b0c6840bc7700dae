package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/license"
)

var _ license.ReconcileReader = (*DB)(nil)

// latenessSQL counts, in one query, the imported licenses whose cases
// completed in the range by the kind of their import and whether it was
// late, and the issued (not imported) licenses by the month of their
// issuance, which is their completion: in time by definition.
const latenessSQL = `SELECT issuer, type_code, month, kind, SUM(1 - late), SUM(late) FROM (
		SELECT l.issuer AS issuer, l.type_code AS type_code, substr(i.completed_on, 1, 7) AS month,
			CASE WHEN i.increment = 1 THEN 'increment' ELSE 'stock' END AS kind, i.late AS late
		FROM license_imports i JOIN licenses l ON l.id = i.license_id
		WHERE i.completed_on >= ? AND i.completed_on < ? {issuer}
		UNION ALL
		SELECT l.issuer, l.type_code, {issued-month}, 'issued', 0
		FROM licenses l WHERE l.issued_at >= ? AND l.issued_at < ? {issuer}
			AND NOT EXISTS (SELECT 1 FROM license_imports i WHERE i.license_id = l.id)
	) r GROUP BY issuer, type_code, month, kind ORDER BY issuer, type_code, month, kind`

// issuedMonth is the month of issued_at (unix microseconds) in China
// Standard Time, YYYY-MM.
var issuedMonth = map[Dialect]string{
	SQLite:   `strftime('%Y-%m', l.issued_at / 1000000 + 28800, 'unixepoch')`,
	Postgres: `to_char(to_timestamp(l.issued_at / 1000000 + 28800) AT TIME ZONE 'UTC', 'YYYY-MM')`,
}

// LatenessReport implements license.ReconcileReader.
func (h handle) LatenessReport(ctx context.Context, f license.LatenessFilter) ([]license.LatenessRow, error) {
	day := func(t time.Time) string { return t.In(license.AggregationZone).Format(time.DateOnly) }
	imported, issued := []any{day(f.From), day(f.To)}, []any{micros(f.From), micros(f.To)}
	issuer := ""
	if f.Issuer != "" {
		issuer, imported, issued = `AND l.issuer = ?`, append(imported, f.Issuer), append(issued, f.Issuer)
	}
	q := strings.NewReplacer("{issuer}", issuer, "{issued-month}", issuedMonth[h.dialect]).Replace(latenessSQL)
	rows, err := h.query(ctx, q, append(imported, issued...)...)
	out, err := collect(rows, err, func(s scanner) (license.LatenessRow, error) {
		var r license.LatenessRow
		err := s.Scan(&r.Issuer, &r.Type, &r.Month, &r.Kind, &r.OnTime, &r.Late)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("lateness report: %w", err)
	}
	return out, nil
}

// pairsSQL reads an issuer's licenses of a type in the numbers' byte
// order: SQLite compares text as bytes; PostgreSQL's database collation
// may not, hence "C".
var pairsSQL = map[Dialect]string{
	SQLite:   `SELECT number, version FROM licenses WHERE issuer = ? AND type_code = ? ORDER BY number`,
	Postgres: `SELECT number, version FROM licenses WHERE issuer = ? AND type_code = ? ORDER BY number COLLATE "C"`,
}

// LicensePairs implements license.ReconcileReader: the rows are read as
// the query returns them, never all held.
func (h handle) LicensePairs(ctx context.Context, issuer, typeCode string, fn func(license.Pair) error) error {
	rows, err := h.query(ctx, pairsSQL[h.dialect], issuer, typeCode)
	if err != nil {
		return fmt.Errorf("licenses of %s %s: %w", issuer, typeCode, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p license.Pair
		if err := rows.Scan(&p.Number, &p.Version); err != nil {
			return mapErr(err)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return mapErr(rows.Err())
}

const reconcileColumns = `id, issuer, type_code, stated_count, stated_digest, platform_count, platform_digest, matched, listed, missing,
	extra, version_differs, first, created_by, created_at`

// InsertReconciliation implements license.ReconcileTx.
func (tx *Tx) InsertReconciliation(ctx context.Context, r license.Reconciliation) error {
	first, err := json.Marshal(r.First)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO reconciliations (`+reconcileColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Issuer, r.TypeCode, r.Stated.Count, r.Stated.Digest, r.Platform.Count, r.Platform.Digest, boolInt(r.Match), boolInt(r.Listed),
		r.Missing, r.Extra, r.VersionDiffers, string(first), r.CreatedBy, micros(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert reconciliation %s: %w", r.ID, err)
	}
	return nil
}

// ListReconciliations implements license.ReconcileReader; the cursor is
// "created_at|id" (license.ReconcileCursor), newest first.
func (h handle) ListReconciliations(ctx context.Context, f license.ReconcileFilter) ([]license.Reconciliation, error) {
	var where []string
	var args []any
	if f.Issuer != "" {
		where, args = append(where, `issuer = ?`), append(args, f.Issuer)
	}
	if f.After != "" {
		at, id, _ := strings.Cut(f.After, "|")
		us, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("reconciliation cursor: %w", err)
		}
		where, args = append(where, `(created_at < ? OR (created_at = ? AND id < ?))`), append(args, us, us, id)
	}
	rows, err := h.query(ctx, `SELECT `+reconcileColumns+` FROM reconciliations`+whereClause(where)+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, f.Limit)...)
	out, err := collect(rows, err, func(s scanner) (license.Reconciliation, error) {
		var r license.Reconciliation
		var match, listed, created int64
		var first string
		err := s.Scan(&r.ID, &r.Issuer, &r.TypeCode, &r.Stated.Count, &r.Stated.Digest, &r.Platform.Count, &r.Platform.Digest, &match,
			&listed, &r.Missing, &r.Extra, &r.VersionDiffers, &first, &r.CreatedBy, &created)
		if err != nil {
			return r, err
		}
		r.Match, r.Listed, r.CreatedAt = match == 1, listed == 1, fromMicros(created)
		return r, json.Unmarshal([]byte(first), &r.First)
	})
	if err != nil {
		return nil, fmt.Errorf("list reconciliations: %w", err)
	}
	return out, nil
}
