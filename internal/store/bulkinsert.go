package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/license"
)

// maxInsertRows bounds the rows of one multi-row INSERT: the parameters
// of a statement stay far below SQLite's and PostgreSQL's limits, and a
// batch of rows is written with a few statements of power-of-two sizes,
// each prepared once, instead of one statement a row — the per-statement
// cost (a round trip on PostgreSQL) is most of what inserting a small row
// costs.
const maxInsertRows = 64

// insertRows inserts n rows into the columns cols of table: with COPY in
// a bulk transaction (copyRows), otherwise with multi-row INSERTs of one
// tuple of parameters a row; args appends the arguments of row i.
func (tx *Tx) insertRows(ctx context.Context, table string, cols []string, n int, args func(dst []any, i int) ([]any, error)) error {
	if copied, err := tx.copyRows(ctx, table, cols, n, args); copied || err != nil {
		return err
	}
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES"
	buf := make([]any, 0, len(cols)*maxInsertRows)
	for i := 0; i < n; {
		size := maxInsertRows
		for size > n-i {
			size /= 2
		}
		buf = buf[:0]
		for j := i; j < i+size; j++ {
			var err error
			if buf, err = args(buf, j); err != nil {
				return err
			}
		}
		query := head + " " + valueRows(size, len(cols))
		if _, err := tx.execPrepared(ctx, query, buf...); err != nil {
			return err
		}
		i += size
	}
	return nil
}

// InsertLicenses implements license.Tx: InsertLicense for many licenses,
// with few statements.
func (tx *Tx) InsertLicenses(ctx context.Context, ls []license.License) error {
	err := tx.insertRows(ctx, "licenses", []string{"id", "number", "type_code", "type_version", "issuer", "holder_kind",
		"holder_identifier", "holder_index", "holder_name", "valid_from", "valid_until", "state", "version", "status_issuer", "status_purposes",
		"status_list", "status_index", "seal_id", "issued_by", "issued_at", "updated_at"}, len(ls), func(dst []any, i int) ([]any, error) {
		l := ls[i]
		holder, err := tx.encrypt(ctx, FieldKey, licensesTable, l.ID, licenseHolderColumn, l.HolderID)
		if err != nil {
			return nil, err
		}
		index, err := tx.holderIndex(l.HolderID)
		if err != nil {
			return nil, err
		}
		return append(dst, l.ID, l.Number, l.TypeCode, l.TypeVersion, l.Issuer, string(l.HolderKind), holder, index, l.HolderName,
			micros(l.ValidFrom), nullMicros(l.ValidUntil), string(l.State), l.Version, l.Slot.List.Issuer, string(l.Slot.List.Purposes),
			l.Slot.List.Number, l.Slot.Index, l.SealID, l.IssuedBy, micros(l.IssuedAt), micros(l.UpdatedAt)), nil
	})
	if err != nil {
		return fmt.Errorf("insert %s: %w", rowsOf(len(ls), "license", ls, func(l license.License) string { return l.ID }), err)
	}
	return nil
}

// InsertLicenseVersions implements license.Tx: InsertLicenseVersion for
// many versions, with few statements.
func (tx *Tx) InsertLicenseVersions(ctx context.Context, vs []license.Version) error {
	err := tx.insertRows(ctx, "license_versions", []string{"ref", "license_id", "version", "document", "seal_id", "use_id",
		"status_issuer", "status_purposes", "status_list", "status_index", "created_at"}, len(vs), func(dst []any, i int) ([]any, error) {
		v := vs[i]
		ref := licenseVersionRef(v.LicenseID, v.Version)
		doc, err := tx.encrypt(ctx, FieldKey, licenseVersionsTable, ref, licenseDocumentCol, string(v.Document))
		if err != nil {
			return nil, err
		}
		return append(dst, ref, v.LicenseID, v.Version, doc, v.SealID, v.UseID, v.Slot.List.Issuer, string(v.Slot.List.Purposes),
			v.Slot.List.Number, v.Slot.Index, micros(v.CreatedAt)), nil
	})
	if err != nil {
		return fmt.Errorf("insert %s: %w", rowsOf(len(vs), "license version", vs, func(v license.Version) string {
			return licenseVersionRef(v.LicenseID, v.Version)
		}), err)
	}
	return nil
}

// InsertOutboxes implements license.Tx: InsertOutbox for many events,
// with few statements.
func (tx *Tx) InsertOutboxes(ctx context.Context, es []license.OutboxEvent) error {
	err := tx.insertRows(ctx, "outbox", []string{"id", "topic", "payload", "created_at"}, len(es), func(dst []any, i int) ([]any, error) {
		e := es[i]
		return append(dst, e.ID, e.Topic, string(e.Payload), micros(e.At)), nil
	})
	if err != nil {
		return fmt.Errorf("outbox %s: %w", rowsOf(len(es), "event", es, func(e license.OutboxEvent) string { return e.ID }), err)
	}
	return nil
}

// rowsOf names the rows of a failed insert: the one row, or how many.
func rowsOf[T any](n int, what string, rows []T, name func(T) string) string {
	if n == 1 {
		return what + " " + name(rows[0])
	}
	return fmt.Sprintf("%d %ss", n, what)
}
