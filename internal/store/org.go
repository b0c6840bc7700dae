package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
)

var (
	_ org.Reader = (*DB)(nil)
	_ org.Tx     = (*Tx)(nil)
)

const orgColumns = `credit_code, name, region, parent, responsible_name, responsible_phone,
	responsible_email, status, version, created_at, updated_at`

type orgRow struct {
	CreditCode, Name, Region      string
	Parent                        sql.NullString
	ResponsibleName, Stat         string
	PhoneEnc, EmailEnc            []byte
	Version, CreatedAt, UpdatedAt int64
}

func (r *orgRow) dest() []any {
	return []any{&r.CreditCode, &r.Name, &r.Region, &r.Parent, &r.ResponsibleName, &r.PhoneEnc,
		&r.EmailEnc, &r.Stat, &r.Version, &r.CreatedAt, &r.UpdatedAt}
}

func (h handle) orgOf(ctx context.Context, r *orgRow, kinds []org.Kind) (org.Org, error) {
	phone, err := h.decrypt(ctx, FieldKey, "orgs", r.CreditCode, "responsible_phone", r.PhoneEnc)
	if err != nil {
		return org.Org{}, err
	}
	email, err := h.decrypt(ctx, FieldKey, "orgs", r.CreditCode, "responsible_email", r.EmailEnc)
	if err != nil {
		return org.Org{}, err
	}
	return org.Org{
		CreditCode: r.CreditCode, Name: r.Name, Region: r.Region, Parent: r.Parent.String,
		Kinds:       kinds,
		Responsible: org.Responsible{Name: r.ResponsibleName, Phone: phone, Email: email},
		Status:      org.Status(r.Stat), Version: r.Version,
		CreatedAt: fromMicros(r.CreatedAt), UpdatedAt: fromMicros(r.UpdatedAt),
	}, nil
}

// encryptContact encrypts the responsible person's phone and e-mail of o.
func (h handle) encryptContact(ctx context.Context, o org.Org) (phone, email []byte, err error) {
	if phone, err = h.encrypt(ctx, FieldKey, "orgs", o.CreditCode, "responsible_phone", o.Responsible.Phone); err != nil {
		return nil, nil, err
	}
	if email, err = h.encrypt(ctx, FieldKey, "orgs", o.CreditCode, "responsible_email", o.Responsible.Email); err != nil {
		return nil, nil, err
	}
	return phone, email, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// InsertOrg implements org.Tx.
func (tx *Tx) InsertOrg(ctx context.Context, o org.Org) error {
	phone, email, err := tx.encryptContact(ctx, o)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO orgs (`+orgColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.CreditCode, o.Name, o.Region, nullString(o.Parent), o.Responsible.Name, phone,
		email, string(o.Status), o.Version, micros(o.CreatedAt), micros(o.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert organization %s: %w", o.CreditCode, err)
	}
	return tx.insertKinds(ctx, o)
}

func (tx *Tx) insertKinds(ctx context.Context, o org.Org) error {
	for _, k := range o.Kinds {
		if _, err := tx.exec(ctx, `INSERT INTO org_kinds (credit_code, kind) VALUES (?, ?)`, o.CreditCode, string(k)); err != nil {
			return fmt.Errorf("insert kind of %s: %w", o.CreditCode, err)
		}
	}
	return nil
}

// GetOrg implements org.Reader.
func (h handle) GetOrg(ctx context.Context, creditCode string) (org.Org, error) {
	var r orgRow
	err := h.queryRow(ctx, `SELECT `+orgColumns+` FROM orgs WHERE credit_code = ?`, creditCode).Scan(r.dest()...)
	if err != nil {
		return org.Org{}, fmt.Errorf("get organization %s: %w", creditCode, mapErr(err))
	}
	kinds, err := h.kindsOf(ctx, []string{creditCode})
	if err != nil {
		return org.Org{}, err
	}
	return h.orgOf(ctx, &r, kinds[creditCode])
}

func (h handle) kindsOf(ctx context.Context, codes []string) (map[string][]org.Kind, error) {
	out := make(map[string][]org.Kind, len(codes))
	if len(codes) == 0 {
		return out, nil
	}
	args := make([]any, len(codes))
	for i, c := range codes {
		args[i] = c
	}
	rows, err := h.query(ctx, `SELECT credit_code, kind FROM org_kinds WHERE credit_code IN (`+placeholders(len(codes))+`) ORDER BY credit_code, kind`, args...)
	type orgKind struct {
		code string
		kind org.Kind
	}
	pairs, err := collect(rows, err, func(s scanner) (orgKind, error) {
		var p orgKind
		err := s.Scan(&p.code, &p.kind)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("organization kinds: %w", err)
	}
	for _, p := range pairs {
		out[p.code] = append(out[p.code], p.kind)
	}
	return out, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// ListOrgs implements org.Reader.
func (h handle) ListOrgs(ctx context.Context, f org.Filter) ([]org.Org, error) {
	var where []string
	var args []any
	if f.Kind != "" {
		where = append(where, `credit_code IN (SELECT credit_code FROM org_kinds WHERE kind = ?)`)
		args = append(args, string(f.Kind))
	}
	for _, c := range []struct{ col, val string }{
		{"region", f.Region}, {"status", string(f.Status)}, {"credit_code", f.CreditCode},
	} {
		if c.val != "" {
			where = append(where, c.col+` = ?`)
			args = append(args, c.val)
		}
	}
	if f.After != "" {
		where = append(where, `credit_code > ?`)
		args = append(args, f.After)
	}
	query := `SELECT ` + orgColumns + ` FROM orgs`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY credit_code LIMIT ?`
	args = append(args, f.Limit)
	rows, err := h.query(ctx, query, args...)
	list, err := collect(rows, err, func(s scanner) (orgRow, error) {
		var r orgRow
		err := s.Scan(r.dest()...)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	codes := make([]string, len(list))
	for i, r := range list {
		codes[i] = r.CreditCode
	}
	kinds, err := h.kindsOf(ctx, codes)
	if err != nil {
		return nil, err
	}
	out := make([]org.Org, len(list))
	for i := range list {
		if out[i], err = h.orgOf(ctx, &list[i], kinds[list[i].CreditCode]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UpdateOrg implements org.Tx: optimistic, on the version.
func (tx *Tx) UpdateOrg(ctx context.Context, o org.Org) error {
	phone, email, err := tx.encryptContact(ctx, o)
	if err != nil {
		return err
	}
	res, err := tx.exec(ctx, `UPDATE orgs SET name = ?, region = ?, parent = ?, responsible_name = ?,
		responsible_phone = ?, responsible_email = ?, status = ?, version = ?, updated_at = ?
		WHERE credit_code = ? AND version = ?`,
		o.Name, o.Region, nullString(o.Parent), o.Responsible.Name, phone, email,
		string(o.Status), o.Version, micros(o.UpdatedAt), o.CreditCode, o.Version-1)
	if err != nil {
		return fmt.Errorf("update organization %s: %w", o.CreditCode, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "organization %s was changed meanwhile; read it again", o.CreditCode)
	}
	if _, err := tx.exec(ctx, `DELETE FROM org_kinds WHERE credit_code = ?`, o.CreditCode); err != nil {
		return fmt.Errorf("update kinds of %s: %w", o.CreditCode, err)
	}
	return tx.insertKinds(ctx, o)
}

// CountOrgsOfKind implements org.Reader.
func (h handle) CountOrgsOfKind(ctx context.Context, k org.Kind) (int, error) {
	var n int
	err := h.queryRow(ctx, `SELECT COUNT(*) FROM org_kinds WHERE kind = ?`, string(k)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count organizations: %w", mapErr(err))
	}
	return n, nil
}

const accountColumns = `id, org, name, roles, password_hash, status, created_at`

func scanAccount(s scanner) (org.Account, error) {
	var a org.Account
	var roles, status string
	var created int64
	if err := s.Scan(&a.ID, &a.Org, &a.Name, &roles, &a.PasswordHash, &status, &created); err != nil {
		return org.Account{}, mapErr(err)
	}
	rs, err := authz.SplitRoles(roles)
	if err != nil {
		return org.Account{}, fmt.Errorf("account %s: %w", a.ID, err)
	}
	a.Roles, a.Status, a.CreatedAt = rs, org.Status(status), fromMicros(created)
	return a, nil
}

// InsertAccount implements org.Tx.
func (tx *Tx) InsertAccount(ctx context.Context, a org.Account) error {
	_, err := tx.exec(ctx, `INSERT INTO accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Org, a.Name, authz.JoinRoles(a.Roles), a.PasswordHash, string(a.Status), micros(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert account: %w", err)
	}
	return nil
}

// GetAccount implements org.Reader.
func (h handle) GetAccount(ctx context.Context, id string) (org.Account, error) {
	a, err := scanAccount(h.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if err != nil {
		return org.Account{}, fmt.Errorf("get account %s: %w", id, err)
	}
	return a, nil
}

// FindAccount implements org.Reader.
func (h handle) FindAccount(ctx context.Context, orgCode, name string) (org.Account, error) {
	a, err := scanAccount(h.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE org = ? AND name = ?`, orgCode, name))
	if err != nil {
		return org.Account{}, fmt.Errorf("find account %s of %s: %w", name, orgCode, err)
	}
	return a, nil
}

// ListAccounts implements org.Reader.
func (h handle) ListAccounts(ctx context.Context, orgCode, after string, limit int) ([]org.Account, error) {
	rows, err := h.query(ctx, `SELECT `+accountColumns+` FROM accounts WHERE org = ? AND id > ? ORDER BY id LIMIT ?`, orgCode, after, limit)
	out, err := collect(rows, err, scanAccount)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

//nolint:gosec // G101: SQL column names of the tokens table, not a credential
const tokenColumns = `t.id, t.account_id, a.org, t.prefix, t.hash, t.roles, t.description, t.created_at, t.expires_at, t.revoked_at`

func scanToken(s scanner) (org.Token, error) {
	var t org.Token
	var roles string
	var created, expires int64
	var revoked sql.NullInt64
	if err := s.Scan(&t.ID, &t.AccountID, &t.Org, &t.Prefix, &t.Hash, &roles, &t.Description, &created, &expires, &revoked); err != nil {
		return org.Token{}, mapErr(err)
	}
	rs, err := authz.SplitRoles(roles)
	if err != nil {
		return org.Token{}, fmt.Errorf("token %s: %w", t.ID, err)
	}
	t.Roles, t.CreatedAt, t.ExpiresAt = rs, fromMicros(created), fromMicros(expires)
	if revoked.Valid {
		at := fromMicros(revoked.Int64)
		t.RevokedAt = &at
	}
	return t, nil
}

// InsertToken implements org.Tx.
func (tx *Tx) InsertToken(ctx context.Context, t org.Token) error {
	_, err := tx.exec(ctx, `INSERT INTO tokens (id, account_id, prefix, hash, roles, description, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.AccountID, t.Prefix, t.Hash, authz.JoinRoles(t.Roles), t.Description, micros(t.CreatedAt), micros(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert token: %w", err)
	}
	return nil
}

//nolint:gosec // G101: an SQL FROM clause naming the tokens table, not a credential
const tokenFrom = ` FROM tokens t JOIN accounts a ON a.id = t.account_id`

// GetToken implements org.Reader.
func (h handle) GetToken(ctx context.Context, id string) (org.Token, error) {
	t, err := scanToken(h.queryRow(ctx, `SELECT `+tokenColumns+tokenFrom+` WHERE t.id = ?`, id))
	if err != nil {
		return org.Token{}, fmt.Errorf("get token %s: %w", id, err)
	}
	return t, nil
}

// TokenByHash implements org.Reader.
func (h handle) TokenByHash(ctx context.Context, hash []byte) (org.Token, error) {
	t, err := scanToken(h.queryRow(ctx, `SELECT `+tokenColumns+tokenFrom+` WHERE t.hash = ?`, hash))
	if err != nil {
		return org.Token{}, fmt.Errorf("find token: %w", err)
	}
	return t, nil
}

// ListTokens implements org.Reader.
func (h handle) ListTokens(ctx context.Context, f org.TokenFilter) ([]org.Token, error) {
	where, args := []string{`t.id > ?`}, []any{f.After}
	if f.Org != "" {
		where, args = append(where, `a.org = ?`), append(args, f.Org)
	}
	if f.AccountID != "" {
		where, args = append(where, `t.account_id = ?`), append(args, f.AccountID)
	}
	args = append(args, f.Limit)
	rows, err := h.query(ctx, `SELECT `+tokenColumns+tokenFrom+` WHERE `+strings.Join(where, ` AND `)+` ORDER BY t.id LIMIT ?`, args...)
	out, err := collect(rows, err, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken implements org.Tx.
func (tx *Tx) RevokeToken(ctx context.Context, id string, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(at), id)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "token %s was revoked meanwhile", id)
	}
	return nil
}

// errNotFound reports whether err is a missing row.
func errNotFound(err error) bool { return errors.Is(err, apperr.NotFound) }

// OrgTx runs fn in one transaction; it is the org.TxFunc of this store.
func (d *DB) OrgTx(ctx context.Context, fn func(org.Tx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}
