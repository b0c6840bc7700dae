package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
)

var (
	_ keyring.Reader   = (*DB)(nil)
	_ keyring.Tx       = (*Tx)(nil)
	_ keyring.Inserter = (*Tx)(nil)
)

const keyColumns = `id, org, name, version, purpose, algorithm, backend, state, public_key, created_at, rotated_at, replaced_by`

func scanKey(s scanner) (keyring.Key, error) {
	var k keyring.Key
	var purpose, alg, backend, state string
	var created int64
	var rotated sql.NullInt64
	var replaced sql.NullString
	if err := s.Scan(&k.ID, &k.Org, &k.Name, &k.Version, &purpose, &alg, &backend, &state, &k.PublicPEM, &created, &rotated, &replaced); err != nil {
		return keyring.Key{}, mapErr(err)
	}
	k.Purpose, k.Algorithm, k.Backend, k.State = keyring.Purpose(purpose), keys.Algorithm(alg), keyring.Backend(backend), keyring.State(state)
	k.CreatedAt, k.ReplacedBy = fromMicros(created), replaced.String
	if rotated.Valid {
		t := fromMicros(rotated.Int64)
		k.RotatedAt = &t
	}
	return k, nil
}

// InsertKey implements keyring.Inserter; a software private key is encrypted
// with the private-key data key, bound to the key's row.
func (tx *Tx) InsertKey(ctx context.Context, k keyring.Key, privatePKCS8 []byte) error {
	var ciphertext []byte
	if len(privatePKCS8) > 0 {
		var err error
		if ciphertext, err = tx.encrypt(ctx, PrivateKeyKey, "keys", k.ID, "private_key", string(privatePKCS8)); err != nil {
			return err
		}
	}
	var rotated sql.NullInt64
	if k.RotatedAt != nil {
		rotated = sql.NullInt64{Int64: micros(*k.RotatedAt), Valid: true}
	}
	_, err := tx.exec(ctx, `INSERT INTO keys (`+keyColumns+`, private_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Org, k.Name, k.Version, string(k.Purpose), string(k.Algorithm), string(k.Backend), string(k.State), k.PublicPEM,
		micros(k.CreatedAt), rotated, nullString(k.ReplacedBy), ciphertext)
	if err != nil {
		return fmt.Errorf("insert key: %w", err)
	}
	return nil
}

// GetKey implements keyring.Reader.
func (h handle) GetKey(ctx context.Context, id string) (keyring.Key, error) {
	k, err := scanKey(h.queryRow(ctx, `SELECT `+keyColumns+` FROM keys WHERE id = ?`, id))
	if err != nil {
		return keyring.Key{}, fmt.Errorf("get key %s: %w", id, err)
	}
	return k, nil
}

// KeyPrivate implements keyring.Reader.
func (h handle) KeyPrivate(ctx context.Context, id string) ([]byte, error) {
	var ciphertext []byte
	if err := mapErr(h.queryRow(ctx, `SELECT private_key FROM keys WHERE id = ?`, id).Scan(&ciphertext)); err != nil {
		return nil, fmt.Errorf("private key of %s: %w", id, err)
	}
	if len(ciphertext) == 0 {
		return nil, apperr.New(apperr.Internal, "key %s has no software private key", id)
	}
	s, err := h.decrypt(ctx, PrivateKeyKey, "keys", id, "private_key", ciphertext)
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// LatestKey implements keyring.Reader.
func (h handle) LatestKey(ctx context.Context, org, name string) (keyring.Key, error) {
	k, err := scanKey(h.queryRow(ctx, `SELECT `+keyColumns+` FROM keys WHERE org = ? AND name = ? ORDER BY version DESC LIMIT 1`, org, name))
	if err != nil {
		return keyring.Key{}, fmt.Errorf("key %s of %s: %w", name, org, err)
	}
	return k, nil
}

// ListKeys implements keyring.Reader.
func (h handle) ListKeys(ctx context.Context, f keyring.Filter) ([]keyring.Key, error) {
	where, args := []string{`id > ?`}, []any{f.After}
	for _, c := range []struct{ col, val string }{{"org", f.Org}, {"purpose", string(f.Purpose)}, {"state", string(f.State)}} {
		if c.val != "" {
			where, args = append(where, c.col+` = ?`), append(args, c.val)
		}
	}
	args = append(args, f.Limit)
	rows, err := h.query(ctx, `SELECT `+keyColumns+` FROM keys WHERE `+strings.Join(where, ` AND `)+` ORDER BY id LIMIT ?`, args...)
	out, err := collect(rows, err, scanKey)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}

// UpdateKeyState implements keyring.Tx.
func (tx *Tx) UpdateKeyState(ctx context.Context, k keyring.Key, from keyring.State) error {
	var rotated sql.NullInt64
	if k.RotatedAt != nil {
		rotated = sql.NullInt64{Int64: micros(*k.RotatedAt), Valid: true}
	}
	res, err := tx.exec(ctx, `UPDATE keys SET state = ?, rotated_at = ?, replaced_by = ? WHERE id = ? AND state = ?`,
		string(k.State), rotated, nullString(k.ReplacedBy), k.ID, string(from))
	if err != nil {
		return fmt.Errorf("update key %s: %w", k.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "key %s changed meanwhile; read it again", k.ID)
	}
	return nil
}

// KeyTx runs fn in one transaction; it is the keyring.TxFunc of this store.
func (d *DB) KeyTx(ctx context.Context, fn func(keyring.Tx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}
