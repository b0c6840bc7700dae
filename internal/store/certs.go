package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/pki"
)

var (
	_ pki.Store  = (*DB)(nil)
	_ pki.Tx     = (*Tx)(nil)
	_ pki.Writer = (*Tx)(nil)
)

const certColumns = `fingerprint, serial, key_id, kind, source, issuer, subject, not_before, not_after, der, created_at, revoked_at, revocation_reason`

func scanCert(s scanner) (pki.Cert, error) {
	var c pki.Cert
	var keyID sql.NullString
	var kind, source string
	var nb, na, created int64
	var revoked, reason sql.NullInt64
	if err := s.Scan(&c.Fingerprint, &c.Serial, &keyID, &kind, &source, &c.Issuer, &c.Subject, &nb, &na, &c.DER, &created, &revoked, &reason); err != nil {
		return pki.Cert{}, mapErr(err)
	}
	c.KeyID, c.Kind, c.Source = keyID.String, pki.Kind(kind), pki.Source(source)
	c.NotBefore, c.NotAfter, c.CreatedAt = fromMicros(nb), fromMicros(na), fromMicros(created)
	if revoked.Valid {
		t := fromMicros(revoked.Int64)
		c.RevokedAt, c.RevocationReason = &t, int(reason.Int64)
	}
	return c, nil
}

// InsertCert implements pki.Writer.
func (tx *Tx) InsertCert(ctx context.Context, c pki.Cert) error {
	_, err := tx.exec(ctx, `INSERT INTO certificates (`+certColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
		c.Fingerprint, c.Serial, nullString(c.KeyID), string(c.Kind), string(c.Source), c.Issuer, c.Subject,
		micros(c.NotBefore), micros(c.NotAfter), c.DER, micros(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert certificate: %w", err)
	}
	return nil
}

// GetCert implements pki.Reader.
func (h handle) GetCert(ctx context.Context, ref string) (pki.Cert, error) {
	ref = strings.ToLower(strings.TrimSpace(ref))
	c, err := scanCert(h.queryRow(ctx, `SELECT `+certColumns+` FROM certificates WHERE fingerprint = ?
		OR (serial = ? AND source = 'internal' AND kind <> 'root') ORDER BY fingerprint LIMIT 1`, ref, strings.TrimLeft(ref, "0")))
	if err != nil {
		return pki.Cert{}, fmt.Errorf("get certificate %s: %w", ref, err)
	}
	return c, nil
}

// ListCerts implements pki.Reader.
func (h handle) ListCerts(ctx context.Context, f pki.Filter) ([]pki.Cert, error) {
	where, args := []string{`1 = 1`}, []any{}
	for _, c := range []struct{ col, val string }{{"key_id", f.KeyID}, {"kind", string(f.Kind)}, {"issuer", f.Issuer}} {
		if c.val != "" {
			where, args = append(where, c.col+` = ?`), append(args, c.val)
		}
	}
	if f.Revoked {
		where = append(where, `revoked_at IS NOT NULL`)
	}
	rows, err := h.query(ctx, `SELECT `+certColumns+` FROM certificates WHERE `+strings.Join(where, ` AND `)+` ORDER BY created_at, fingerprint`, args...)
	out, err := collect(rows, err, scanCert)
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	return out, nil
}

// RevokeCert implements pki.Writer.
func (tx *Tx) RevokeCert(ctx context.Context, fingerprint string, at time.Time, reason int) error {
	res, err := tx.exec(ctx, `UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE fingerprint = ? AND revoked_at IS NULL`,
		micros(at), reason, fingerprint)
	if err != nil {
		return fmt.Errorf("revoke certificate %s: %w", fingerprint, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "certificate %s was revoked meanwhile", fingerprint)
	}
	return nil
}

// NextCRLNumber implements pki.Store. The counter is a settings row, never
// a process variable. It is on DB, auto-committed, because a CRL number is
// spent whether or not its CRL is published, and one UPDATE queues on the
// row lock where a CRL's read-modify-write in a SERIALIZABLE transaction
// would conflict with every other.
func (d *DB) NextCRLNumber(ctx context.Context) (n int64, err error) {
	err = d.retry(ctx, func() error {
		n, err = d.nextCRLNumber(ctx)
		return err
	})
	return n, err
}

func (d *DB) nextCRLNumber(ctx context.Context) (int64, error) {
	if _, err := d.exec(ctx, `INSERT INTO settings (name, value) VALUES ('crl_number', '0') ON CONFLICT (name) DO NOTHING`); err != nil {
		return 0, fmt.Errorf("CRL number: %w", err)
	}
	var v string
	cast := `CAST(value AS INTEGER)`
	if d.dialect == Postgres {
		cast = `value::bigint`
	}
	err := mapErr(d.queryRow(ctx, `UPDATE settings SET value = CAST(`+cast+` + 1 AS TEXT) WHERE name = 'crl_number' RETURNING value`).Scan(&v))
	if err != nil {
		return 0, fmt.Errorf("CRL number: %w", err)
	}
	return strconv.ParseInt(v, 10, 64)
}

// CertTx runs fn in one transaction; it is the pki.TxFunc of this store.
func (d *DB) CertTx(ctx context.Context, fn func(pki.Tx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}
