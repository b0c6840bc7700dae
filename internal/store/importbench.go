package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

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

// baselineTables are the bench's own copies of the tables an import
// writes a license's rows into — licenses, license_versions, outbox,
// license_imports and status_claims — with their columns, primary keys
// and unique indexes (the number's, the status slot's) and the holder
// index, and no foreign keys, made in the bench's throwaway store.
func baselineTables(blob string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS bench_licenses (id TEXT PRIMARY KEY, number TEXT NOT NULL, type_code TEXT NOT NULL,
			type_version INTEGER NOT NULL, issuer TEXT NOT NULL, holder_kind TEXT NOT NULL, holder_identifier ` + blob + ` NOT NULL,
			holder_index TEXT NOT NULL, holder_name TEXT NOT NULL, valid_from BIGINT NOT NULL, valid_until BIGINT, state TEXT NOT NULL,
			version BIGINT NOT NULL, status_issuer TEXT NOT NULL, status_purposes TEXT NOT NULL, status_list INTEGER NOT NULL,
			status_index INTEGER NOT NULL, seal_id TEXT NOT NULL, issued_by TEXT NOT NULL, issued_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
			UNIQUE (type_code, number))`,
		`CREATE INDEX IF NOT EXISTS bench_licenses_holder ON bench_licenses (holder_index)`,
		`CREATE TABLE IF NOT EXISTS bench_license_versions (ref TEXT PRIMARY KEY, license_id TEXT NOT NULL, version BIGINT NOT NULL,
			document ` + blob + ` NOT NULL, seal_id TEXT NOT NULL, use_id TEXT NOT NULL, status_issuer TEXT NOT NULL, status_purposes TEXT NOT NULL,
			status_list INTEGER NOT NULL, status_index INTEGER NOT NULL, created_at BIGINT NOT NULL,
			UNIQUE (status_issuer, status_purposes, status_list, status_index))`,
		`CREATE TABLE IF NOT EXISTS bench_outbox (id TEXT PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS bench_license_imports (license_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, digest TEXT NOT NULL,
			completed_on TEXT NOT NULL, due_on TEXT NOT NULL, imported_at BIGINT NOT NULL, increment INTEGER NOT NULL, late INTEGER NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS bench_status_claims (list_id BIGINT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (list_id, idx))`,
	}
}

// BaselineDocumentSize returns the mean size of the license documents
// stored so far, before their encryption: what InsertBaseline writes a
// version's document as, so that its rows weigh what an import's do.
func (d *DB) BaselineDocumentSize(ctx context.Context) (int, error) {
	var size sql.NullFloat64
	if err := d.queryRow(ctx, `SELECT AVG(LENGTH(document)) FROM license_versions`).Scan(&size); err != nil {
		return 0, fmt.Errorf("stored document size: %w", err)
	}
	var overhead int
	err := d.WithTx(ctx, func(tx *Tx) error {
		empty, err := tx.encrypt(ctx, FieldKey, licenseVersionsTable, "", licenseDocumentCol, "")
		overhead = len(empty)
		return err
	})
	return max(int(size.Float64)-overhead, 0), err
}

// InsertBaseline is the baseline of bench import: for each row, the rows
// an import writes a license — its license row, its version row with a
// document of docSize bytes (the row's content, padded), its outbox
// event, its import record and its status claim — inserted as they are
// into the bench's own copies of those tables (baselineTables), one plain
// INSERT a row, the batch in one transaction, the holder's identifier and
// the document encrypted with the field data key and the holder indexed
// as an import does. Nothing is read or decided, nothing signed, and no
// audit entry is written.
func (d *DB) InsertBaseline(ctx context.Context, rows []license.ImportRow, docSize int) error {
	blob := "BLOB"
	if d.dialect == Postgres {
		blob = "BYTEA"
	}
	for _, q := range baselineTables(blob) {
		if _, err := d.exec(ctx, q); err != nil {
			return fmt.Errorf("baseline table: %w", err)
		}
	}
	return d.WithTx(ctx, func(tx *Tx) error {
		var list int64
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM bench_status_claims`).Scan(&list); err != nil {
			return err
		}
		for i, r := range rows {
			if err := tx.insertBaselineRow(ctx, r, list+int64(i), docSize); err != nil {
				return fmt.Errorf("baseline insert %s: %w", r.Number, err)
			}
		}
		return nil
	})
}

// insertBaselineRow writes InsertBaseline's rows of r, whose status claim
// is index n.
func (tx *Tx) insertBaselineRow(ctx context.Context, r license.ImportRow, n int64, docSize int) error {
	id, at := "L"+r.Number, micros(r.CompletedOn)
	holder, err := tx.encrypt(ctx, FieldKey, licensesTable, id, licenseHolderColumn, r.HolderID)
	if err != nil {
		return err
	}
	index, err := tx.holderIndex(r.HolderID)
	if err != nil {
		return err
	}
	// The status slot as an import's: a list of 2^17 indices.
	list, idx := n>>17+1, n&(1<<17-1)
	if _, err := tx.execPrepared(ctx, `INSERT INTO bench_licenses (id, number, type_code, type_version, issuer, holder_kind, holder_identifier,
		holder_index, holder_name, valid_from, valid_until, state, version, status_issuer, status_purposes, status_list, status_index, seal_id,
		issued_by, issued_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, r.Number, "bench", 1, "issuer", "legal", holder, index, r.HolderName, micros(r.ValidFrom), nullMicros(r.ValidUntil), "active", 1,
		"issuer", "revocation,suspension", list, idx, "seal", "bench", at, at); err != nil {
		return err
	}
	doc := []byte(r.HolderID + r.HolderName + string(r.Face))
	doc = append(doc, make([]byte, max(docSize-len(doc), 0))...)
	ref := id + "/1"
	sealed, err := tx.encrypt(ctx, FieldKey, licenseVersionsTable, ref, licenseDocumentCol, string(doc))
	if err != nil {
		return err
	}
	if _, err := tx.execPrepared(ctx, `INSERT INTO bench_license_versions (ref, license_id, version, document, seal_id, use_id, status_issuer,
		status_purposes, status_list, status_index, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ref, id, 1, sealed, "seal", "use", "issuer", "revocation,suspension", list, idx, at); err != nil {
		return err
	}
	payload := `{"id":"` + id + `","number":"` + r.Number + `","type":"bench","type_version":1,"issuer":"issuer","version":1}`
	if _, err := tx.execPrepared(ctx, `INSERT INTO bench_outbox (id, topic, payload, created_at) VALUES (?, ?, ?, ?)`,
		"license.issued/"+ref, "license.issued", payload, at); err != nil {
		return err
	}
	day := r.CompletedOn.Format(time.DateOnly)
	if _, err := tx.execPrepared(ctx, `INSERT INTO bench_license_imports (license_id, job_id, digest, completed_on, due_on, imported_at,
		increment, late) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, "bench", index, day, day, at, 0, 0); err != nil {
		return err
	}
	_, err = tx.execPrepared(ctx, `INSERT INTO bench_status_claims (list_id, idx) VALUES (?, ?)`, list, idx)
	return err
}
