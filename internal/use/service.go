package use

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/org"
)

// Orgs is what the service needs to know about organizations.
type Orgs interface {
	GetOrg(ctx context.Context, creditCode string) (org.Org, error)
	Platform(ctx context.Context) (org.Org, error)
}

// Catalog is what the service needs of the license catalog: a matter names
// types and fields of their approved templates, a grant a type.
type Catalog interface {
	GetType(ctx context.Context, code string) (catalog.Entry, error)
	Latest(ctx context.Context, typeCode string) (catalog.Version, error)
	// GetVersion reads the template a license was issued under.
	GetVersion(ctx context.Context, typeCode string, number int) (catalog.Version, error)
}

// Deps are what the service is built from; every field is required but
// Rand (crypto/rand when nil) and Rate and Burst (DefaultRate and
// DefaultBurst when Rate is 0).
type Deps struct {
	Store   Reader
	Tx      TxFunc
	Query   QueryTxFunc
	Cases   CaseTxFunc
	Orgs    Orgs
	Catalog Catalog
	Now     func() time.Time
	Rand    io.Reader
	// Rate and Burst are each unit's token bucket of uses, per process.
	Rate  float64
	Burst int
}

// Service keeps the using units' matters and the operator's type grants.
//
// Who does what (deny by default). The actor nil is the operator on the
// platform host (the zhengzhao command), who acts as the platform
// operator. A using unit's staff (role using-unit, of an organization of
// kind using-unit) write and read their own unit's matters and read their
// unit's grants. A platform admin of the platform organization reviews
// matters, grants and withdraws types, and reads everything; so does an
// auditor, who changes nothing. Nobody reviews a version they wrote.
type Service struct {
	store   Reader
	tx      TxFunc
	query   QueryTxFunc
	cases   CaseTxFunc
	orgs    Orgs
	catalog Catalog
	now     func() time.Time
	rand    io.Reader
	limits  *limits
	// templates keeps the catalog's immutable part a use reads.
	templates *templates
}

// New returns the service.
func New(d Deps) *Service {
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	// Stored times have microsecond precision; answering with more would
	// make a version differ from itself read back.
	return &Service{store: d.Store, tx: d.Tx, query: d.Query, cases: d.Cases, orgs: d.Orgs, catalog: d.Catalog, rand: d.Rand,
		limits: newLimits(d.Rate, d.Burst), templates: newTemplates(d.Catalog),
		now: func() time.Time { return d.Now().UTC().Truncate(time.Microsecond) }}
}

// actorID is who the audit log and a version name for actor.
func actorID(actor *authz.Actor) string {
	if actor == nil {
		return auditlog.Operator
	}
	return actor.AccountID
}

// operator reports whether actor acts as the platform operator: the
// operator on the platform host, or a platform admin of the platform
// organization.
func (s *Service) operator(ctx context.Context, actor *authz.Actor) (bool, error) {
	if actor == nil {
		return true, nil
	}
	return s.ofPlatform(ctx, actor, authz.PlatformAdmin)
}

// ofPlatform reports whether actor holds role in the platform organization.
func (s *Service) ofPlatform(ctx context.Context, actor *authz.Actor, role authz.Role) (bool, error) {
	if !slices.Contains(actor.Roles, role) {
		return false, nil
	}
	p, err := s.orgs.Platform(ctx)
	if err != nil {
		return false, fmt.Errorf("the platform organization: %w", err)
	}
	return actor.Org == p.CreditCode, nil
}

// mustOperate refuses every actor but the platform operator.
func (s *Service) mustOperate(ctx context.Context, actor *authz.Actor, what string) error {
	ok, err := s.operator(ctx, actor)
	if err != nil || ok {
		return err
	}
	return apperr.New(apperr.Forbidden, "only a platform admin of the platform organization %s", what)
}

// readsAll reports whether actor reads every unit's matters and grants:
// the platform operator and auditors of the platform organization.
func (s *Service) readsAll(ctx context.Context, actor *authz.Actor) (bool, error) {
	if ok, err := s.operator(ctx, actor); err != nil || ok {
		return ok, err
	}
	return s.ofPlatform(ctx, actor, authz.Auditor)
}

// unitStaff reports whether actor is staff of the using unit unit.
func unitStaff(actor *authz.Actor, unit string) bool {
	return actor != nil && actor.Holder == nil && actor.Org == unit && slices.Contains(actor.Roles, authz.UsingUnit)
}

// scope returns the unit whose records actor reads: "" for every unit
// (the operator and auditors), the actor's own unit for its staff. Anyone
// else is refused.
func (s *Service) scope(ctx context.Context, actor *authz.Actor) (string, error) {
	all, err := s.readsAll(ctx, actor)
	switch {
	case err != nil:
		return "", err
	case all:
		return "", nil
	case unitStaff(actor, actor.Org):
		return actor.Org, nil
	}
	return "", apperr.New(apperr.Forbidden, "only a using unit's staff, platform admins and auditors read matters and type grants")
}

// listScope returns the unit a list the actor asks for is limited to:
// asked, the unit the actor asked for, which its staff may only ask for
// their own; "" for every unit.
func (s *Service) listScope(ctx context.Context, actor *authz.Actor, asked string) (string, error) {
	own, err := s.scope(ctx, actor)
	switch {
	case err != nil:
		return "", err
	case own == "":
		return asked, nil
	case asked != "" && asked != own:
		return "", fieldErr(apperr.Forbidden, "org", "own-org", "a using unit reads only its own matters and grants")
	}
	return own, nil
}

// usingUnit checks that code names an active organization of kind
// using-unit, reporting the problem under field.
func (s *Service) usingUnit(ctx context.Context, field, code string) error {
	if err := ids.ValidateCreditCode(code); err != nil {
		var ie *ids.Error
		rule := "format"
		if errors.As(err, &ie) {
			rule = ie.Rule
		}
		return fieldErr(apperr.Invalid, field, rule, err.Error())
	}
	o, err := s.orgs.GetOrg(ctx, code)
	switch {
	case errors.Is(err, apperr.NotFound):
		return fieldErr(apperr.Invalid, field, "exists", fmt.Sprintf("no organization has credit code %s", code))
	case err != nil:
		return err
	case o.Status != org.Active:
		return fieldErr(apperr.Invalid, field, "active-org", fmt.Sprintf("%s is no active organization", code))
	case !o.HasKind(org.KindUsingUnit):
		return fieldErr(apperr.Invalid, field, "using-unit-kind", fmt.Sprintf("%s is not a using unit", code))
	}
	return nil
}

// newID returns a fresh identifier with prefix that sorts by creation time.
func (s *Service) newID(prefix string, now time.Time) (string, error) {
	b := make([]byte, 12)
	binary.BigEndian.PutUint64(b, uint64(now.UnixMicro()))
	if _, err := io.ReadFull(s.rand, b[8:]); err != nil {
		return "", fmt.Errorf("identifier randomness: %w", err)
	}
	return prefix + "_" + hex.EncodeToString(b), nil
}

// fieldErr is an error of kind k naming field under rule.
func fieldErr(k apperr.Kind, field, rule, detail string) error {
	return &apperr.Error{Kind: k, Detail: detail, Fields: []apperr.FieldError{{Field: field, Rule: rule, Detail: detail}}}
}
