package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
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

// dataKeys holds the unwrapped data keys of an unlocked store by purpose
// and version, and the master key, to unwrap versions that a data key
// rotation in another process adds while this one runs. It is shared by
// the DB and every Tx made from it, and safe for concurrent use.
type dataKeys struct {
	mu     sync.RWMutex
	master *envelope.MasterKey
	keys   map[dataKeyRef]*envelope.DataKey
	// blind holds the blind index keys derived from master, by purpose:
	// the HKDF derivation costs more than the HMAC of a value, and a bulk
	// import indexes two values a license. The purposes are the code's
	// own few names.
	blind map[string][]byte
}

// dataKeyRef names one data key: a purpose and a version, counting from 1.
type dataKeyRef struct {
	purpose string
	version int64
}

func (k *dataKeys) get(ref dataKeyRef) *envelope.DataKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys[ref]
}

// unwrap returns the data key ref, unwrapping wrapped when it is not held
// yet. The key seals field layout 2 naming its version.
func (k *dataKeys) unwrap(ref dataKeyRef, wrapped []byte) (*envelope.DataKey, error) {
	if dk := k.get(ref); dk != nil {
		return dk, nil
	}
	id, err := keyID(ref.version)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	dk, err := k.master.Unwrap(envelope.WrappedKey(wrapped))
	if err != nil {
		return nil, fmt.Errorf("unwrap %s data key version %d: %w", ref.purpose, ref.version, err)
	}
	dk = dk.WithID(id)
	k.keys[ref] = dk
	return dk, nil
}

func (k *dataKeys) setMaster(m *envelope.MasterKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.master = m
	k.blind = nil
}

// blindIndexKey returns the key of the blind index named purpose,
// deriving it from the master key the first time.
func (k *dataKeys) blindIndexKey(purpose string) ([]byte, error) {
	k.mu.RLock()
	key, ok := k.blind[purpose]
	m := k.master
	k.mu.RUnlock()
	if ok {
		return key, nil
	}
	key, err := m.BlindIndexKey(purpose)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	// A master key set meanwhile has its own keys.
	if k.master == m {
		if k.blind == nil {
			k.blind = map[string][]byte{}
		}
		k.blind[purpose] = key
	}
	return key, nil
}

// keyID converts a stored version to the key ID that field layout 2 carries.
func keyID(version int64) (envelope.KeyID, error) {
	if version < 1 || version > math.MaxUint32 {
		return 0, fmt.Errorf("data key version %d is out of range", version)
	}
	return envelope.KeyID(version), nil
}

// Unlock checks the master key against the store and makes the data keys
// available. On a new store it records the master key and creates version
// 1 of each purpose's data key (suite names their cipher). It must be
// called once, before the store is shared. Like every data-key operation it
// is on DB and runs its own transactions: the key ring is the store's own
// business, below every capability's unit of work.
func (d *DB) Unlock(ctx context.Context, m *envelope.MasterKey, suite envelope.Suite, rand io.Reader) error {
	var ks *dataKeys
	err := d.WithTx(ctx, func(tx *Tx) error {
		ks = &dataKeys{master: m, keys: map[dataKeyRef]*envelope.DataKey{}}
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
		all, err := wrappedDataKeys(ctx, tx)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, k := range all {
			if _, err := ks.unwrap(dataKeyRef{k.purpose, k.version}, k.wrapped); err != nil {
				return err
			}
			have[k.purpose] = true
		}
		for _, purpose := range Purposes() {
			if have[purpose] {
				continue
			}
			dk, w, err := m.NewDataKey(suite, rand)
			if err != nil {
				return fmt.Errorf("new %s data key: %w", purpose, err)
			}
			if _, err := tx.exec(ctx, `INSERT INTO data_keys (purpose, version, state, wrapped, master_key_id, created_at) VALUES (?, 1, 'active', ?, ?, ?)`,
				purpose, []byte(w), m.ID(), micros(d.now())); err != nil {
				return fmt.Errorf("store %s data key: %w", purpose, err)
			}
			ks.keys[dataKeyRef{purpose, 1}] = dk.WithID(1)
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.keys = ks
	return nil
}

// Purposes lists the data key purposes.
func Purposes() []string { return []string{FieldKey, PrivateKeyKey} }

// RotateMaster re-wraps every data key, retired ones included, under next,
// in one transaction, and records next as the store's master key. The data
// keys themselves do not change, so running servers, which hold them
// unwrapped, go on serving; restart them with the new key file when
// convenient (and before rotating data keys: a server cannot unwrap a data
// key made under a master key it does not have). It returns how many data
// keys were re-wrapped. It is on DB, a data-key operation (see Unlock).
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
		now := micros(d.now())
		for _, k := range all {
			w, err := envelope.Rewrap(current, next, envelope.WrappedKey(k.wrapped))
			if err != nil {
				return fmt.Errorf("re-wrap %s data key version %d: %w", k.purpose, k.version, err)
			}
			if _, err := tx.exec(ctx, `UPDATE data_keys SET wrapped = ?, master_key_id = ?, rewrapped_at = ? WHERE purpose = ? AND version = ?`,
				[]byte(w), next.ID(), now, k.purpose, k.version); err != nil {
				return err
			}
			n++
		}
		_, err = tx.exec(ctx, `UPDATE settings SET value = ? WHERE name = 'master_key_id'`, next.ID())
		return err
	})
	if err == nil && d.keys != nil {
		// This process now unwraps what is made under next.
		d.keys.setMaster(next)
	}
	return n, err
}

type wrappedDataKey struct {
	purpose string
	version int64
	state   string
	wrapped []byte
}

// wrappedDataKeys reads every data key as stored; collect has closed its
// rows when it returns, before the caller writes through the same
// transaction.
func wrappedDataKeys(ctx context.Context, tx *Tx) ([]wrappedDataKey, error) {
	rows, err := tx.query(ctx, `SELECT purpose, version, state, wrapped FROM data_keys ORDER BY purpose, version`)
	return collect(rows, err, func(s scanner) (wrappedDataKey, error) {
		var k wrappedDataKey
		err := s.Scan(&k.purpose, &k.version, &k.state, &k.wrapped)
		return k, err
	})
}

// dataKey returns version of the purpose's data key, reading and unwrapping
// it when this process does not hold it yet: another process may have made
// it by rotating data keys.
func (h handle) dataKey(ctx context.Context, purpose string, version int64) (*envelope.DataKey, error) {
	if h.keys == nil {
		return nil, apperr.Wrap(apperr.Internal, ErrLocked, "the store is locked")
	}
	ref := dataKeyRef{purpose, version}
	if dk := h.keys.get(ref); dk != nil {
		return dk, nil
	}
	var wrapped []byte
	err := mapErr(h.queryRow(ctx, `SELECT wrapped FROM data_keys WHERE purpose = ? AND version = ?`, purpose, version).Scan(&wrapped))
	if err != nil {
		return nil, fmt.Errorf("read %s data key version %d: %w", purpose, version, err)
	}
	return h.keys.unwrap(ref, wrapped)
}

// encryptionKey returns the purpose's newest active data key, the one new
// values are encrypted with. It is read in the caller's transaction each time,
// so that a value written while data keys are being rotated is encrypted with
// the new key at once, even by a server that started before the rotation.
func (h handle) encryptionKey(ctx context.Context, purpose string) (*envelope.DataKey, error) {
	if h.keys == nil {
		return nil, apperr.Wrap(apperr.Internal, ErrLocked, "the store is locked")
	}
	if k, ok := h.txKeys[purpose]; ok {
		return k, nil
	}
	var version int64
	var wrapped []byte
	err := mapErr(h.queryRowPrepared(ctx, `SELECT version, wrapped FROM data_keys WHERE purpose = ? AND state = 'active' ORDER BY version DESC LIMIT 1`,
		purpose).Scan(&version, &wrapped))
	if err != nil {
		return nil, fmt.Errorf("read the active %s data key: %w", purpose, err)
	}
	k, err := h.keys.unwrap(dataKeyRef{purpose, version}, wrapped)
	if err == nil && h.txKeys != nil {
		h.txKeys[purpose] = k
	}
	return k, err
}

// encrypt encrypts a sensitive column value bound to its table, row and
// column, with the purpose's newest active data key (field layout 2).
func (h handle) encrypt(ctx context.Context, purpose, table, row, column string, plaintext string) ([]byte, error) {
	// A column rotate-data-keys does not know would keep values under a key
	// the rotation retires: every encrypted column must be registered.
	if !slices.ContainsFunc(encryptedColumns(), func(c encryptedColumn) bool {
		return c.purpose == purpose && c.table == table && c.column == column
	}) {
		return nil, fmt.Errorf("%s.%s is not in encryptedColumns: data key rotation would miss it", table, column)
	}
	dk, err := h.encryptionKey(ctx, purpose)
	if err != nil {
		return nil, err
	}
	return dk.Seal([]byte(plaintext), envelope.AD{Table: table, Row: row, Column: column})
}

// decrypt decrypts what encrypt encrypted, with the data key the ciphertext
// names (version 1, the purpose's original key, for layout 1); a ciphertext
// moved to another row or column fails.
func (h handle) decrypt(ctx context.Context, purpose, table, row, column string, ciphertext []byte) (string, error) {
	if h.keys == nil {
		return "", apperr.Wrap(apperr.Internal, ErrLocked, "the store is locked")
	}
	version, err := ciphertextVersion(ciphertext)
	if err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "%s.%s of %s cannot be decrypted", table, column, row)
	}
	dk, err := h.dataKey(ctx, purpose, version)
	if err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "%s.%s of %s cannot be decrypted", table, column, row)
	}
	b, err := dk.Open(ciphertext, envelope.AD{Table: table, Row: row, Column: column})
	if err != nil {
		return "", apperr.Wrap(apperr.Internal, err, "%s.%s of %s cannot be decrypted", table, column, row)
	}
	return string(b), nil
}

// ciphertextVersion returns the version of the data key that encrypted a field
// ciphertext: the one layout 2 names, or 1 for layout 1.
func ciphertextVersion(ciphertext []byte) (int64, error) {
	id, err := envelope.CiphertextKeyID(ciphertext)
	if err != nil {
		return 0, err
	}
	if id == envelope.Unnamed {
		return 1, nil
	}
	return int64(id), nil
}

// MasterKeyID returns the ID of the master key the store was set up with,
// or "" for a store that has none yet. It is on DB, a data-key operation
// (see Unlock).
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
