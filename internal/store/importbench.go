package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// FreshSchema creates an empty schema in the PostgreSQL database at dsn
// for a throwaway store (bench import) and returns the DSN that uses it
// and the function that drops it.
func FreshSchema(ctx context.Context, dsn, prefix string) (string, func(context.Context) error, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("%s is not a postgres:// URL", Redact(dsn))
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	schema := prefix + "_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", Redact(dsn), err)
	}
	defer admin.Close()
	// schema is [a-z0-9_] made here: nothing of the caller's reaches the
	// statement.
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		return "", nil, fmt.Errorf("create schema on %s: %w", Redact(dsn), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func(ctx context.Context) error {
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			return err
		}
		defer admin.Close()
		_, err = admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`)
		return err
	}
	return u.String(), drop, nil
}

// InsertBaseline is the baseline of bench import: the rows inserted as
// they are into a table of their own (made on first use, in the bench's
// throwaway store), one INSERT a row, the batch in one transaction, with
// the unique number index licenses have, and the holder's identifier and
// the face encrypted with the field data key as an import encrypts them
// (in the license and in its signed document) — no status slot,
// signature, audit or outbox.
func (d *DB) InsertBaseline(ctx context.Context, rows []license.ImportRow) error {
	blob := "BLOB"
	if d.dialect == Postgres {
		blob = "BYTEA"
	}
	if _, err := d.exec(ctx, `CREATE TABLE IF NOT EXISTS bench_import_baseline (number TEXT PRIMARY KEY, holder_identifier `+blob+` NOT NULL,
		holder_name TEXT NOT NULL, valid_from BIGINT NOT NULL, valid_until BIGINT, completed_on TEXT NOT NULL, face `+blob+` NOT NULL)`); err != nil {
		return fmt.Errorf("baseline table: %w", err)
	}
	return d.WithTx(ctx, func(tx *Tx) error {
		dk, err := tx.encryptionKey(ctx, FieldKey)
		if err != nil {
			return err
		}
		for _, r := range rows {
			holder, err := dk.Seal([]byte(r.HolderID), envelope.AD{Table: "bench_import_baseline", Row: r.Number, Column: "holder_identifier"})
			if err != nil {
				return err
			}
			face, err := dk.Seal(r.Face, envelope.AD{Table: "bench_import_baseline", Row: r.Number, Column: "face"})
			if err != nil {
				return err
			}
			_, err = tx.execPrepared(ctx, `INSERT INTO bench_import_baseline (number, holder_identifier, holder_name, valid_from, valid_until,
				completed_on, face) VALUES (?, ?, ?, ?, ?, ?, ?)`, r.Number, holder, r.HolderName, micros(r.ValidFrom), nullMicros(r.ValidUntil),
				r.CompletedOn.Format("2006-01-02"), face)
			if err != nil {
				return fmt.Errorf("baseline insert %s: %w", r.Number, err)
			}
		}
		return nil
	})
}
