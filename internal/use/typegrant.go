package use

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// NewTypeGrant is a grant the operator makes.
type NewTypeGrant struct {
	Org        string
	TypeCode   string
	ValidUntil time.Time // zero: until withdrawn
	Reason     string    // optional: why, e.g. the agreement it rests on
}

// GrantType lets a using unit use licenses of a type (一证一接口, R-USE-3),
// until ValidUntil or until withdrawn. A unit holds at most one grant of
// a type in force: a second is a Conflict (rule "unique" on "type"); an
// active grant whose end has passed is closed as expired by the new one,
// in the same transaction, so its record stays.
func (s *Service) GrantType(ctx context.Context, actor *authz.Actor, n NewTypeGrant) (TypeGrant, error) {
	if err := s.mustOperate(ctx, actor, "grants license types to using units"); err != nil {
		return TypeGrant{}, err
	}
	now := s.now()
	n.Org, n.TypeCode, n.Reason = ids.NormalizeCreditCode(n.Org), strings.ToUpper(strings.TrimSpace(n.TypeCode)), strings.TrimSpace(n.Reason)
	var fs apperr.Fields
	if n.TypeCode == "" {
		fs.Add("type", "required", "name the license type")
	}
	if !n.ValidUntil.IsZero() && !n.ValidUntil.After(now) {
		fs.Add("valid_until", "future", "a grant ends in the future")
	}
	fs.Name("reason", n.Reason, maxReason, false)
	if err := fs.Err(); err != nil {
		return TypeGrant{}, err
	}
	if err := s.usingUnit(ctx, "org", n.Org); err != nil {
		return TypeGrant{}, err
	}
	if _, err := s.catalog.GetType(ctx, n.TypeCode); errors.Is(err, apperr.NotFound) {
		return TypeGrant{}, fieldErr(apperr.Invalid, "type", "exists", fmt.Sprintf("no license type has code %s", n.TypeCode))
	} else if err != nil {
		return TypeGrant{}, err
	}
	id, err := s.newID("utg", now)
	if err != nil {
		return TypeGrant{}, err
	}
	g := TypeGrant{ID: id, Org: n.Org, TypeCode: n.TypeCode, State: GrantActive, GrantedBy: actorID(actor), GrantedAt: now, Reason: n.Reason}
	if !n.ValidUntil.IsZero() {
		g.ValidUntil = n.ValidUntil.UTC().Truncate(time.Microsecond)
	}
	err = s.tx(ctx, func(st Tx) error {
		old, err := st.ActiveTypeGrant(ctx, n.Org, n.TypeCode)
		switch {
		case errors.Is(err, apperr.NotFound):
		case err != nil:
			return err
		case old.InForce(now):
			return fieldErr(apperr.Conflict, "type", "unique", fmt.Sprintf("%s holds grant %s of type %s already; withdraw it first", n.Org, old.ID, n.TypeCode))
		default:
			old.State, old.ClosedBy, old.ClosedAt, old.Reason = GrantExpired, g.GrantedBy, now, "replaced by "+g.ID
			if err := st.CloseTypeGrant(ctx, old); err != nil {
				return err
			}
		}
		if err := st.InsertTypeGrant(ctx, g); err != nil {
			if errors.Is(err, apperr.Conflict) {
				return fieldErr(apperr.Conflict, "type", "unique", fmt.Sprintf("%s holds a grant of type %s already", n.Org, n.TypeCode))
			}
			return err
		}
		details := map[string]string{"type": g.TypeCode}
		if !g.ValidUntil.IsZero() {
			details["valid_until"] = g.ValidUntil.Format(time.RFC3339)
		}
		if g.Reason != "" {
			details["reason"] = g.Reason
		}
		return auditlog.Append(ctx, st, auditlog.Entry{At: now, Actor: g.GrantedBy, Org: g.Org, Action: "use.type-granted", Subject: g.ID, Details: details})
	})
	if err != nil {
		return TypeGrant{}, err
	}
	return g, nil
}

// WithdrawTypeGrant ends a grant at once, with a reason. The grant is
// re-read in the transaction that closes it: a grant withdrawn already is
// a Conflict (rule "transition" on "state"), so of simultaneous
// withdrawals exactly one succeeds.
func (s *Service) WithdrawTypeGrant(ctx context.Context, actor *authz.Actor, id, reason string) (TypeGrant, error) {
	if err := s.mustOperate(ctx, actor, "withdraws type grants"); err != nil {
		return TypeGrant{}, err
	}
	id, reason = strings.TrimSpace(id), strings.TrimSpace(reason)
	var fs apperr.Fields
	if reason == "" {
		fs.Add("reason", "required", "a withdrawal says why")
	} else {
		fs.Name("reason", reason, maxReason, false)
	}
	if err := fs.Err(); err != nil {
		return TypeGrant{}, err
	}
	now := s.now()
	var out TypeGrant
	err := s.tx(ctx, func(st Tx) error {
		g, err := grantOf(ctx, st, id)
		if err != nil {
			return err
		}
		if g.State != GrantActive {
			return fieldErr(apperr.Conflict, "state", "transition", fmt.Sprintf("grant %s is %s already", g.ID, g.State))
		}
		g.State, g.ClosedBy, g.ClosedAt, g.Reason = GrantWithdrawn, actorID(actor), now, reason
		if err := st.CloseTypeGrant(ctx, g); err != nil {
			return err
		}
		out = g
		return auditlog.Append(ctx, st, auditlog.Entry{At: now, Actor: g.ClosedBy, Org: g.Org, Action: "use.type-grant-withdrawn", Subject: g.ID,
			Details: map[string]string{"type": g.TypeCode, "reason": reason}})
	})
	if err != nil {
		return TypeGrant{}, err
	}
	return out, nil
}

// GetTypeGrant returns a grant the actor reads. Another unit's grant is
// NotFound to a unit's staff, as one that does not exist.
func (s *Service) GetTypeGrant(ctx context.Context, actor *authz.Actor, id string) (TypeGrant, error) {
	own, err := s.scope(ctx, actor)
	if err != nil {
		return TypeGrant{}, err
	}
	g, err := grantOf(ctx, s.store, strings.TrimSpace(id))
	if err == nil && own != "" && g.Org != own {
		return TypeGrant{}, fieldErr(apperr.NotFound, "id", "exists", fmt.Sprintf("no type grant has id %s", id))
	}
	return g, err
}

// ListTypeGrants returns one page of grants, oldest first: every unit's
// to the operator and auditors, a unit's own to its staff.
func (s *Service) ListTypeGrants(ctx context.Context, actor *authz.Actor, f GrantFilter, cursor string) (page.Page[TypeGrant], error) {
	f.Org, f.TypeCode, f.Now = ids.NormalizeCreditCode(f.Org), strings.ToUpper(strings.TrimSpace(f.TypeCode)), s.now()
	var err error
	if f.Org, err = s.listScope(ctx, actor, f.Org); err != nil {
		return page.Page[TypeGrant]{}, err
	}
	return page.Fetch(f.Limit, cursor, func(limit int, after string) ([]TypeGrant, error) {
		f.Limit, f.After = limit, after
		return s.store.ListTypeGrants(ctx, f)
	}, func(g TypeGrant) string { return g.ID })
}

// Now is the service's clock, for rendering grant states.
func (s *Service) Now() time.Time { return s.now() }

// Granted returns the grant that lets unit use licenses of typeCode at t,
// read through r (the caller's transaction, so that a use and the grant it
// rests on are one decision). No grant in force is Forbidden (rule
// "type-granted" on "type").
func Granted(ctx context.Context, r Reader, unit, typeCode string, t time.Time) (TypeGrant, error) {
	g, err := r.ActiveTypeGrant(ctx, ids.NormalizeCreditCode(unit), strings.ToUpper(strings.TrimSpace(typeCode)))
	if err != nil && !errors.Is(err, apperr.NotFound) {
		return TypeGrant{}, err
	}
	if err != nil || !g.InForce(t) {
		return TypeGrant{}, fieldErr(apperr.Forbidden, "type", "type-granted",
			fmt.Sprintf("%s holds no grant of license type %s in force", unit, typeCode))
	}
	return g, nil
}

// grantOf reads a grant through r; NotFound names the field.
func grantOf(ctx context.Context, r Reader, id string) (TypeGrant, error) {
	g, err := r.GetTypeGrant(ctx, id)
	if errors.Is(err, apperr.NotFound) {
		return TypeGrant{}, fieldErr(apperr.NotFound, "id", "exists", fmt.Sprintf("no type grant has id %s", id))
	}
	return g, err
}
