package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// The holder's grants and reissue requests (migration 0025). Each is read
// with its license's issuer, joined, so that a license transferred to
// another issuer brings its requests along.

const grantColumns = `g.id, g.license_id, l.issuer, g.holder_kind, g.holder_index, g.granted_by, g.org, g.matter, g.fields, g.valid_until,
	g.state, g.created_at, g.withdrawn_at`

const grantFrom = ` FROM license_grants g JOIN licenses l ON l.id = g.license_id`

func scanGrant(s scanner) (license.Grant, error) {
	var g license.Grant
	var kind, fields, state string
	var until, created, withdrawn int64
	err := s.Scan(&g.ID, &g.LicenseID, &g.Issuer, &kind, &g.HolderIndex, &g.GrantedBy, &g.Org, &g.Matter, &fields, &until, &state, &created, &withdrawn)
	if err != nil {
		return license.Grant{}, mapErr(err)
	}
	g.HolderKind, g.State = catalog.HolderKind(kind), license.GrantState(state)
	if fields != "" {
		g.Fields = strings.Split(fields, ",")
	}
	g.ValidUntil, g.CreatedAt = fromMicros(until), fromMicros(created)
	if withdrawn != 0 {
		g.WithdrawnAt = fromMicros(withdrawn)
	}
	return g, nil
}

// GetGrant implements license.Reader.
func (h handle) GetGrant(ctx context.Context, id string) (license.Grant, error) {
	g, err := scanGrant(h.queryRow(ctx, `SELECT `+grantColumns+grantFrom+` WHERE g.id = ?`, id))
	if err != nil {
		return license.Grant{}, fmt.Errorf("grant %s: %w", id, err)
	}
	return g, nil
}

// ListGrants implements license.Reader: the indexes license_grants_holder
// and license_grants_org serve a holder's and a unit's pages.
func (h handle) ListGrants(ctx context.Context, f license.GrantFilter) ([]license.Grant, error) {
	where, args := []string{`g.id > ?`}, []any{f.After}
	for _, c := range []struct{ col, val string }{{"g.holder_kind", string(f.HolderKind)}, {"g.holder_index", f.HolderIndex},
		{"g.org", f.Org}, {"g.license_id", f.LicenseID}} {
		if c.val != "" {
			where, args = append(where, c.col+` = ?`), append(args, c.val)
		}
	}
	switch f.State {
	case license.GrantActive:
		where, args = append(where, `g.state = 'active' AND g.valid_until > ?`), append(args, micros(f.Now))
	case license.GrantExpired:
		where, args = append(where, `g.state = 'active' AND g.valid_until <= ?`), append(args, micros(f.Now))
	case license.GrantWithdrawn:
		where = append(where, `g.state = 'withdrawn'`)
	}
	rows, err := h.query(ctx, `SELECT `+grantColumns+grantFrom+` WHERE `+strings.Join(where, ` AND `)+` ORDER BY g.id LIMIT ?`,
		append(args, f.Limit)...)
	out, err := collect(rows, err, scanGrant)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	return out, nil
}

// ActiveGrant implements license.Reader; the index license_grants_use
// serves it.
func (h handle) ActiveGrant(ctx context.Context, licenseID, unit, matter string, at time.Time) (license.Grant, error) {
	g, err := scanGrant(h.queryRow(ctx, `SELECT `+grantColumns+grantFrom+` WHERE g.license_id = ? AND g.org = ? AND g.matter = ?
		AND g.state = 'active' AND g.valid_until > ? ORDER BY g.id DESC LIMIT 1`, licenseID, unit, matter, micros(at)))
	if err != nil {
		return license.Grant{}, fmt.Errorf("grant of license %s to %s: %w", licenseID, unit, err)
	}
	return g, nil
}

// InsertGrant implements license.Tx.
func (tx *Tx) InsertGrant(ctx context.Context, g license.Grant) error {
	_, err := tx.exec(ctx, `INSERT INTO license_grants (id, license_id, holder_kind, holder_index, granted_by, org, matter, fields, valid_until,
		state, created_at, withdrawn_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`, g.ID, g.LicenseID, string(g.HolderKind), g.HolderIndex,
		g.GrantedBy, g.Org, g.Matter, strings.Join(g.Fields, ","), micros(g.ValidUntil), string(g.State), micros(g.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert grant %s: %w", g.ID, err)
	}
	return nil
}

// WithdrawGrant implements license.Tx.
func (tx *Tx) WithdrawGrant(ctx context.Context, id string, at time.Time) error {
	res, err := tx.exec(ctx, `UPDATE license_grants SET state = 'withdrawn', withdrawn_at = ? WHERE id = ? AND state = 'active'`, micros(at), id)
	if err != nil {
		return fmt.Errorf("withdraw grant %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "grant %s is not active", id)
	}
	return nil
}

const reissueColumns = `r.id, r.license_id, l.issuer, r.requested_by, r.reason, r.state, r.answer, r.closed_by, r.created_at, r.closed_at`

const reissueFrom = ` FROM reissue_requests r JOIN licenses l ON l.id = r.license_id`

func scanReissue(s scanner) (license.ReissueRequest, error) {
	var r license.ReissueRequest
	var state string
	var created, closed int64
	if err := s.Scan(&r.ID, &r.LicenseID, &r.Issuer, &r.RequestedBy, &r.Reason, &state, &r.Answer, &r.ClosedBy, &created, &closed); err != nil {
		return license.ReissueRequest{}, mapErr(err)
	}
	r.State, r.CreatedAt = license.ReissueState(state), fromMicros(created)
	if closed != 0 {
		r.ClosedAt = fromMicros(closed)
	}
	return r, nil
}

// GetReissueRequest implements license.Reader.
func (h handle) GetReissueRequest(ctx context.Context, id string) (license.ReissueRequest, error) {
	r, err := scanReissue(h.queryRow(ctx, `SELECT `+reissueColumns+reissueFrom+` WHERE r.id = ?`, id))
	if err != nil {
		return license.ReissueRequest{}, fmt.Errorf("reissue request %s: %w", id, err)
	}
	return r, nil
}

// OpenReissueRequest implements license.Reader; the unique index
// reissue_requests_open serves it.
func (h handle) OpenReissueRequest(ctx context.Context, licenseID string) (license.ReissueRequest, error) {
	r, err := scanReissue(h.queryRow(ctx, `SELECT `+reissueColumns+reissueFrom+` WHERE r.license_id = ? AND r.state = 'open'`, licenseID))
	if err != nil {
		return license.ReissueRequest{}, fmt.Errorf("open reissue request of license %s: %w", licenseID, err)
	}
	return r, nil
}

// ListReissueRequests implements license.Reader.
func (h handle) ListReissueRequests(ctx context.Context, f license.ReissueFilter) ([]license.ReissueRequest, error) {
	where, args := `r.id > ?`, []any{f.After}
	for _, c := range []struct{ col, val string }{{"l.issuer", f.Issuer}, {"r.license_id", f.LicenseID}, {"r.state", string(f.State)}} {
		if c.val != "" {
			where, args = where+` AND `+c.col+` = ?`, append(args, c.val)
		}
	}
	rows, err := h.query(ctx, `SELECT `+reissueColumns+reissueFrom+` WHERE `+where+` ORDER BY r.id LIMIT ?`, append(args, f.Limit)...)
	out, err := collect(rows, err, scanReissue)
	if err != nil {
		return nil, fmt.Errorf("list reissue requests: %w", err)
	}
	return out, nil
}

// InsertReissueRequest implements license.Tx.
func (tx *Tx) InsertReissueRequest(ctx context.Context, r license.ReissueRequest) error {
	_, err := tx.exec(ctx, `INSERT INTO reissue_requests (id, license_id, requested_by, reason, state, answer, closed_by, created_at, closed_at)
		VALUES (?, ?, ?, ?, ?, '', '', ?, 0)`, r.ID, r.LicenseID, r.RequestedBy, r.Reason, string(r.State), micros(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert reissue request %s: %w", r.ID, err)
	}
	return nil
}

// CloseReissueRequest implements license.Tx.
func (tx *Tx) CloseReissueRequest(ctx context.Context, r license.ReissueRequest) error {
	res, err := tx.exec(ctx, `UPDATE reissue_requests SET state = ?, answer = ?, closed_by = ?, closed_at = ? WHERE id = ? AND state = 'open'`,
		string(r.State), r.Answer, r.ClosedBy, micros(r.ClosedAt), r.ID)
	if err != nil {
		return fmt.Errorf("close reissue request %s: %w", r.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "reissue request %s is not open", r.ID)
	}
	return nil
}

// approvedMatterFrom selects the newest approved version of each matter:
// the index use_matter_versions' primary key (org, code, number) serves
// both the listing and the lookup.
const approvedMatterFrom = ` FROM use_matter_versions v WHERE v.state = 'approved'
	AND v.number = (SELECT MAX(a.number) FROM use_matter_versions a WHERE a.org = v.org AND a.code = v.code AND a.state = 'approved')`

// grantMatter is a matter version as a holder's grant names it.
func grantMatter(v use.MatterVersion) license.Matter {
	m := license.Matter{Org: v.Org, Code: v.Code, Version: v.Number, Name: v.Name, Types: make([]string, 0, len(v.Needs))}
	for _, n := range v.Needs {
		m.Types = append(m.Types, n.TypeCode)
	}
	return m
}

// ApprovedMatter implements license.Reader.
func (h handle) ApprovedMatter(ctx context.Context, unit, code string) (license.Matter, error) {
	v, err := scanMatterVersion(h.queryRow(ctx, `SELECT `+matterVersionColumns+approvedMatterFrom+` AND v.org = ? AND v.code = ?`, unit, code))
	if err != nil {
		return license.Matter{}, fmt.Errorf("approved matter %s of %s: %w", code, unit, err)
	}
	return grantMatter(v), nil
}

// ApprovedMatters implements license.Reader.
func (h handle) ApprovedMatters(ctx context.Context, unit, after string, limit int) ([]license.Matter, error) {
	rows, err := h.query(ctx, `SELECT `+matterVersionColumns+approvedMatterFrom+` AND v.org = ? AND v.code > ? ORDER BY v.code LIMIT ?`,
		unit, after, limit)
	vs, err := collect(rows, err, scanMatterVersion)
	if err != nil {
		return nil, fmt.Errorf("approved matters of %s: %w", unit, err)
	}
	out := make([]license.Matter, len(vs))
	for i, v := range vs {
		out[i] = grantMatter(v)
	}
	return out, nil
}
