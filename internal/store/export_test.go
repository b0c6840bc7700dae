package store

import "context"

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
