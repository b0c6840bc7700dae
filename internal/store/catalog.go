package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
)

var (
	_ catalog.Reader = (*DB)(nil)
	_ catalog.Tx     = (*Tx)(nil)
)

// typeColumns are the columns of catalog_types, and the newest approved
// version computed beside them.
const typeColumns = `t.code, t.name_zh, t.name_en, t.any_issuer, t.holder_kind, t.level, t.public, t.collection_start, t.validity,
	t.numbering, t.owner, t.created_by, t.created_at,
	COALESCE((SELECT MAX(v.number) FROM catalog_versions v WHERE v.type_code = t.code AND v.state = 'approved'), 0)`

func scanType(s scanner) (catalog.Entry, error) {
	var e catalog.Entry
	var anyIssuer int
	var holder, level, public, validity, numbering string
	var created int64
	if err := s.Scan(&e.Code, &e.Name.ZH, &e.Name.EN, &anyIssuer, &holder, &level, &public, &e.CollectionStart, &validity,
		&numbering, &e.Owner, &e.CreatedBy, &created, &e.Approved); err != nil {
		return catalog.Entry{}, mapErr(err)
	}
	e.AnyIssuer, e.HolderKind, e.Level, e.Public = anyIssuer == 1, catalog.HolderKind(holder), catalog.Level(level), catalog.Publicity(public)
	e.Numbering, e.CreatedAt = ids.NumberingRule(numbering), fromMicros(created)
	if err := json.Unmarshal([]byte(validity), &e.Validity); err != nil {
		return catalog.Entry{}, fmt.Errorf("license type %s validity: %w", e.Code, err)
	}
	return e, nil
}

// InsertType implements catalog.Tx.
func (tx *Tx) InsertType(ctx context.Context, e catalog.Entry) error {
	validity, err := json.Marshal(e.Validity)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO catalog_types (code, name_zh, name_en, any_issuer, holder_kind, level, public, collection_start,
		validity, numbering, owner, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Code, e.Name.ZH, e.Name.EN, boolInt(e.AnyIssuer), string(e.HolderKind), string(e.Level), string(e.Public), e.CollectionStart,
		string(validity), string(e.Numbering), e.Owner, e.CreatedBy, micros(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert license type %s: %w", e.Code, err)
	}
	for _, issuer := range e.Issuers {
		if _, err := tx.exec(ctx, `INSERT INTO catalog_type_issuers (type_code, issuer) VALUES (?, ?)`, e.Code, issuer); err != nil {
			return fmt.Errorf("insert issuer %s of license type %s: %w", issuer, e.Code, err)
		}
	}
	return nil
}

// GetType implements catalog.Reader.
func (h handle) GetType(ctx context.Context, code string) (catalog.Entry, error) {
	e, err := scanType(h.queryRow(ctx, `SELECT `+typeColumns+` FROM catalog_types t WHERE t.code = ?`, code))
	if err != nil {
		return catalog.Entry{}, fmt.Errorf("get license type %s: %w", code, err)
	}
	out := []catalog.Entry{e}
	if err := h.typeIssuers(ctx, out); err != nil {
		return catalog.Entry{}, err
	}
	return out[0], nil
}

// ListTypes implements catalog.Reader.
func (h handle) ListTypes(ctx context.Context, f catalog.TypeFilter) ([]catalog.Entry, error) {
	where, args := []string{`t.code > ?`}, []any{f.After}
	for _, c := range []struct{ col, val string }{{"t.owner", f.Owner}, {"t.level", string(f.Level)}, {"t.holder_kind", string(f.HolderKind)}} {
		if c.val != "" {
			where, args = append(where, c.col+` = ?`), append(args, c.val)
		}
	}
	if f.Issuer != "" {
		where = append(where, `(t.any_issuer = 1 OR EXISTS (SELECT 1 FROM catalog_type_issuers i WHERE i.type_code = t.code AND i.issuer = ?))`)
		args = append(args, f.Issuer)
	}
	if f.Usable {
		where = append(where, `EXISTS (SELECT 1 FROM catalog_versions v WHERE v.type_code = t.code AND v.state = 'approved')`)
	}
	rows, err := h.query(ctx, `SELECT `+typeColumns+` FROM catalog_types t WHERE `+strings.Join(where, ` AND `)+` ORDER BY t.code LIMIT ?`,
		append(args, f.Limit)...)
	out, err := collect(rows, err, scanType)
	if err != nil {
		return nil, fmt.Errorf("list license types: %w", err)
	}
	if err := h.typeIssuers(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// typeIssuers fills in the explicit issuers of the types, in one query.
func (h handle) typeIssuers(ctx context.Context, types []catalog.Entry) error {
	if len(types) == 0 {
		return nil
	}
	args, at := make([]any, len(types)), make(map[string]int, len(types))
	for i, e := range types {
		args[i], at[e.Code] = e.Code, i
	}
	rows, err := h.query(ctx, `SELECT type_code, issuer FROM catalog_type_issuers WHERE type_code IN (`+placeholders(len(types))+`)
		ORDER BY type_code, issuer`, args...)
	pairs, err := collect(rows, err, func(s scanner) ([2]string, error) {
		var p [2]string
		err := s.Scan(&p[0], &p[1])
		return p, err
	})
	if err != nil {
		return fmt.Errorf("issuers of license types: %w", err)
	}
	for _, p := range pairs {
		i := at[p[0]]
		types[i].Issuers = append(types[i].Issuers, p[1])
	}
	return nil
}

const versionColumns = `type_code, number, template, state, author, proposed_at, decided_by, decided_at, decision_reason`

// scanVersion reads a version; its events are rebuilt from the columns
// that record its submission and its review.
func scanVersion(s scanner) (catalog.Version, error) {
	var v catalog.Version
	var template, state, decidedBy, reason string
	var proposed, decided sql.NullInt64
	if err := s.Scan(&v.TypeCode, &v.Number, &template, &state, &v.Author, &proposed, &decidedBy, &decided, &reason); err != nil {
		return catalog.Version{}, mapErr(err)
	}
	v.State = catalog.State(state)
	if err := json.Unmarshal([]byte(template), &v.Template); err != nil {
		return catalog.Version{}, fmt.Errorf("license type %s version %d template: %w", v.TypeCode, v.Number, err)
	}
	if proposed.Valid {
		v.Events = append(v.Events, catalog.Event{Action: catalog.Submit, By: v.Author, At: fromMicros(proposed.Int64)})
	}
	if decided.Valid {
		a := catalog.Approve
		if v.State == catalog.Rejected {
			a = catalog.Reject
		}
		v.Events = append(v.Events, catalog.Event{Action: a, By: decidedBy, At: fromMicros(decided.Int64), Reason: reason})
	}
	return v, nil
}

// lastEvent returns the last event of v with one of the actions, if any.
func lastEvent(v catalog.Version, actions ...catalog.Action) (catalog.Event, bool) {
	for i := len(v.Events) - 1; i >= 0; i-- {
		for _, a := range actions {
			if v.Events[i].Action == a {
				return v.Events[i], true
			}
		}
	}
	return catalog.Event{}, false
}

// eventColumns are the stored forms of v's submission and review.
func eventColumns(v catalog.Version) (proposed sql.NullInt64, decidedBy string, decided sql.NullInt64, reason string) {
	if e, ok := lastEvent(v, catalog.Submit); ok {
		proposed = sql.NullInt64{Int64: micros(e.At), Valid: true}
	}
	if e, ok := lastEvent(v, catalog.Approve, catalog.Reject); ok {
		decidedBy, decided, reason = e.By, sql.NullInt64{Int64: micros(e.At), Valid: true}, e.Reason
	}
	return proposed, decidedBy, decided, reason
}

// InsertVersion implements catalog.Tx.
func (tx *Tx) InsertVersion(ctx context.Context, v catalog.Version) error {
	template, err := json.Marshal(v.Template)
	if err != nil {
		return err
	}
	proposed, decidedBy, decided, reason := eventColumns(v)
	_, err = tx.exec(ctx, `INSERT INTO catalog_versions (`+versionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.TypeCode, v.Number, string(template), string(v.State), v.Author, proposed, decidedBy, decided, reason)
	if err != nil {
		return fmt.Errorf("insert license type %s version %d: %w", v.TypeCode, v.Number, err)
	}
	return nil
}

// UpdateVersion implements catalog.Tx.
func (tx *Tx) UpdateVersion(ctx context.Context, v catalog.Version, from catalog.State) error {
	template, err := json.Marshal(v.Template)
	if err != nil {
		return err
	}
	proposed, decidedBy, decided, reason := eventColumns(v)
	res, err := tx.exec(ctx, `UPDATE catalog_versions SET template = ?, state = ?, proposed_at = ?, decided_by = ?, decided_at = ?, decision_reason = ?
		WHERE type_code = ? AND number = ? AND state = ?`,
		string(template), string(v.State), proposed, decidedBy, decided, reason, v.TypeCode, v.Number, string(from))
	if err != nil {
		return fmt.Errorf("update license type %s version %d: %w", v.TypeCode, v.Number, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "version %d of %s changed meanwhile", v.Number, v.TypeCode)
	}
	return nil
}

// GetVersion implements catalog.Reader.
func (h handle) GetVersion(ctx context.Context, typeCode string, number int) (catalog.Version, error) {
	v, err := scanVersion(h.queryRow(ctx, `SELECT `+versionColumns+` FROM catalog_versions WHERE type_code = ? AND number = ?`, typeCode, number))
	if err != nil {
		return catalog.Version{}, fmt.Errorf("get license type %s version %d: %w", typeCode, number, err)
	}
	return v, nil
}

// ListVersions implements catalog.Reader.
func (h handle) ListVersions(ctx context.Context, f catalog.VersionFilter) ([]catalog.Version, error) {
	where, args := []string{`type_code = ?`, `number > ?`}, []any{f.TypeCode, f.After}
	if f.State != "" {
		where, args = append(where, `state = ?`), append(args, string(f.State))
	}
	rows, err := h.query(ctx, `SELECT `+versionColumns+` FROM catalog_versions WHERE `+strings.Join(where, ` AND `)+` ORDER BY number LIMIT ?`,
		append(args, f.Limit)...)
	out, err := collect(rows, err, scanVersion)
	if err != nil {
		return nil, fmt.Errorf("list versions of license type %s: %w", f.TypeCode, err)
	}
	return out, nil
}

// LastVersion implements catalog.Reader.
func (h handle) LastVersion(ctx context.Context, typeCode string) (int, error) {
	var n int
	if err := h.queryRow(ctx, `SELECT COALESCE(MAX(number), 0) FROM catalog_versions WHERE type_code = ?`, typeCode).Scan(&n); err != nil {
		return 0, fmt.Errorf("last version of license type %s: %w", typeCode, mapErr(err))
	}
	return n, nil
}

// LatestApproved implements catalog.Reader.
func (h handle) LatestApproved(ctx context.Context, typeCode string) (catalog.Version, error) {
	v, err := scanVersion(h.queryRow(ctx, `SELECT `+versionColumns+` FROM catalog_versions WHERE type_code = ? AND state = 'approved'
		ORDER BY number DESC LIMIT 1`, typeCode))
	if err != nil {
		return catalog.Version{}, fmt.Errorf("latest approved version of license type %s: %w", typeCode, err)
	}
	return v, nil
}

// CatalogTx runs fn in one transaction; it is the catalog.TxFunc of this
// store.
func (d *DB) CatalogTx(ctx context.Context, fn func(catalog.Tx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}
