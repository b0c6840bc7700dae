package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/zhengzhao/zhengzhao/internal/license"
)

// copyMinRows is the fewest rows a bulk transaction writes into a table
// with COPY. COPY first asks the server for the columns' types (once per
// connection and table, then cached) and takes round trips of its own,
// so for a few rows the multi-row INSERTs cost as little.
const copyMinRows = 128

// WithBulkTx is WithTx for a transaction that writes many rows into a
// table at once (a batch of an import). On PostgreSQL the transaction runs
// on a connection of its own, and a write of at least copyMinRows rows
// sends them with COPY in the transaction: the rows go in PostgreSQL's
// binary form in one stream, with no statement text to build and no
// parameters to bind, which is most of the client's CPU a row of an INSERT
// costs. On SQLite, where an INSERT is a call in the process, it is WithTx.
// Conflicts are retried as WithTx retries them, each attempt on a
// connection taken for it.
func (d *DB) WithBulkTx(ctx context.Context, fn func(*Tx) error) error {
	if d.dialect != Postgres {
		return d.WithTx(ctx, fn)
	}
	return d.retry(ctx, func() error {
		conn, err := d.db.Conn(ctx)
		if err != nil {
			return mapErr(fmt.Errorf("take a connection: %w", err))
		}
		// tryTx has committed or rolled back by the time the connection
		// goes back to the pool.
		defer conn.Close()
		return d.tryTx(ctx, sql.LevelSerializable, conn, fn)
	})
}

// CopiedRows returns how many rows bulk transactions have written with
// COPY since the store was opened, committed or not.
func (d *DB) CopiedRows() uint64 { return d.copied.Load() }

// LicenseBulkTx runs fn in one bulk transaction; it is the
// license.TxFunc of this store for an import batch.
func (d *DB) LicenseBulkTx(ctx context.Context, fn func(license.Tx) error) error {
	return d.WithBulkTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// copyRows writes n rows into the columns cols of table with COPY when tx
// is a bulk transaction and n is at least copyMinRows, and reports
// whether it did. args appends the values of row i, as insertRows'.
//
// Every row is made before COPY starts: pgx reads the rows in a goroutine
// of its own while the connection is busy copying, and making a row may
// use the transaction (an encryption reads its data key on first use).
func (tx *Tx) copyRows(ctx context.Context, table string, cols []string, n int, args func(dst []any, i int) ([]any, error)) (bool, error) {
	if tx.conn == nil || n < copyMinRows {
		return false, nil
	}
	flat := make([]any, 0, len(cols)*n)
	rows := make([][]any, n)
	for i := range rows {
		start := len(flat)
		var err error
		if flat, err = args(flat, i); err != nil {
			return true, err
		}
		rows[i] = flat[start:len(flat):len(flat)]
	}
	var copied int64
	err := tx.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("COPY needs a pgx connection, not %T", dc)
		}
		// The same connection as the open transaction: the rows are
		// written in it, and go with its commit or rollback.
		var err error
		copied, err = c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return true, mapErr(fmt.Errorf("copy into %s: %w", table, err))
	}
	tx.copied.Add(uint64(copied)) // #nosec G115 -- a row count, never negative
	return true, nil
}
