package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// Type grants of using units (migration 0026); distinct from the holders'
// grants of one license in grants.go.

const typeGrantColumns = `id, org, type_code, valid_until, state, granted_by, granted_at, closed_by, closed_at, reason`

func scanTypeGrant(s scanner) (use.TypeGrant, error) {
	var g use.TypeGrant
	var state string
	var until, granted, closed int64
	if err := s.Scan(&g.ID, &g.Org, &g.TypeCode, &until, &state, &g.GrantedBy, &granted, &g.ClosedBy, &closed, &g.Reason); err != nil {
		return use.TypeGrant{}, mapErr(err)
	}
	g.State, g.GrantedAt = use.GrantState(state), fromMicros(granted)
	if until != 0 {
		g.ValidUntil = fromMicros(until)
	}
	if closed != 0 {
		g.ClosedAt = fromMicros(closed)
	}
	return g, nil
}

// microsOrZero is t in microseconds, 0 for the zero time.
func microsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

// InsertTypeGrant implements use.Tx.
func (tx *Tx) InsertTypeGrant(ctx context.Context, g use.TypeGrant) error {
	_, err := tx.exec(ctx, `INSERT INTO use_type_grants (`+typeGrantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.Org, g.TypeCode, microsOrZero(g.ValidUntil), string(g.State), g.GrantedBy, micros(g.GrantedAt), g.ClosedBy,
		microsOrZero(g.ClosedAt), g.Reason)
	if err != nil {
		return fmt.Errorf("insert type grant %s: %w", g.ID, err)
	}
	return nil
}

// CloseTypeGrant implements use.Tx.
func (tx *Tx) CloseTypeGrant(ctx context.Context, g use.TypeGrant) error {
	res, err := tx.exec(ctx, `UPDATE use_type_grants SET state = ?, closed_by = ?, closed_at = ?, reason = ? WHERE id = ? AND state = 'active'`,
		string(g.State), g.ClosedBy, microsOrZero(g.ClosedAt), g.Reason, g.ID)
	if err != nil {
		return fmt.Errorf("close type grant %s: %w", g.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return apperr.New(apperr.Conflict, "type grant %s changed meanwhile", g.ID)
	}
	return nil
}

// GetTypeGrant implements use.Reader.
func (h handle) GetTypeGrant(ctx context.Context, id string) (use.TypeGrant, error) {
	g, err := scanTypeGrant(h.queryRow(ctx, `SELECT `+typeGrantColumns+` FROM use_type_grants WHERE id = ?`, id))
	if err != nil {
		return use.TypeGrant{}, fmt.Errorf("type grant %s: %w", id, err)
	}
	return g, nil
}

// ActiveTypeGrant implements use.Reader; the index use_type_grants_active
// serves it.
func (h handle) ActiveTypeGrant(ctx context.Context, org, typeCode string) (use.TypeGrant, error) {
	g, err := scanTypeGrant(h.queryRow(ctx, `SELECT `+typeGrantColumns+` FROM use_type_grants WHERE org = ? AND type_code = ? AND state = 'active'`,
		org, typeCode))
	if err != nil {
		return use.TypeGrant{}, fmt.Errorf("active type grant of %s to %s: %w", typeCode, org, err)
	}
	return g, nil
}

// ListTypeGrants implements use.Reader.
func (h handle) ListTypeGrants(ctx context.Context, f use.GrantFilter) ([]use.TypeGrant, error) {
	where, args := []string{`id > ?`}, []any{f.After}
	for _, c := range []struct{ col, val string }{{"org", f.Org}, {"type_code", f.TypeCode}} {
		if c.val != "" {
			where, args = append(where, c.col+` = ?`), append(args, c.val)
		}
	}
	now := micros(f.Now)
	switch f.State {
	case use.GrantActive:
		where, args = append(where, `state = 'active' AND (valid_until = 0 OR valid_until > ?)`), append(args, now)
	case use.GrantExpired:
		where, args = append(where, `(state = 'expired' OR (state = 'active' AND valid_until <> 0 AND valid_until <= ?))`), append(args, now)
	case use.GrantWithdrawn:
		where = append(where, `state = 'withdrawn'`)
	}
	rows, err := h.query(ctx, `SELECT `+typeGrantColumns+` FROM use_type_grants WHERE `+strings.Join(where, ` AND `)+` ORDER BY id LIMIT ?`,
		append(args, f.Limit)...)
	out, err := collect(rows, err, scanTypeGrant)
	if err != nil {
		return nil, fmt.Errorf("list type grants: %w", err)
	}
	return out, nil
}
