package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"zhengzhao/internal/apperr"
	"zhengzhao/internal/keys/envelope"
)

// Data key purposes.
const (
	// FieldKey encrypts sensitive columns (R-SEC-1).
	FieldKey = "field"
	// PrivateKeyKey encrypts software private keys (R-SEAL-7).
	PrivateKeyKey = "private-key"
)

// ErrLocked means the store was opened but not unlocked with the master key,
// so encrypted columns can be neither read nor written. Call Unlock first.
var ErrLocked = errors.New("store: locked; the master key has not been given")

// MasterKeyMismatchError means the master key given is not the one the
// store's data keys are wrapped with. Nothing was decrypted.
type MasterKeyMismatchError struct {
	Given, Store string
}

func (e *MasterKeyMismatchError) Error() string {
	return fmt.Sprintf("the master key (id %s) is not the one this store was set up with (id %s)", e.Given, e.Store)
}

// Unlock checks the master key against the store and makes the data keys
// available. On a new store it records the master key and creates the data
// keys (suite names the cipher of new data keys). It must be called once,
// before the store is shared.
func (d *DB) Unlock(ctx context.Context, m *envelope.MasterKey, suite envelope.Suite, rand io.Reader) error {
	dks := map[string]*envelope.DataKey{}
	err := d.WithTx(ctx, func(tx *Tx) error {
		clear(dks)
		var id string
		err := mapErr(tx.queryRow(ctx, `SELECT value FROM settings WHERE name = 'master_key_id'`).Scan(&id))
		switch {
		case errNotFound(err):
			if _, err := tx.exec(ctx, `INSERT INTO settings (name, value) VALUES ('master_key_id', ?)`, m.ID()); err != nil {
				return fmt.Errorf("record master key: %w", err)
			}
		case err != nil:
			return fmt.Errorf("read master key id: %w", err)
		case id != m.ID():
			return &MasterKeyMismatchError{Given: m.ID(), Store: id}
		}
		for _, purpose := range []string{FieldKey, PrivateKeyKey} {
			var wrapped []byte
			err := mapErr(tx.queryRow(ctx, `SELECT wrapped FROM data_keys WHERE purpose = ?`, purpose).Scan(&wrapped))
			switch {
			case errNotFound(err):
				dk, w, err := m.NewDataKey(suite, rand)
				if err != nil {
					return fmt.Errorf("new %s data key: %w", purpose, err)
				}
				if _, err := tx.exec(ctx, `INSERT INTO data_keys (purpose, wrapped, master_key_id, created_at) VALUES (?, ?, ?, ?)`,
					purpose, []byte(w), m.ID(), micros(time.Now())); err != nil {
					return fmt.Errorf("store %s data key: %w", purpose, err)
				}
				dks[purpose] = dk
			case err != nil:
				return fmt.Errorf("read %s data key: %w", purpose, err)
			default:
				dk, err := m.Unwrap(envelope.WrappedKey(wrapped))
				if err != nil {
					return fmt.Errorf("unwrap %s data key: %w", purpose, err)
				}
				dks[purpose] = dk
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.keys = dks
	return nil
}

// RotateMaster re-wraps every data key under next, in one transaction, and
// records next as the store's master key. The data keys themselves do not
// change, so running servers, which hold them unwrapped, go on serving;
// restart them with the new key file when convenient. It returns how many
// data keys were re-wrapped.
func (d *DB) RotateMaster(ctx context.Context, current, next *envelope.MasterKey) (int, error) {
	n := 0
	err := d.WithTx(ctx, func(tx *Tx) error {
		n = 0
		var id string
		if err := mapErr(tx.queryRow(ctx, `SELECT value FROM settings WHERE name = 'master_key_id'`).Scan(&id)); err != nil {
			return fmt.Errorf("read master key id: %w", err)
		}
		if id != current.ID() {
			return &MasterKeyMismatchError{Given: current.ID(), Store: id}
		}
		all, err := wrappedDataKeys(ctx, tx)
		if err != nil {
			return err
		}
		now := micros(time.Now())
		for _, k := range all {
			w, err := envelope.Rewrap(current, next, envelope.WrappedKey(k.wrapped))
			if err != nil {
				return fmt.Errorf("re-wrap %s data key: %w", k.purpose, err)
			}
			if _, err := tx.exec(ctx, `UPDATE data_keys SET wrapped = ?, master_key_id = ?, rewrapped_at = ? WHERE purpose = ?`,
				[]byte(w), next.ID(), now, k.purpose); err != nil {
				return err
			}
			n++
		}
		_, err = tx.exec(ctx, `UPDATE settings SET value = ? WHERE name = 'master_key_id'`, next.ID())
		return err
	})
	return n, err
}

type wrappedDataKey struct {
	purpose string
	wrapped []byte
}

// wrappedDataKeys reads every data key as stored. It is a function of its own
// so that its rows are closed, by defer, before the caller writes through the
// same transaction.
func wrappedDataKeys(ctx context.Context, tx *Tx) ([]wrappedDataKey, error) {
	rows, err := tx.query(ctx, `SELECT purpose, wrapped FROM data_keys ORDER BY purpose`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var all []wrappedDataKey
	for rows.Next() {
		var k wrappedDataKey
		if err := rows.Scan(&k.purpose, &k.wrapped); err != nil {
			return nil, mapErr(err)
		}
		all = append(all, k)
	}
	return all, mapErr(rows.Err())
}

// seal encrypts a sensitive column value bound to its table, row and column.
func (q q) seal(purpose, table, row, column string, plaintext string) ([]byte, error) {
	dk := q.keys[purpose]
	if dk == nil {
		return nil, apperr.Wrap(apperr.Internal, ErrLocked, "the store is locked")
	}
	return dk.Seal([]byte(plaintext), envelope.AD{Table: table, Row: row, Column: column})
}

// open decrypts what seal encrypted; a ciphertext moved to another row or
// column fails.
func (q q) open(purpose, table, row, column string, ciphertext []byte) (string, error) {
	dk := q.keys[purpose]
	if dk == nil {
		return "", apperr.Wrap(apperr.Internal, ErrLocked, "the store is locked")
	}
	b, err := dk.Open(ciphertext, envelope.AD{Table: table, Row: row, Column: column})
	if err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "%s.%s of %s cannot be decrypted", table, column, row)
	}
	return string(b), nil
}

// MasterKeyID returns the ID of the master key the store was set up with,
// or "" for a store that has none yet.
func (d *DB) MasterKeyID(ctx context.Context) (string, error) {
	var id string
	err := mapErr(d.queryRow(ctx, `SELECT value FROM settings WHERE name = 'master_key_id'`).Scan(&id))
	if errNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read master key id: %w", err)
	}
	return id, nil
}
