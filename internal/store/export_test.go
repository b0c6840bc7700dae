package store

import (
	"context"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
)

// RawColumn reads one column as stored, for tests that prove encryption.
func RawColumn(ctx context.Context, d *DB, table, column, keyCol, key string) ([]byte, error) {
	var b []byte
	err := d.queryRow(ctx, `SELECT `+column+` FROM `+table+` WHERE `+keyCol+` = ?`, key).Scan(&b)
	return b, mapErr(err)
}

// SetRawColumn overwrites one column as stored.
func SetRawColumn(ctx context.Context, d *DB, table, column string, v []byte, keyCol, key string) error {
	_, err := d.exec(ctx, `UPDATE `+table+` SET `+column+` = ? WHERE `+keyCol+` = ?`, v, key)
	return err
}

// SealV1 seals plaintext as field layout 1 with version 1 of the purpose's
// data key, as the store did before data keys had versions.
func SealV1(ctx context.Context, d *DB, purpose, table, row, column, plaintext string) ([]byte, error) {
	dk, err := d.dataKey(ctx, purpose, 1)
	if err != nil {
		return nil, err
	}
	return dk.WithID(envelope.Unnamed).Seal([]byte(plaintext), envelope.AD{Table: table, Row: row, Column: column})
}

// CreatePlainEntries makes a table like the queue of pending audit entries
// (migration 0010), the baseline the audit benchmarks compare with.
func CreatePlainEntries(ctx context.Context, d *DB) error {
	seq := `seq INTEGER PRIMARY KEY`
	if d.dialect == Postgres {
		seq = `seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY`
	}
	_, err := d.exec(ctx, `CREATE TABLE plain_entries (`+seq+`, at BIGINT NOT NULL, actor TEXT NOT NULL, org TEXT NOT NULL,
		action TEXT NOT NULL, subject TEXT NOT NULL, details TEXT NOT NULL)`)
	return err
}

// InsertPlainEntry inserts e into plain_entries as SequenceAuditEntry
// inserts it into the queue.
func InsertPlainEntry(ctx context.Context, tx *Tx, e auditlog.Entry) error {
	_, err := tx.exec(ctx, `INSERT INTO plain_entries (at, actor, org, action, subject, details) VALUES (?, ?, ?, ?, ?, ?)`,
		micros(e.At), e.Actor, e.Org, e.Action, e.Subject, auditlog.DetailsJSON(e.Details))
	return err
}

// RedoMigration applies the migration of version down and up again, so
// that a test sees what it does to rows written before it.
func RedoMigration(ctx context.Context, d *DB, version int64) error {
	p, err := d.migrations()
	if err != nil {
		return err
	}
	if _, err := p.ApplyVersion(ctx, version, false); err != nil {
		return err
	}
	_, err = p.ApplyVersion(ctx, version, true)
	return err
}

// CopyMinRows is copyMinRows, for tests that write enough rows to copy.
const CopyMinRows = copyMinRows

// RowText reads columns of one row as text, NULL as nil, for tests that
// compare rows written in two ways.
func RowText(ctx context.Context, d *DB, table string, cols []string, keyCol, key string) ([]*string, error) {
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = `CAST(` + c + ` AS TEXT)`
	}
	out := make([]*string, len(cols))
	dest := make([]any, len(cols))
	for i := range out {
		dest[i] = &out[i]
	}
	err := d.queryRow(ctx, `SELECT `+strings.Join(exprs, `, `)+` FROM `+table+` WHERE `+keyCol+` = ?`, key).Scan(dest...)
	return out, mapErr(err)
}
