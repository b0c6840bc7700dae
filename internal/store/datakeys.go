package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/keys/envelope"
)

// Data key states.
const (
	// DataKeyActive keys open values; the newest active key of a purpose
	// also encrypts new ones.
	DataKeyActive = "active"
	// DataKeyRetired keys no longer encrypt, and no value in the store refers
	// to them any more. They stay so that backups remain readable.
	DataKeyRetired = "retired"
)

// encryptedColumn is one column whose values are encrypted with a purpose's
// data key, bound to the row named by the key column. Its queries are
// written out in full so that no SQL is assembled from strings. Every
// encrypted column MUST be listed in encryptedColumns, or a data key
// rotation would retire a key that still encrypts its values.
type encryptedColumn struct {
	purpose, table, column string
	// scan reads (row key, value) of up to ? rows after the row key ?, in
	// row key order, skipping NULLs.
	scan string
	// update replaces the value (?) of the row (?) if it is still the value
	// read (?).
	update string
}

// materialRotationBatch caps the rows of license_materials one rotation
// transaction re-encrypts: a material is up to 10 MiB, and a batch is held
// in memory.
const materialRotationBatch = 8

// batch is how many rows of c one rotation transaction re-encrypts, of the
// n asked for: fewer for a column of files.
func (c encryptedColumn) batch(n int) int {
	if c.table == licenseMaterialsTable || c.table == importChunksTable {
		return min(n, materialRotationBatch)
	}
	return n
}

// encryptedColumns lists every encrypted column.
func encryptedColumns() []encryptedColumn {
	return []encryptedColumn{
		{FieldKey, "orgs", "responsible_phone",
			`SELECT credit_code, responsible_phone FROM orgs WHERE credit_code > ? AND responsible_phone IS NOT NULL ORDER BY credit_code LIMIT ?`,
			`UPDATE orgs SET responsible_phone = ? WHERE credit_code = ? AND responsible_phone = ?`},
		{FieldKey, "orgs", "responsible_email",
			`SELECT credit_code, responsible_email FROM orgs WHERE credit_code > ? AND responsible_email IS NOT NULL ORDER BY credit_code LIMIT ?`,
			`UPDATE orgs SET responsible_email = ? WHERE credit_code = ? AND responsible_email = ?`},
		{FieldKey, idempotencyTable, idempotencyResponse,
			`SELECT scope || '/' || key, response FROM idempotency_keys WHERE scope || '/' || key > ? AND response IS NOT NULL ORDER BY 1 LIMIT ?`,
			`UPDATE idempotency_keys SET response = ? WHERE scope || '/' || key = ? AND response = ?`},
		{FieldKey, licensesTable, licenseHolderColumn,
			`SELECT id, holder_identifier FROM licenses WHERE id > ? ORDER BY id LIMIT ?`,
			`UPDATE licenses SET holder_identifier = ? WHERE id = ? AND holder_identifier = ?`},
		{FieldKey, licenseVersionsTable, licenseDocumentCol,
			`SELECT ref, document FROM license_versions WHERE ref > ? ORDER BY ref LIMIT ?`,
			`UPDATE license_versions SET document = ? WHERE ref = ? AND document = ?`},
		{FieldKey, licenseMaterialsTable, licenseMaterialCol,
			`SELECT ref, content FROM license_materials WHERE ref > ? ORDER BY ref LIMIT ?`,
			`UPDATE license_materials SET content = ? WHERE ref = ? AND content = ?`},
		{FieldKey, importChunksTable, importChunkCol,
			`SELECT ref, data FROM import_chunks WHERE ref > ? ORDER BY ref LIMIT ?`,
			`UPDATE import_chunks SET data = ? WHERE ref = ? AND data = ?`},
		{FieldKey, holdersTable, holderIdentifier,
			`SELECT id, identifier FROM holders WHERE id > ? ORDER BY id LIMIT ?`,
			`UPDATE holders SET identifier = ? WHERE id = ? AND identifier = ?`},
		{PrivateKeyKey, "keys", "private_key",
			`SELECT id, private_key FROM keys WHERE id > ? AND private_key IS NOT NULL ORDER BY id LIMIT ?`,
			`UPDATE keys SET private_key = ? WHERE id = ? AND private_key = ?`},
	}
}

// DataKey describes one stored data key; the key itself is not exposed.
type DataKey struct {
	Purpose     string
	Version     int64
	Suite       string // SM4-GCM or AES-256-GCM
	State       string // DataKeyActive or DataKeyRetired
	MasterKeyID string // the master key it is wrapped under
	CreatedAt   time.Time
	RetiredAt   *time.Time
}

// DataKeys lists the data keys, by purpose and version. Data-key
// operations are on DB (see Unlock).
func (d *DB) DataKeys(ctx context.Context) ([]DataKey, error) {
	rows, err := d.query(ctx, `SELECT purpose, version, state, wrapped, master_key_id, created_at, retired_at FROM data_keys ORDER BY purpose, version`)
	out, err := collect(rows, err, func(s scanner) (DataKey, error) {
		var k DataKey
		var wrapped []byte
		var created int64
		var retired *int64
		if err := s.Scan(&k.Purpose, &k.Version, &k.State, &wrapped, &k.MasterKeyID, &created, &retired); err != nil {
			return k, err
		}
		suite, err := envelope.WrappedKey(wrapped).Suite()
		if err != nil {
			return k, fmt.Errorf("%s data key version %d: %w", k.Purpose, k.Version, err)
		}
		k.Suite, k.CreatedAt = suite.String(), fromMicros(created)
		if retired != nil {
			t := fromMicros(*retired)
			k.RetiredAt = &t
		}
		return k, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list data keys: %w", err)
	}
	return out, nil
}

// RotateDataKeysOptions tunes RotateDataKeys; the zero value rotates every
// purpose in batches of DefaultRotationBatch rows.
type RotateDataKeysOptions struct {
	// Purposes to rotate; every purpose when empty.
	Purposes []string
	// BatchSize is how many rows of a column one transaction re-encrypts.
	BatchSize int
	// Progress, when set, is called after every committed batch.
	Progress func(DataKeyProgress)
	// Now and Rand default to time.Now and crypto/rand.Reader.
	Now  func() time.Time
	Rand io.Reader
}

// DefaultRotationBatch is the batch size of RotateDataKeys: small enough
// that a batch holds its locks only briefly, large enough that the commits
// do not dominate.
const DefaultRotationBatch = 500

// maxRotationPasses bounds the passes over a purpose's columns. A pass
// after the first finds only values that servers wrote with the old key
// while the new one was being created (PostgreSQL transactions that began
// before it was committed), so a third pass normally finds none.
const maxRotationPasses = 5

// DataKeyProgress reports the work done on one purpose so far.
type DataKeyProgress struct {
	Purpose       string
	Version       int64 // the data key values are moving to
	Table, Column string
	Pass          int
	Scanned       int64 // values read so far, all passes
	Reencrypted   int64 // values re-encrypted so far
}

// DataKeyRotation reports what RotateDataKeys did for one purpose.
type DataKeyRotation struct {
	Purpose string
	Version int64 // the data key every value of the purpose is now encrypted with
	Suite   string
	// Resumed is true when an unfinished rotation (older keys still active)
	// was finished instead of a new key being made.
	Resumed     bool
	Scanned     int64
	Reencrypted int64
	Retired     []int64 // versions retired by this run
	Done        bool    // every value is encrypted with Version
}

// RotateDataKeys makes a new data key for each purpose (or finishes an
// unfinished rotation of it), re-encrypts every value encrypted with an older
// key of the purpose, batch by batch, each batch in its own transaction,
// and then retires the older keys. New values are encrypted with the new key
// as soon as it is committed, by every process (see encryptionKey), so running
// servers go on working; a crash or a cancelled ctx leaves every value
// readable, and calling RotateDataKeys again finishes the job with the same
// key. The creation of the key and the end of the rotation are recorded in
// the audit log, by the actor of ctx. It returns what it did, also on
// error, for the purposes it got to. It is on DB because it commits a batch
// per transaction: a rotation over a large table must not hold one
// transaction for its whole length.
func (d *DB) RotateDataKeys(ctx context.Context, opts RotateDataKeysOptions) ([]DataKeyRotation, error) {
	if d.keys == nil {
		return nil, apperr.Wrap(apperr.Internal, ErrLocked, "the store is locked")
	}
	purposes := opts.Purposes
	if len(purposes) == 0 {
		purposes = Purposes()
	}
	for _, p := range purposes {
		if !slices.Contains(Purposes(), p) {
			return nil, apperr.New(apperr.Invalid, "unknown data key purpose %q (want %s)", p, strings.Join(Purposes(), " or "))
		}
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultRotationBatch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	var out []DataKeyRotation
	for _, p := range purposes {
		r, err := d.rotateDataKey(ctx, p, opts)
		out = append(out, r)
		if err != nil {
			return out, fmt.Errorf("rotate the %s data key: %w", p, err)
		}
	}
	return out, nil
}

// rotateDataKey rotates one purpose's data key.
func (d *DB) rotateDataKey(ctx context.Context, purpose string, opts RotateDataKeysOptions) (DataKeyRotation, error) {
	r := DataKeyRotation{Purpose: purpose}
	target, err := d.newestDataKey(ctx, purpose, opts, &r)
	if err != nil {
		return r, err
	}
	for pass := 1; ; pass++ {
		if pass > maxRotationPasses {
			return r, fmt.Errorf("values encrypted with older data keys still appear after %d passes: is a server of an older version running?", maxRotationPasses)
		}
		changed := int64(0)
		for _, c := range encryptedColumns() {
			if c.purpose != purpose {
				continue
			}
			n, err := d.reencryptColumn(ctx, c, target, pass, opts, &r)
			changed += n
			if err != nil {
				return r, err
			}
		}
		if changed == 0 {
			break
		}
	}
	err = d.WithTx(ctx, func(tx *Tx) error {
		r.Retired = nil
		all, err := wrappedDataKeys(ctx, tx)
		if err != nil {
			return err
		}
		for _, k := range all {
			if k.purpose == purpose && k.version != r.Version && k.state == DataKeyActive {
				r.Retired = append(r.Retired, k.version)
			}
		}
		if _, err := tx.exec(ctx, `UPDATE data_keys SET state = 'retired', retired_at = ? WHERE purpose = ? AND version <> ? AND state = 'active'`,
			micros(opts.Now()), purpose, r.Version); err != nil {
			return fmt.Errorf("retire older data keys: %w", err)
		}
		retired := make([]string, len(r.Retired))
		for i, v := range r.Retired {
			retired[i] = strconv.FormatInt(v, 10)
		}
		return auditlog.Record(ctx, tx, auditlog.Entry{At: opts.Now(), Action: "data-key.rotated", Subject: dataKeySubject(purpose, r.Version),
			Details: map[string]string{"purpose": purpose, "version": strconv.FormatInt(r.Version, 10), "retired": strings.Join(retired, ","),
				"reencrypted": strconv.FormatInt(r.Reencrypted, 10)}})
	})
	if err != nil {
		return r, err
	}
	r.Done = true
	return r, nil
}

func dataKeySubject(purpose string, version int64) string {
	return purpose + "/v" + strconv.FormatInt(version, 10)
}

// newestDataKey makes the purpose's next data key, or, when older keys are
// still active (a rotation was interrupted), returns the newest active one
// so that the rotation is finished rather than started again.
func (d *DB) newestDataKey(ctx context.Context, purpose string, opts RotateDataKeysOptions, r *DataKeyRotation) (*envelope.DataKey, error) {
	var target *envelope.DataKey
	err := d.WithTx(ctx, func(tx *Tx) error {
		target, r.Resumed = nil, false
		var id string
		if err := mapErr(tx.queryRow(ctx, `SELECT value FROM settings WHERE name = 'master_key_id'`).Scan(&id)); err != nil {
			return fmt.Errorf("read master key id: %w", err)
		}
		d.keys.mu.RLock()
		m := d.keys.master
		d.keys.mu.RUnlock()
		if id != m.ID() {
			return &MasterKeyMismatchError{Given: m.ID(), Store: id}
		}
		all, err := wrappedDataKeys(ctx, tx)
		if err != nil {
			return err
		}
		var newest, newestActive *wrappedDataKey
		active := 0
		for i, k := range all {
			if k.purpose != purpose {
				continue
			}
			newest = &all[i]
			if k.state == DataKeyActive {
				newestActive = &all[i]
				active++
			}
		}
		if newestActive == nil {
			return fmt.Errorf("the store has no active %s data key", purpose)
		}
		suite, err := envelope.WrappedKey(newestActive.wrapped).Suite()
		if err != nil {
			return fmt.Errorf("%s data key version %d: %w", purpose, newestActive.version, err)
		}
		r.Suite = suite.String()
		if active > 1 {
			r.Resumed, r.Version = true, newestActive.version
			target, err = tx.dataKey(ctx, purpose, newestActive.version)
			return err
		}
		// The next key keeps the suite the store was set up with.
		r.Version = newest.version + 1
		idOf, err := keyID(r.Version)
		if err != nil {
			return err
		}
		dk, w, err := m.NewDataKey(suite, opts.Rand)
		if err != nil {
			return fmt.Errorf("new %s data key: %w", purpose, err)
		}
		now := opts.Now()
		if _, err := tx.exec(ctx, `INSERT INTO data_keys (purpose, version, state, wrapped, master_key_id, created_at) VALUES (?, ?, 'active', ?, ?, ?)`,
			purpose, r.Version, []byte(w), m.ID(), micros(now)); err != nil {
			return fmt.Errorf("store %s data key version %d: %w", purpose, r.Version, err)
		}
		target = dk.WithID(idOf)
		return auditlog.Record(ctx, tx, auditlog.Entry{At: now, Action: "data-key.created", Subject: dataKeySubject(purpose, r.Version),
			Details: map[string]string{"purpose": purpose, "version": strconv.FormatInt(r.Version, 10), "suite": suite.String(), "master_key_id": m.ID()}})
	})
	if err != nil {
		return nil, err
	}
	// Hold the key from now on; the transaction that made it committed.
	d.keys.mu.Lock()
	d.keys.keys[dataKeyRef{purpose, r.Version}] = target
	d.keys.mu.Unlock()
	return target, nil
}

// reencryptColumn runs one pass over c, a batch per transaction, and
// returns how many values it re-encrypted with target.
func (d *DB) reencryptColumn(ctx context.Context, c encryptedColumn, target *envelope.DataKey, pass int, opts RotateDataKeysOptions, r *DataKeyRotation) (int64, error) {
	var changed int64
	after := ""
	limit := c.batch(opts.BatchSize)
	for {
		if err := ctx.Err(); err != nil {
			return changed, fmt.Errorf("stopped in %s.%s after row %q: %w", c.table, c.column, after, err)
		}
		var last string
		var scanned, n int64
		err := d.WithTx(ctx, func(tx *Tx) error {
			var err error
			last, scanned, n, err = tx.reencryptBatch(ctx, c, target, after, limit)
			return err
		})
		if err != nil {
			return changed, fmt.Errorf("re-encrypt %s.%s after row %q: %w", c.table, c.column, after, err)
		}
		changed += n
		r.Scanned += scanned
		r.Reencrypted += n
		if opts.Progress != nil && scanned > 0 {
			opts.Progress(DataKeyProgress{Purpose: c.purpose, Version: r.Version, Table: c.table, Column: c.column, Pass: pass,
				Scanned: r.Scanned, Reencrypted: r.Reencrypted})
		}
		if scanned < int64(limit) {
			return changed, nil
		}
		after = last
	}
}

type encryptedValue struct {
	row   string
	value []byte
}

// reencryptBatch re-encrypts, in q's transaction, the values of up to limit
// rows of c after the row key after that are not encrypted with target. It
// returns the last row key read, how many values it read and how many it
// re-encrypted.
func (tx *Tx) reencryptBatch(ctx context.Context, c encryptedColumn, target *envelope.DataKey, after string, limit int) (last string, scanned, changed int64, err error) {
	batch, err := tx.encryptedValues(ctx, c, after, limit)
	if err != nil {
		return "", 0, 0, err
	}
	for _, v := range batch {
		last = v.row
		scanned++
		if len(v.value) == 0 {
			continue
		}
		version, err := ciphertextVersion(v.value)
		if err != nil {
			return "", 0, 0, apperr.Wrap(apperr.Internal, err, "%s.%s of %s cannot be decrypted", c.table, c.column, v.row)
		}
		if version == int64(target.ID()) {
			continue
		}
		pt, err := tx.decrypt(ctx, c.purpose, c.table, v.row, c.column, v.value)
		if err != nil {
			return "", 0, 0, err
		}
		ciphertext, err := target.Seal([]byte(pt), envelope.AD{Table: c.table, Row: v.row, Column: c.column})
		if err != nil {
			return "", 0, 0, err
		}
		res, err := tx.exec(ctx, c.update, ciphertext, v.row, v.value)
		if err != nil {
			return "", 0, 0, err
		}
		// A value rewritten meanwhile was encrypted with the newest key
		// already; it is left alone.
		if n, err := res.RowsAffected(); err != nil {
			return "", 0, 0, mapErr(err)
		} else if n == 1 {
			changed++
		}
	}
	return last, scanned, changed, nil
}

// encryptedValues reads one batch of c. It is a function of its own so that
// its rows are closed before the caller writes through the same
// transaction.
func (h handle) encryptedValues(ctx context.Context, c encryptedColumn, after string, limit int) ([]encryptedValue, error) {
	rows, err := h.query(ctx, c.scan, after, limit)
	return collect(rows, err, func(s scanner) (encryptedValue, error) {
		var v encryptedValue
		err := s.Scan(&v.row, &v.value)
		return v, err
	})
}
