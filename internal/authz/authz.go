// Package authz decides who may do what. Access is denied unless a policy
// grants it: every API operation declares a Policy naming the roles that may
// call it and whether a role is limited to the caller's own organization
// (R-SEC-3). Later grants (per matter, per license type) join here.
package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// Role is a staff role. An account holds one or more; a token carries a subset.
type Role string

// The staff roles.
const (
	PlatformAdmin Role = "platform-admin" // runs the platform, every organization
	OrgAdmin      Role = "org-admin"      // administers one organization's accounts
	Issuer        Role = "issuer"         // issues and maintains licenses
	SealKeeper    Role = "seal-keeper"    // keeps and uses electronic seals
	SealApprover  Role = "seal-approver"  // approves seal applications and uses
	UsingUnit     Role = "using-unit"     // uses licenses for listed matters
	Auditor       Role = "auditor"        // reads logs and records, changes nothing
)

// Roles lists every role, in a stable order.
func Roles() []Role {
	return []Role{PlatformAdmin, OrgAdmin, Issuer, SealKeeper, SealApprover, UsingUnit, Auditor}
}

// ParseRole checks that s names a role.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if slices.Contains(Roles(), r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (known: %s)", s, JoinRoles(Roles()))
}

// JoinRoles renders roles as a comma-separated list.
func JoinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// SplitRoles parses a comma-separated list of roles.
func SplitRoles(s string) ([]Role, error) {
	var rs []Role
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		r, err := ParseRole(p)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	return rs, nil
}

// Actor is an authenticated caller.
type Actor struct {
	AccountID   string
	AccountName string
	TokenID     string
	Org         string // credit code of the account's organization
	Roles       []Role
	// Holder is set, and the staff fields above are empty, when the caller
	// is a holder signed in through a holder session: holder sessions never
	// satisfy a staff grant, and staff tokens never a holder policy.
	Holder *Holder
}

// Holder is a holder (持证主体) acting through a holder session.
type Holder struct {
	ID    string // the platform's identifier of the holder, hol_…
	Kind  string // person or organization, as licenses name holder kinds
	Index string // the blind index of the holder's identifier, as licenses keep it
	Name  string
	// SessionID is the holder session the request came with.
	SessionID string
	// Representative names the person acting for an organization; empty for a
	// person acting for itself.
	Representative string
}

// Scope is how far a grant reaches.
type Scope int

// Scopes, from none to widest.
const (
	None   Scope = iota // no grant
	OwnOrg              // only the caller's own organization
	AnyOrg              // every organization
)

func (s Scope) String() string {
	switch s {
	case OwnOrg:
		return "own-org"
	case AnyOrg:
		return "any-org"
	}
	return "none"
}

// Grant lets a role call an operation within a scope.
type Grant struct {
	Role  Role
	Scope Scope
}

// Policy is the declaration every operation carries. The zero Policy grants
// nothing.
type Policy struct {
	Grants []Grant
	// OrgParam names the path parameter holding the credit code of the
	// organization the operation is about; own-org grants are checked
	// against it before the operation runs. Empty: the operation checks
	// ownership itself (Scope tells it how far the caller reaches).
	OrgParam string
	// Public lets anyone call the operation, with or without a token: what
	// the platform publishes for relying parties who hold no account
	// (status lists). It is declared like any other policy, so that the
	// route table still says who may call every operation.
	Public bool
	// Holder lets a signed-in holder call the operation, about its own
	// licenses only (the operation checks whose they are); no staff role
	// reaches it.
	Holder bool
}

// Holders is the policy of an operation a holder calls about itself.
func Holders() Policy { return Policy{Holder: true} }

// Public is the policy of an operation anyone may call without a token.
func Public() Policy { return Policy{Public: true} }

// Any grants roles access to every organization.
func Any(roles ...Role) []Grant { return grants(AnyOrg, roles) }

// Own grants roles access to their own organization only.
func Own(roles ...Role) []Grant { return grants(OwnOrg, roles) }

func grants(s Scope, roles []Role) []Grant {
	g := make([]Grant, len(roles))
	for i, r := range roles {
		g[i] = Grant{Role: r, Scope: s}
	}
	return g
}

// Allow builds a policy from grants.
func Allow(gs ...[]Grant) Policy {
	var p Policy
	for _, g := range gs {
		p.Grants = append(p.Grants, g...)
	}
	return p
}

// About names the path parameter that identifies the target organization.
func (p Policy) About(param string) Policy {
	p.OrgParam = param
	return p
}

// Scope returns the widest scope any of the actor's roles is granted.
func (p Policy) Scope(a *Actor) Scope {
	best := None
	if a == nil || a.Holder != nil {
		return best
	}
	for _, g := range p.Grants {
		if slices.Contains(a.Roles, g.Role) && g.Scope > best {
			best = g.Scope
		}
	}
	return best
}

// Decide allows or denies an actor acting on the organization targetOrg
// ("" when the operation is not about one organization). It returns an
// Unauthenticated error for a nil actor and Forbidden when no grant fits.
// A public policy allows everyone.
func (p Policy) Decide(a *Actor, targetOrg string) error {
	if p.Public {
		return nil
	}
	if a == nil {
		return apperr.New(apperr.Unauthenticated, "a bearer token is required")
	}
	switch {
	case p.Holder && a.Holder == nil:
		return apperr.New(apperr.Forbidden, "only a holder signed in with a holder session may do this")
	case p.Holder:
		return nil
	case a.Holder != nil:
		return apperr.New(apperr.Forbidden, "a holder session does not reach staff operations")
	}
	switch p.Scope(a) {
	case AnyOrg:
		return nil
	case OwnOrg:
		if targetOrg == "" || targetOrg == a.Org {
			return nil
		}
		return apperr.New(apperr.Forbidden, "your roles reach only your own organization")
	}
	return apperr.New(apperr.Forbidden, "none of your roles (%s) may do this", JoinRoles(a.Roles))
}

// Roles lists the roles the policy grants anything to.
func (p Policy) Roles() []Role {
	var rs []Role
	for _, g := range p.Grants {
		if !slices.Contains(rs, g.Role) {
			rs = append(rs, g.Role)
		}
	}
	return rs
}

type actorKey struct{}

// WithActor returns ctx carrying the authenticated actor.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or nil when the caller is anonymous.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}
