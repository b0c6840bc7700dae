package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// Orgs is what the catalog needs to know about organizations.
type Orgs interface {
	GetOrg(ctx context.Context, creditCode string) (org.Org, error)
	Platform(ctx context.Context) (org.Org, error)
}

// Deps are what the catalog service is built from; every field is
// required. Now is injected so that review times are testable.
type Deps struct {
	Store Reader
	Tx    TxFunc
	Orgs  Orgs
	Now   func() time.Time
}

// Service is the license catalog: types, their versions and the review of
// each version by the platform operator (R-CAT-1..4).
//
// Who does what (deny by default). The actor nil is the operator on the
// platform host (the zhengzhao command), who acts as the platform
// operator. A platform admin of the platform organization defines any
// type, proposes versions of any type and reviews them. An issuer defines
// a type that only its own organization issues, and proposes versions of
// the types its organization defined; its types are of no use until a
// platform admin approves a version, so every new type and every change is
// reviewed before it is used (R-CAT-3). Nobody reviews a version they
// wrote.
type Service struct {
	store Reader
	tx    TxFunc
	orgs  Orgs
	now   func() time.Time
}

// New returns the catalog service.
func New(d Deps) *Service {
	// Stored times have microsecond precision; answering with more would
	// make a version differ from itself read back.
	return &Service{store: d.Store, tx: d.Tx, orgs: d.Orgs,
		now: func() time.Time { return d.Now().UTC().Truncate(time.Microsecond) }}
}

// actorID is who the audit log and a version's events name for actor.
func actorID(actor *authz.Actor) string {
	if actor == nil {
		return auditlog.Operator
	}
	return actor.AccountID
}

// operator reports whether actor acts as the platform operator: the
// operator on the platform host, or a platform admin of the platform
// organization.
func (s *Service) operator(ctx context.Context, actor *authz.Actor) (platform string, ok bool, err error) {
	p, err := s.orgs.Platform(ctx)
	if err != nil {
		return "", false, fmt.Errorf("the platform organization: %w", err)
	}
	if actor == nil {
		return p.CreditCode, true, nil
	}
	return p.CreditCode, actor.Org == p.CreditCode && slices.Contains(actor.Roles, authz.PlatformAdmin), nil
}

// DefineType adds a license type to the catalog. It has no usable version
// until one is proposed and approved.
func (s *Service) DefineType(ctx context.Context, actor *authz.Actor, t Type) (Entry, error) {
	t.Code = strings.ToUpper(strings.TrimSpace(t.Code))
	for i, c := range t.Issuers {
		t.Issuers[i] = ids.NormalizeCreditCode(c)
	}
	if err := t.Validate(); err != nil {
		return Entry{}, err
	}
	platform, isOperator, err := s.operator(ctx, actor)
	if err != nil {
		return Entry{}, err
	}
	owner := platform
	if !isOperator {
		if actor == nil || !slices.Contains(actor.Roles, authz.Issuer) || t.AnyIssuer || !slices.Equal(t.Issuers, []string{actor.Org}) {
			return Entry{}, &apperr.Error{Kind: apperr.Forbidden, Detail: "an issuer defines only a type that its own organization alone issues",
				Fields: []apperr.FieldError{{Field: "issuers", Rule: "own-org", Detail: "name your own organization as the only issuer"}}}
		}
		owner = actor.Org
	}
	if err := s.checkIssuers(ctx, t.Issuers); err != nil {
		return Entry{}, err
	}
	e := Entry{Type: t, Owner: owner, CreatedBy: actorID(actor), CreatedAt: s.now()}
	err = s.tx(ctx, func(st Tx) error {
		if err := st.InsertType(ctx, e); err != nil {
			if errors.Is(err, apperr.Conflict) {
				return &apperr.Error{Kind: apperr.Conflict, Detail: fmt.Sprintf("license type %s exists already", t.Code),
					Fields: []apperr.FieldError{{Field: "code", Rule: "unique", Detail: "a type has this code already"}}}
			}
			return err
		}
		details := map[string]string{"owner": owner, "level": string(t.Level)}
		if t.AnyIssuer {
			details["any_issuer"] = "true"
		} else {
			details["issuers"] = strings.Join(t.Issuers, ",")
		}
		return auditlog.Append(ctx, st, auditlog.Entry{At: e.CreatedAt, Actor: e.CreatedBy, Org: owner, Action: "catalog.type-created", Subject: t.Code, Details: details})
	})
	if err != nil {
		return Entry{}, err
	}
	return e, nil
}

// checkIssuers refuses issuers that are not organizations of kind issuer.
func (s *Service) checkIssuers(ctx context.Context, issuers []string) error {
	var fs apperr.Fields
	for i, c := range issuers {
		o, err := s.orgs.GetOrg(ctx, c)
		switch {
		case errors.Is(err, apperr.NotFound):
			fs.Add(fmt.Sprintf("issuers[%d]", i), "exists", "no such organization")
		case err != nil:
			return err
		case !slices.Contains(o.Kinds, org.KindIssuer):
			fs.Add(fmt.Sprintf("issuers[%d]", i), "issuer-kind", "the organization is not an issuer")
		}
	}
	return fs.Err()
}

// ProposeVersion writes the next version of a type's template and sends
// it to the platform operator for review (draft → pending). It is not used
// for issuance before it is approved.
func (s *Service) ProposeVersion(ctx context.Context, actor *authz.Actor, typeCode string, t Template) (Version, error) {
	if err := t.Validate(); err != nil {
		return Version{}, err
	}
	e, err := s.GetType(ctx, typeCode)
	if err != nil {
		return Version{}, err
	}
	if err := s.mayPropose(ctx, actor, e); err != nil {
		return Version{}, err
	}
	if err := t.CheckHolderKind(e.HolderKind); err != nil {
		return Version{}, err
	}
	var out Version
	err = s.tx(ctx, func(st Tx) error {
		last, err := st.LastVersion(ctx, e.Code)
		if err != nil {
			return err
		}
		v, err := NewVersion(e.Code, last+1, t, actorID(actor))
		if err != nil {
			return err
		}
		if v, err = v.Apply(Submit, v.Author, s.now(), ""); err != nil {
			return err
		}
		if err := st.InsertVersion(ctx, v); err != nil {
			return err
		}
		out = v
		return auditlog.Append(ctx, st, auditlog.Entry{At: v.Events[0].At, Actor: v.Author, Org: e.Owner, Action: "catalog.version-proposed",
			Subject: e.Code, Details: map[string]string{"version": strconv.Itoa(v.Number), "fields": strconv.Itoa(len(t.Fields))}})
	})
	if err != nil {
		return Version{}, err
	}
	return out, nil
}

// mayPropose lets the platform operator propose versions of every type,
// and an issuer those of the types its organization defined.
func (s *Service) mayPropose(ctx context.Context, actor *authz.Actor, e Entry) error {
	_, isOperator, err := s.operator(ctx, actor)
	if err != nil || isOperator {
		return err
	}
	if actor != nil && slices.Contains(actor.Roles, authz.Issuer) && actor.Org == e.Owner {
		return nil
	}
	return &apperr.Error{Kind: apperr.Forbidden, Detail: fmt.Sprintf("license type %s belongs to another organization", e.Code),
		Fields: []apperr.FieldError{{Field: "type", Rule: "own-org", Detail: "only the organization that defined the type proposes its versions"}}}
}

// Approve approves a pending version: licenses may be issued under it from
// now on.
func (s *Service) Approve(ctx context.Context, actor *authz.Actor, typeCode string, number int, reason string) (Version, error) {
	return s.decide(ctx, actor, typeCode, number, Approve, reason)
}

// Reject refuses a pending version, with a reason; a corrected template is
// a new version.
func (s *Service) Reject(ctx context.Context, actor *authz.Actor, typeCode string, number int, reason string) (Version, error) {
	return s.decide(ctx, actor, typeCode, number, Reject, reason)
}

// decide reviews a version. The version's state is re-read in the
// transaction that changes it, so that of simultaneous reviews exactly one
// succeeds and the others answer Conflict.
func (s *Service) decide(ctx context.Context, actor *authz.Actor, typeCode string, number int, a Action, reason string) (Version, error) {
	if _, isOperator, err := s.operator(ctx, actor); err != nil {
		return Version{}, err
	} else if !isOperator {
		return Version{}, apperr.New(apperr.Forbidden, "only a platform admin of the platform organization reviews catalog versions")
	}
	e, err := s.GetType(ctx, typeCode)
	if err != nil {
		return Version{}, err
	}
	var out Version
	err = s.tx(ctx, func(st Tx) error {
		v, err := versionOf(ctx, st, e.Code, number)
		if err != nil {
			return err
		}
		next, err := v.Apply(a, actorID(actor), s.now(), strings.TrimSpace(reason))
		if err != nil {
			return err
		}
		if err := st.UpdateVersion(ctx, next, v.State); err != nil {
			return err
		}
		out = next
		details := map[string]string{"version": strconv.Itoa(v.Number), "author": v.Author}
		if r := strings.TrimSpace(reason); r != "" {
			details["reason"] = r
		}
		return auditlog.Append(ctx, st, auditlog.Entry{At: next.Events[len(next.Events)-1].At, Actor: actorID(actor), Org: e.Owner,
			Action: "catalog.version-" + string(next.State), Subject: e.Code, Details: details})
	})
	if err != nil {
		return Version{}, err
	}
	return out, nil
}

// GetType returns a type of the catalog.
func (s *Service) GetType(ctx context.Context, code string) (Entry, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	e, err := s.store.GetType(ctx, code)
	if errors.Is(err, apperr.NotFound) {
		return Entry{}, notFound("type", fmt.Sprintf("no license type has code %s", code))
	}
	return e, err
}

// ListTypes returns one page of the catalog's types.
func (s *Service) ListTypes(ctx context.Context, f TypeFilter, cursor string) (page.Page[Entry], error) {
	return page.Fetch(f.Limit, cursor, func(limit int, after string) ([]Entry, error) {
		f.Limit, f.After = limit, after
		return s.store.ListTypes(ctx, f)
	}, func(e Entry) string { return e.Code })
}

// GetVersion returns a version of a type, whatever its state.
func (s *Service) GetVersion(ctx context.Context, typeCode string, number int) (Version, error) {
	e, err := s.GetType(ctx, typeCode)
	if err != nil {
		return Version{}, err
	}
	return versionOf(ctx, s.store, e.Code, number)
}

// versionOf reads a version through st; NotFound names the field.
func versionOf(ctx context.Context, st Reader, typeCode string, number int) (Version, error) {
	v, err := st.GetVersion(ctx, typeCode, number)
	if errors.Is(err, apperr.NotFound) {
		return Version{}, notFound("version", fmt.Sprintf("license type %s has no version %d", typeCode, number))
	}
	return v, err
}

// ListVersions returns one page of a type's versions, oldest first.
func (s *Service) ListVersions(ctx context.Context, f VersionFilter, cursor string) (page.Page[Version], error) {
	e, err := s.GetType(ctx, f.TypeCode)
	if err != nil {
		return page.Page[Version]{}, err
	}
	return page.Fetch(f.Limit, cursor, func(limit int, after string) ([]Version, error) {
		f.TypeCode, f.Limit, f.After = e.Code, limit, 0
		if after != "" {
			n, err := strconv.Atoi(after)
			if err != nil || n < 0 {
				return nil, &apperr.Error{Kind: apperr.Invalid, Detail: "not a cursor this API returned",
					Fields: []apperr.FieldError{{Field: "cursor", Rule: "cursor", Detail: "not a cursor this API returned"}}}
			}
			f.After = n
		}
		return s.store.ListVersions(ctx, f)
	}, func(v Version) string { return strconv.Itoa(v.Number) })
}

// Usable returns the version licenses of the type are to be issued under:
// it must exist and be approved (Conflict, rule "approved", otherwise).
func (s *Service) Usable(ctx context.Context, typeCode string, number int) (Version, error) {
	v, err := s.GetVersion(ctx, typeCode, number)
	if err != nil {
		return Version{}, err
	}
	if err := v.Usable(); err != nil {
		return Version{}, err
	}
	return v, nil
}

// Latest returns the newest approved version of a type: what a new
// license of the type is issued under. A type without one answers
// Conflict (rule "approved" on "version").
func (s *Service) Latest(ctx context.Context, typeCode string) (Version, error) {
	e, err := s.GetType(ctx, typeCode)
	if err != nil {
		return Version{}, err
	}
	v, err := s.store.LatestApproved(ctx, e.Code)
	if errors.Is(err, apperr.NotFound) {
		return Version{}, &apperr.Error{Kind: apperr.Conflict, Detail: fmt.Sprintf("license type %s has no approved version", e.Code),
			Fields: []apperr.FieldError{{Field: "version", Rule: "approved", Detail: "no version is approved yet"}}}
	}
	return v, err
}

// notFound is a NotFound error naming field under the rule "exists".
func notFound(field, detail string) error {
	return &apperr.Error{Kind: apperr.NotFound, Detail: detail,
		Fields: []apperr.FieldError{{Field: field, Rule: "exists", Detail: detail}}}
}
