package license

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// Holder authorizations (授权用证, R-HOL-3): a holder lets one using unit
// use one of its licenses for one of the unit's approved matters, named by
// its code, until a time no later than the license's end, optionally
// naming the face fields the unit may see unmasked. The grant is the
// holder's consent only; the using-unit side checks it (ActiveGrant)
// before it uses the license.

// GrantState is the state of a grant. Expired is not stored: a grant whose
// ValidUntil has passed is expired.
type GrantState string

// The grant states.
const (
	GrantActive    GrantState = "active"
	GrantWithdrawn GrantState = "withdrawn"
	GrantExpired   GrantState = "expired"
)

// GrantStates are the states a grant is listed in.
func GrantStates() []GrantState { return []GrantState{GrantActive, GrantWithdrawn, GrantExpired} }

// MaxGrantTerm is the longest a grant lasts: a holder grants again rather
// than forever.
const MaxGrantTerm = 366 * 24 * time.Hour

// maxMatterCode bounds a matter's code, as the using units' matter list
// does.
const maxMatterCode = 32

// Matter is a using unit's matter as a holder chooses it for a grant: its
// code, and the name and the license types its newest approved version
// says. Nothing else of the matter is shown to a holder.
type Matter struct {
	Org     string
	Code    string
	Version int
	Name    string
	Types   []string
}

// maxGrantFields bounds the face fields a grant names.
const maxGrantFields = 50

// Grant is a holder's authorization of a using unit.
type Grant struct {
	ID        string
	LicenseID string
	// Issuer is the license's issuing organization, read with the grant.
	Issuer      string
	HolderKind  catalog.HolderKind
	HolderIndex string
	GrantedBy   string // the holder, hol_…
	// Org is the credit code of the using unit.
	Org string
	// Matter is the code of one of the unit's matters. A grant made
	// before matters were named by code may hold free text, which no use
	// matches.
	Matter string
	// Fields are the face fields the unit may see unmasked.
	Fields      []string
	ValidUntil  time.Time
	State       GrantState // active or withdrawn as stored; StateAt tells expiry
	CreatedAt   time.Time
	WithdrawnAt time.Time // zero until withdrawn
}

// StateAt is the state of g at t: an active grant whose ValidUntil is not
// after t is expired.
func (g Grant) StateAt(t time.Time) GrantState {
	if g.State == GrantActive && !g.ValidUntil.After(t) {
		return GrantExpired
	}
	return g.State
}

// NewGrant is what a holder grants.
type NewGrant struct {
	LicenseID  string
	Org        string
	Matter     string
	Fields     []string
	ValidUntil time.Time
}

// GrantFilter selects grants, by ID; zero fields do not filter. State
// expired and active are decided against Now.
type GrantFilter struct {
	HolderKind  catalog.HolderKind
	HolderIndex string
	Org         string
	LicenseID   string
	State       GrantState
	Now         time.Time
	After       string
	Limit       int
}

// checkNewGrant checks what a grant says by itself, at now, and returns it
// normalized.
func checkNewGrant(n NewGrant, now time.Time) (NewGrant, error) {
	var fs apperr.Fields
	n.LicenseID, n.Org = strings.TrimSpace(n.LicenseID), ids.NormalizeCreditCode(n.Org)
	n.Matter = strings.ToUpper(strings.TrimSpace(n.Matter))
	addIDError(&fs, "license_id", ids.ValidateLicenseID(n.LicenseID))
	addIDError(&fs, "org", ids.ValidateCreditCode(n.Org))
	fs.Name("matter", n.Matter, maxMatterCode, true)
	switch {
	case n.ValidUntil.IsZero():
		fs.Add("valid_until", "required", "a grant lasts until a time")
	case !n.ValidUntil.After(now):
		fs.Add("valid_until", "future", "a grant ends in the future")
	case n.ValidUntil.Sub(now) > MaxGrantTerm:
		fs.Add("valid_until", "max-term", fmt.Sprintf("a grant lasts at most %d days", int(MaxGrantTerm/(24*time.Hour))))
	}
	if len(n.Fields) > maxGrantFields {
		fs.Add("fields", "max-items", fmt.Sprintf("at most %d fields", maxGrantFields))
	}
	seen := map[string]bool{}
	for _, k := range n.Fields {
		if seen[k] {
			fs.Add("fields", "unique", fmt.Sprintf("field %q is named twice", k))
		}
		seen[k] = true
	}
	n.ValidUntil = n.ValidUntil.UTC().Truncate(time.Second)
	return n, fs.Err()
}

// addIDError adds err, an identifier's validation error, to fs under
// field, naming the identifier's rule it breaks.
func addIDError(fs *apperr.Fields, field string, err error) {
	var ie *ids.Error
	switch {
	case err == nil:
	case errors.As(err, &ie):
		fs.Add(field, ie.Rule, ie.Error())
	default:
		fs.Add(field, "format", err.Error())
	}
}

// Grant records a holder's authorization of a using unit. Everything is
// read in the transaction that writes the grant and its audit entry
// (license.granted): the license must be the actor's and in force
// (active); the unit an active organization of kind using-unit; the
// matter one of the unit's with an approved version that needs the
// license's type; the grant's end no later than the license's; the fields
// fields of the license's template. Another holder's license, or none, is
// NotFound and the refusal logged.
func (s *Service) Grant(ctx context.Context, actor *authz.Actor, n NewGrant) (Grant, error) {
	h, err := holderOf(actor)
	if err != nil {
		return Grant{}, err
	}
	now := s.now().UTC()
	if n, err = checkNewGrant(n, now); err != nil {
		return Grant{}, err
	}
	id, err := timeID("lgr", now)
	if err != nil {
		return Grant{}, err
	}
	var out Grant
	err = s.tx(ctx, func(st Tx) error {
		l, err := st.GetLicense(ctx, n.LicenseID)
		if err != nil && !errors.Is(err, apperr.NotFound) {
			return err
		}
		if err != nil || !holds(h, l) {
			return apperr.New(apperr.NotFound, "you hold no license of id %s", n.LicenseID)
		}
		// In force: active, and within its validity even before the
		// expiry job has run.
		if l.State != Active || l.ValidUntil != nil && !l.ValidUntil.After(now) || l.ValidFrom.After(now) {
			return fieldErr(apperr.Conflict, "license_id", "in-force", fmt.Sprintf("license %s is %s or outside its validity; only a license in force is granted", l.ID, l.State))
		}
		if err := grantTarget(ctx, st, l, n); err != nil {
			return err
		}
		v, err := s.catalog.GetVersion(ctx, l.TypeCode, l.TypeVersion)
		if err != nil {
			return err
		}
		for _, k := range n.Fields {
			if _, ok := v.Template.Field(k); !ok {
				return fieldErr(apperr.Invalid, "fields", "template-field", fmt.Sprintf("%q is no field of the license's template", k))
			}
		}
		out = Grant{ID: id, LicenseID: l.ID, Issuer: l.Issuer, HolderKind: l.HolderKind, HolderIndex: l.HolderIndex, GrantedBy: h.ID,
			Org: n.Org, Matter: n.Matter, Fields: slices.Clone(n.Fields), ValidUntil: n.ValidUntil, State: GrantActive,
			CreatedAt: now.Truncate(time.Microsecond)}
		if err := st.InsertGrant(ctx, out); err != nil {
			return err
		}
		return s.logGrant(ctx, st, h, out, "license.granted", out.CreatedAt)
	})
	if apperr.KindOf(err) == apperr.NotFound {
		return Grant{}, s.holderRefused(ctx, h, "grant", n.LicenseID, err)
	}
	return out, err
}

// grantTarget checks, in the grant's transaction, what n names beside
// the license l: an active using unit, one of its matters approved and
// needing l's type, and an end within l's validity.
func grantTarget(ctx context.Context, st Tx, l License, n NewGrant) error {
	o, err := st.GetOrg(ctx, n.Org)
	switch {
	case errors.Is(err, apperr.NotFound) || err == nil && o.Status != org.Active:
		return fieldErr(apperr.Invalid, "org", "active-org", fmt.Sprintf("%s is no active organization", n.Org))
	case err != nil:
		return err
	case !slices.Contains(o.Kinds, org.KindUsingUnit):
		return fieldErr(apperr.Invalid, "org", "using-unit-kind", fmt.Sprintf("%s is no using unit", n.Org))
	}
	m, err := st.ApprovedMatter(ctx, n.Org, n.Matter)
	switch {
	case errors.Is(err, apperr.NotFound):
		return fieldErr(apperr.Invalid, "matter", "approved", fmt.Sprintf("%s has no approved matter %s", n.Org, n.Matter))
	case err != nil:
		return err
	case !slices.Contains(m.Types, l.TypeCode):
		return fieldErr(apperr.Invalid, "matter", "needs-license-type", fmt.Sprintf("matter %s does not need license type %s", n.Matter, l.TypeCode))
	}
	if l.ValidUntil != nil && n.ValidUntil.After(*l.ValidUntil) {
		return fieldErr(apperr.Invalid, "valid_until", "within-license",
			fmt.Sprintf("the license ends at %s; a grant of it cannot last longer", l.ValidUntil.UTC().Format(time.RFC3339)))
	}
	return nil
}

// logGrant appends the audit entry action of g by holder h, under the
// license's issuer.
func (s *Service) logGrant(ctx context.Context, st Tx, h *authz.Holder, g Grant, action string, at time.Time) error {
	d := map[string]string{"grant": g.ID, "org": g.Org, "matter": g.Matter, "valid_until": g.ValidUntil.Format(time.RFC3339),
		"fields": strings.Join(g.Fields, ",")}
	if h.Representative != "" {
		d["representative"] = h.Representative
	}
	return auditlog.Append(ctx, st, auditlog.Entry{At: at, Actor: h.ID, Org: g.Issuer, Action: action, Subject: g.LicenseID, Details: d})
}

// WithdrawGrant withdraws a grant of the actor's, in the transaction that
// reads it and writes the audit entry (license.grant-withdrawn). A grant
// already withdrawn is returned as it is and nothing is written: the
// withdrawal is a no-op. Another holder's grant, or none, is NotFound and
// the refusal logged.
func (s *Service) WithdrawGrant(ctx context.Context, actor *authz.Actor, id string) (Grant, error) {
	h, err := holderOf(actor)
	if err != nil {
		return Grant{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out Grant
	err = s.tx(ctx, func(st Tx) error {
		g, err := st.GetGrant(ctx, id)
		if err != nil && !errors.Is(err, apperr.NotFound) {
			return err
		}
		if err != nil || string(g.HolderKind) != h.Kind || g.HolderIndex != h.Index {
			return apperr.New(apperr.NotFound, "you made no grant of id %s", id)
		}
		out = g
		if g.State == GrantWithdrawn {
			return nil
		}
		if err := st.WithdrawGrant(ctx, g.ID, now); err != nil {
			return err
		}
		out.State, out.WithdrawnAt = GrantWithdrawn, now
		return s.logGrant(ctx, st, h, out, "license.grant-withdrawn", now)
	})
	if apperr.KindOf(err) == apperr.NotFound {
		return Grant{}, s.holderRefused(ctx, h, "withdraw-grant", "", err)
	}
	return out, err
}

// grantCursor is the cursor of the page after g.
func grantCursor(g Grant) string { return g.ID }

// HolderGrants returns a page of the grants the actor made, filtered by
// f's license and state. Each license named on the page is logged as read
// (what: grants).
func (s *Service) HolderGrants(ctx context.Context, actor *authz.Actor, f GrantFilter, cursor string) (page.Page[Grant], error) {
	h, err := holderOf(actor)
	if err != nil {
		return page.Page[Grant]{}, err
	}
	f = GrantFilter{HolderKind: catalog.HolderKind(h.Kind), HolderIndex: h.Index, LicenseID: strings.TrimSpace(f.LicenseID), State: f.State,
		Limit: f.Limit}
	return s.listGrants(ctx, f, cursor, func(st Tx, g Grant) error {
		return s.logHolderRead(ctx, st, h, License{ID: g.LicenseID, Issuer: g.Issuer}, "grants")
	})
}

// UnitGrants returns a page of the grants made to the actor's
// organization, a using unit's, filtered by f's license and state. Each
// license named on the page is logged as read by the account (what:
// grants).
func (s *Service) UnitGrants(ctx context.Context, actor *authz.Actor, f GrantFilter, cursor string) (page.Page[Grant], error) {
	if actor == nil || actor.Org == "" || !slices.Contains(actor.Roles, authz.UsingUnit) {
		return page.Page[Grant]{}, fieldErr(apperr.Forbidden, "actor", "using-unit-role", "only a using unit reads the grants made to it")
	}
	f = GrantFilter{Org: actor.Org, LicenseID: strings.TrimSpace(f.LicenseID), State: f.State, Limit: f.Limit}
	return s.listGrants(ctx, f, cursor, func(st Tx, g Grant) error {
		return auditlog.Append(ctx, st, auditlog.Entry{At: s.now(), Actor: actor.AccountID, Org: g.Issuer, Action: ReadAction, Subject: g.LicenseID,
			Details: map[string]string{"what": "grants", "by": "using-unit", "unit": actor.Org}})
	})
}

// listGrants reads a page of grants by f and logs each license on it once
// with logRead, in the transaction that read the page.
func (s *Service) listGrants(ctx context.Context, f GrantFilter, cursor string, logRead func(Tx, Grant) error) (page.Page[Grant], error) {
	if f.State != "" && !slices.Contains(GrantStates(), f.State) {
		return page.Page[Grant]{}, fieldErr(apperr.Invalid, "state", "one-of", "state is active, withdrawn or expired")
	}
	f.Now = s.now().UTC()
	var p page.Page[Grant]
	err := s.tx(ctx, func(st Tx) (err error) {
		p, err = page.Fetch(f.Limit, cursor, func(limit int, after string) ([]Grant, error) {
			f.Limit, f.After = limit, after
			return st.ListGrants(ctx, f)
		}, grantCursor)
		if err != nil {
			return err
		}
		logged := map[string]bool{}
		for i, g := range p.Items {
			p.Items[i].State = g.StateAt(f.Now)
			if logged[g.LicenseID] {
				continue
			}
			logged[g.LicenseID] = true
			if err := logRead(st, g); err != nil {
				return err
			}
		}
		return nil
	})
	return p, err
}

// ActiveGrant returns the grant in force at t that lets the using unit org
// use the license for the matter: active, not expired, the newest if the
// holder made several. NotFound when there is none. It is what the use of
// a license by a using unit checks first.
func (s *Service) ActiveGrant(ctx context.Context, licenseID, unit, matter string, at time.Time) (Grant, error) {
	return s.store.ActiveGrant(ctx, licenseID, unit, strings.ToUpper(strings.TrimSpace(matter)), at.UTC())
}

// unitMatterCursor is the cursor of the page after m.
func unitMatterCursor(m Matter) string { return m.Code }

// UnitMatters returns a page of the matters of a using unit with an
// approved version, for a holder to choose from when it grants: the code,
// name and license types of each, nothing else. A unit that is unknown,
// not active or no using unit is NotFound alike.
func (s *Service) UnitMatters(ctx context.Context, actor *authz.Actor, unit string, limit int, cursor string) (page.Page[Matter], error) {
	if _, err := holderOf(actor); err != nil {
		return page.Page[Matter]{}, err
	}
	unit = ids.NormalizeCreditCode(unit)
	var fs apperr.Fields
	addIDError(&fs, "unit", ids.ValidateCreditCode(unit))
	if err := fs.Err(); err != nil {
		return page.Page[Matter]{}, err
	}
	o, err := s.orgs.GetOrg(ctx, unit)
	if errors.Is(err, apperr.NotFound) || err == nil && (o.Status != org.Active || !slices.Contains(o.Kinds, org.KindUsingUnit)) {
		return page.Page[Matter]{}, apperr.New(apperr.NotFound, "%s is no active using unit", unit)
	}
	if err != nil {
		return page.Page[Matter]{}, err
	}
	return page.Fetch(limit, cursor, func(limit int, after string) ([]Matter, error) {
		return s.store.ApprovedMatters(ctx, unit, after, limit)
	}, unitMatterCursor)
}
