package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// Using units' matters and type grants (migration 0026).

var (
	_ use.Reader = (*DB)(nil)
	_ use.Tx     = (*Tx)(nil)
)

// matterColumns are the columns of use_matters, and the newest and the
// usable version computed beside them.
const matterColumns = `m.org, m.code, m.created_by, m.created_at,
	COALESCE((SELECT MAX(v.number) FROM use_matter_versions v WHERE v.org = m.org AND v.code = m.code), 0),
	COALESCE((SELECT v.name FROM use_matter_versions v WHERE v.org = m.org AND v.code = m.code ORDER BY v.number DESC LIMIT 1), ''),
	COALESCE((SELECT MAX(v.number) FROM use_matter_versions v WHERE v.org = m.org AND v.code = m.code AND v.state = 'approved'), 0)`

func scanMatter(s scanner) (use.Matter, error) {
	var m use.Matter
	var created int64
	if err := s.Scan(&m.Org, &m.Code, &m.CreatedBy, &created, &m.Latest, &m.Name, &m.Approved); err != nil {
		return use.Matter{}, mapErr(err)
	}
	m.CreatedAt = fromMicros(created)
	return m, nil
}

// InsertMatter implements use.Tx.
func (tx *Tx) InsertMatter(ctx context.Context, m use.Matter) error {
	_, err := tx.exec(ctx, `INSERT INTO use_matters (org, code, created_by, created_at) VALUES (?, ?, ?, ?)`,
		m.Org, m.Code, m.CreatedBy, micros(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert matter %s of %s: %w", m.Code, m.Org, err)
	}
	return nil
}

// GetMatter implements use.Reader.
func (h handle) GetMatter(ctx context.Context, org, code string) (use.Matter, error) {
	m, err := scanMatter(h.queryRow(ctx, `SELECT `+matterColumns+` FROM use_matters m WHERE m.org = ? AND m.code = ?`, org, code))
	if err != nil {
		return use.Matter{}, fmt.Errorf("get matter %s of %s: %w", code, org, err)
	}
	return m, nil
}

// ListMatters implements use.Reader; the cursor is "org|code".
func (h handle) ListMatters(ctx context.Context, f use.MatterFilter) ([]use.Matter, error) {
	var where []string
	var args []any
	if f.After != "" {
		org, code, _ := strings.Cut(f.After, "|")
		where, args = append(where, `(m.org > ? OR (m.org = ? AND m.code > ?))`), append(args, org, org, code)
	}
	if f.Org != "" {
		where, args = append(where, `m.org = ?`), append(args, f.Org)
	}
	if f.Usable {
		where = append(where, `EXISTS (SELECT 1 FROM use_matter_versions v WHERE v.org = m.org AND v.code = m.code AND v.state = 'approved')`)
	}
	rows, err := h.query(ctx, `SELECT `+matterColumns+` FROM use_matters m`+whereClause(where)+` ORDER BY m.org, m.code LIMIT ?`,
		append(args, f.Limit)...)
	out, err := collect(rows, err, scanMatter)
	if err != nil {
		return nil, fmt.Errorf("list matters: %w", err)
	}
	return out, nil
}

// whereClause joins conditions into a WHERE clause, empty for none.
func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return ` WHERE ` + strings.Join(conds, ` AND `)
}

const matterVersionColumns = `org, code, number, name, legal_basis, needs, state, author, proposed_at, decided_by, decided_at, decision_reason`

func scanMatterVersion(s scanner) (use.MatterVersion, error) {
	var v use.MatterVersion
	var needs, state string
	var proposed, decided int64
	if err := s.Scan(&v.Org, &v.Code, &v.Number, &v.Name, &v.LegalBasis, &needs, &state, &v.Author, &proposed, &v.DecidedBy, &decided, &v.Reason); err != nil {
		return use.MatterVersion{}, mapErr(err)
	}
	if err := json.Unmarshal([]byte(needs), &v.Needs); err != nil {
		return use.MatterVersion{}, fmt.Errorf("matter %s of %s version %d needs: %w", v.Code, v.Org, v.Number, err)
	}
	v.State, v.ProposedAt = use.State(state), fromMicros(proposed)
	if decided != 0 {
		v.DecidedAt = fromMicros(decided)
	}
	return v, nil
}

// InsertMatterVersion implements use.Tx.
func (tx *Tx) InsertMatterVersion(ctx context.Context, v use.MatterVersion) error {
	needs, err := json.Marshal(v.Needs)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO use_matter_versions (`+matterVersionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.Org, v.Code, v.Number, v.Name, v.LegalBasis, string(needs), string(v.State), v.Author, micros(v.ProposedAt),
		v.DecidedBy, decidedMicros(v), v.Reason)
	if err != nil {
		return fmt.Errorf("insert matter %s of %s version %d: %w", v.Code, v.Org, v.Number, err)
	}
	return nil
}

func decidedMicros(v use.MatterVersion) int64 {
	if v.DecidedAt.IsZero() {
		return 0
	}
	return micros(v.DecidedAt)
}

// UpdateMatterVersion implements use.Tx.
func (tx *Tx) UpdateMatterVersion(ctx context.Context, v use.MatterVersion, from use.State) error {
	res, err := tx.exec(ctx, `UPDATE use_matter_versions SET state = ?, decided_by = ?, decided_at = ?, decision_reason = ?
		WHERE org = ? AND code = ? AND number = ? AND state = ?`,
		string(v.State), v.DecidedBy, decidedMicros(v), v.Reason, v.Org, v.Code, v.Number, string(from))
	if err != nil {
		return fmt.Errorf("update matter %s of %s version %d: %w", v.Code, v.Org, v.Number, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "version %d of matter %s changed meanwhile", v.Number, v.Code)
	}
	return nil
}

// GetMatterVersion implements use.Reader.
func (h handle) GetMatterVersion(ctx context.Context, org, code string, number int) (use.MatterVersion, error) {
	v, err := scanMatterVersion(h.queryRow(ctx, `SELECT `+matterVersionColumns+` FROM use_matter_versions WHERE org = ? AND code = ? AND number = ?`,
		org, code, number))
	if err != nil {
		return use.MatterVersion{}, fmt.Errorf("get matter %s of %s version %d: %w", code, org, number, err)
	}
	return v, nil
}

// ApprovedMatterVersion implements use.Reader.
func (h handle) ApprovedMatterVersion(ctx context.Context, org, code string) (use.MatterVersion, error) {
	v, err := scanMatterVersion(h.queryRow(ctx, `SELECT `+matterVersionColumns+` FROM use_matter_versions
		WHERE org = ? AND code = ? AND state = 'approved' ORDER BY number DESC LIMIT 1`, org, code))
	if err != nil {
		return use.MatterVersion{}, fmt.Errorf("approved version of matter %s of %s: %w", code, org, err)
	}
	return v, nil
}

// ListMatterVersions implements use.Reader; the cursor is
// "org|code|number". The index use_matter_versions_state serves the
// versions waiting for review.
func (h handle) ListMatterVersions(ctx context.Context, f use.VersionFilter) ([]use.MatterVersion, error) {
	var where []string
	var args []any
	if f.After != "" {
		p := strings.SplitN(f.After, "|", 3)
		n := -1
		if len(p) == 3 {
			n, _ = strconv.Atoi(p[2])
		}
		if n < 0 {
			return nil, &apperr.Error{Kind: apperr.Invalid, Detail: "not a cursor this API returned",
				Fields: []apperr.FieldError{{Field: "cursor", Rule: "cursor", Detail: "not a cursor this API returned"}}}
		}
		where = append(where, `(org > ? OR (org = ? AND code > ?) OR (org = ? AND code = ? AND number > ?))`)
		args = append(args, p[0], p[0], p[1], p[0], p[1], n)
	}
	for _, c := range []struct{ col, val string }{{"org", f.Org}, {"code", f.Code}, {"state", string(f.State)}} {
		if c.val != "" {
			where, args = append(where, c.col+` = ?`), append(args, c.val)
		}
	}
	rows, err := h.query(ctx, `SELECT `+matterVersionColumns+` FROM use_matter_versions`+whereClause(where)+
		` ORDER BY org, code, number LIMIT ?`, append(args, f.Limit)...)
	out, err := collect(rows, err, scanMatterVersion)
	if err != nil {
		return nil, fmt.Errorf("list matter versions: %w", err)
	}
	return out, nil
}

// UseTx runs fn in one transaction; it is the use.TxFunc of this store.
func (d *DB) UseTx(ctx context.Context, fn func(use.Tx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// UseQueryTx runs fn in one transaction; it is the use.QueryTxFunc of
// this store.
func (d *DB) UseQueryTx(ctx context.Context, fn func(use.QueryTx) error) error {
	return d.WithTx(ctx, func(tx *Tx) error { return fn(tx) })
}
