package use

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
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	codec "github.com/zhengzhao/zhengzhao/internal/codec/license"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// The audit actions of a scoped use (docs/use.md, docs/audit.md).
const (
	// UsedAction records one license returned to a using unit, under the
	// license's issuer.
	UsedAction = "license.used"
	// RefusedAction records a use refused, under the unit.
	RefusedAction = "use.refused"
	// EmptyAction records a use that found nothing to return, under the
	// unit.
	EmptyAction = "use.empty"
)

// holderPage is how many of a holder's licenses of one type a use reads
// at a time: one page is far more than anyone holds.
const holderPage = 100

// Query is what a using unit asks: the licenses of one holder for one
// matter of its own, optionally of one type.
type Query struct {
	Matter   string
	HolderID string // a citizen ID number or a credit code
	TypeCode string // empty: every type the matter needs and the unit is granted
	// Case, when not empty, is the unit's case the licenses returned are
	// kept with (R-USE-6).
	Case string
}

// UsedField is one face field a use returns. Masked says the value is
// shown masked under the template's rule; Unmasked says the holder's
// authorization lifted a mask the rule would have applied.
type UsedField struct {
	Value    any
	Masked   bool
	Unmasked bool
}

// UsedLicense is one license a use returns, with the fields the matter
// needs of it and nothing else.
type UsedLicense struct {
	ID          string
	TypeCode    string
	TypeVersion int
	Issuer      string
	State       license.State
	ValidFrom   time.Time
	ValidUntil  *time.Time
	Fields      map[string]UsedField
}

// Result is the answer to a use: the matter version it acted under and
// the licenses, possibly none.
type Result struct {
	Org           string
	Matter        string
	MatterVersion int
	// Use identifies this use: its license.used entries name it, and a
	// license it returned is attached to a case by it.
	Use      string
	Case     string
	Licenses []UsedLicense
}

// QueryTx is what a use reads and writes through, in one transaction:
// the matter and the unit's grants, the holder's licenses found by blind
// index with their signed documents and holder authorizations, and the
// audit log.
type QueryTx interface {
	Reader
	ListLicenses(ctx context.Context, f license.Filter) ([]license.License, error)
	LicenseDocument(ctx context.Context, id string, version int64) ([]byte, error)
	ActiveGrant(ctx context.Context, licenseID, unit, matter string, at time.Time) (license.Grant, error)
	InsertCaseRecord(ctx context.Context, r CaseRecord) (bool, error)
	auditlog.Appender
}

// QueryTxFunc runs fn in one transaction of the store.
type QueryTxFunc func(ctx context.Context, fn func(QueryTx) error) error

// RateLimitError refuses a use over the unit's rate; RetryAfter is when
// the next one would be let through.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many uses: retry after %s", e.RetryAfter)
}

// Use answers a using unit's scoped query (R-USE-2): the licenses in
// force of one holder, of the types the unit's matter needs and the unit
// is granted, with only the fields the matter's approved version needs,
// masked unless the holder authorized the unit for the matter. Everything
// is decided in one transaction with the audit entries of what it
// returns; a refusal is logged in a transaction of its own.
func (s *Service) Use(ctx context.Context, actor *authz.Actor, q Query) (Result, error) {
	if actor == nil || !unitStaff(actor, actor.Org) {
		return Result{}, apperr.New(apperr.Forbidden, "only a using unit's staff use licenses, for their own unit's matters")
	}
	unit := actor.Org
	q, kinds, err := checkQuery(q)
	if err != nil {
		return Result{}, err
	}
	if wait, ok := s.limits.take(unit, s.now()); !ok {
		return Result{}, apperr.Wrap(apperr.RateLimited, &RateLimitError{RetryAfter: wait},
			"unit %s asks more than its rate of uses: retry in %d s", unit, retrySeconds(wait))
	}
	var out Result
	var refusal error
	err = s.query(ctx, func(tx QueryTx) error {
		now := s.now()
		r, err := s.use(ctx, tx, unit, q, kinds, now)
		if err != nil {
			if isRefusal(err) {
				refusal = err
			}
			return err
		}
		if r.Use, err = s.newID("use", now); err != nil {
			return err
		}
		r.Case = q.Case
		out = r
		if len(r.Licenses) == 0 {
			return s.logOutcome(ctx, tx, actor, EmptyAction, q.Matter, "no-license", now)
		}
		for _, l := range r.Licenses {
			if err := s.logUsed(ctx, tx, actor, r, l, now); err != nil {
				return err
			}
		}
		if q.Case == "" {
			return nil
		}
		for _, c := range caseRecords(unit, actor.AccountID, r.Use, q.Case, r, now) {
			if _, err := tx.InsertCaseRecord(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case refusal != nil && errors.Is(err, refusal):
		return Result{}, s.refused(ctx, actor, q.Matter, refusal)
	case err != nil:
		return Result{}, err
	}
	return out, nil
}

// checkQuery checks what a query says by itself and returns it
// normalized with the holder kinds its identifier may be of.
func checkQuery(q Query) (Query, []catalog.HolderKind, error) {
	var fs apperr.Fields
	q.Matter, q.TypeCode = NormalizeCode(q.Matter), strings.ToUpper(strings.TrimSpace(q.TypeCode))
	q.HolderID, q.Case = strings.TrimSpace(q.HolderID), NormalizeCase(q.Case)
	if q.Case != "" {
		checkCase(&fs, q.Case)
	}
	switch {
	case q.Matter == "":
		fs.Add("matter", "required", "the matter is required")
	case !codePattern.MatchString(q.Matter):
		fs.Add("matter", "matter-code", "1 to 32 upper-case letters, digits, '.', '-' or '_', starting and ending with a letter or digit")
	}
	if q.TypeCode != "" {
		if err := ids.ValidateLicenseTypeCode(q.TypeCode); err != nil {
			addIDErr(&fs, "type", err)
		}
	}
	var kinds []catalog.HolderKind
	if q.HolderID == "" {
		fs.Add("holder_id", "required", "the holder's citizen ID number or credit code is required")
	} else {
		person, orgErr := ids.ValidateCitizenID(ids.NormalizeCitizenID(q.HolderID)), ids.ValidateCreditCode(ids.NormalizeCreditCode(q.HolderID))
		if person == nil {
			kinds = append(kinds, catalog.HolderPerson)
		}
		if orgErr == nil {
			kinds = append(kinds, catalog.HolderOrganization)
		}
		if len(kinds) == 0 {
			// Report the rule of the form the identifier is closer to: a
			// citizen ID number is digits but perhaps its last character.
			if strings.TrimRight(strings.ToUpper(q.HolderID), "X0123456789") == "" {
				addIDErr(&fs, "holder_id", person)
			} else {
				addIDErr(&fs, "holder_id", orgErr)
			}
		}
	}
	return q, kinds, fs.Err()
}

// addIDErr adds an identifier's validation error under field, naming the
// identifier rule it breaks.
func addIDErr(fs *apperr.Fields, field string, err error) {
	var ie *ids.Error
	if errors.As(err, &ie) {
		fs.Add(field, ie.Rule, ie.Error())
		return
	}
	fs.Add(field, "format", err.Error())
}

// need is one type a use returns and the fields of it the matter needs.
type need struct {
	Need
	kind catalog.HolderKind
}

// use decides a query of unit in tx at now.
func (s *Service) use(ctx context.Context, tx QueryTx, unit string, q Query, kinds []catalog.HolderKind, now time.Time) (Result, error) {
	mv, err := UsableMatter(ctx, tx, unit, q.Matter)
	if err != nil {
		// Another unit's matter is no matter of this unit: both are the
		// unit's refusal, as is a matter without an approved version.
		var ae *apperr.Error
		if errors.As(err, &ae) && (ae.Kind == apperr.NotFound || ae.Kind == apperr.Conflict) {
			return Result{}, &apperr.Error{Kind: apperr.Forbidden, Detail: ae.Detail, Fields: ae.Fields}
		}
		return Result{}, err
	}
	needs := mv.Needs
	if q.TypeCode != "" {
		i := slices.IndexFunc(needs, func(n Need) bool { return n.TypeCode == q.TypeCode })
		if i < 0 {
			return Result{}, fieldErr(apperr.Forbidden, "type", "matter-needs",
				fmt.Sprintf("matter %s does not need license type %s", q.Matter, q.TypeCode))
		}
		needs = needs[i : i+1]
	}
	var granted []need
	for _, n := range needs {
		_, err := Granted(ctx, tx, unit, n.TypeCode, now)
		switch {
		case apperr.KindOf(err) == apperr.Forbidden && q.TypeCode == "":
			continue // a type the unit is not granted is left out
		case err != nil:
			return Result{}, err
		}
		kind, err := s.templates.holderKind(ctx, n.TypeCode)
		if err != nil {
			return Result{}, err
		}
		granted = append(granted, need{Need: n, kind: kind})
	}
	if len(granted) == 0 {
		return Result{}, fieldErr(apperr.Forbidden, "type", "type-granted",
			fmt.Sprintf("%s holds no grant in force of any license type matter %s needs", unit, q.Matter))
	}
	r := Result{Org: unit, Matter: mv.Code, MatterVersion: mv.Number, Licenses: []UsedLicense{}}
	for _, n := range granted {
		if !slices.Contains(kinds, n.kind) {
			continue // the identifier cannot be a holder of this type
		}
		holder := ids.NormalizeCitizenID(q.HolderID)
		if n.kind == catalog.HolderOrganization {
			holder = ids.NormalizeCreditCode(q.HolderID)
		}
		ls, err := holderLicenses(ctx, tx, license.Filter{TypeCode: n.TypeCode, HolderKind: n.kind, Holder: holder, Limit: holderPage})
		if err != nil {
			return Result{}, err
		}
		for _, l := range ls {
			if !inForce(l, now) {
				continue
			}
			u, err := s.usedLicense(ctx, tx, unit, mv, n.Need, l, now)
			if err != nil {
				return Result{}, err
			}
			r.Licenses = append(r.Licenses, u)
		}
	}
	return r, nil
}

// holderLicenses returns every license f selects, page by page.
func holderLicenses(ctx context.Context, tx QueryTx, f license.Filter) ([]license.License, error) {
	var out []license.License
	for {
		ls, err := tx.ListLicenses(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, ls...)
		if len(ls) < f.Limit {
			return out, nil
		}
		f.After = ls[len(ls)-1].ID
	}
}

// inForce reports whether l may be used at now: active or pledged (a
// pledge limits transfer, not use) and not past its validity.
func inForce(l license.License, now time.Time) bool {
	return (l.State == license.Active || l.State == license.Pledged) && (l.ValidUntil == nil || now.Before(*l.ValidUntil))
}

// usedLicense returns the fields of l that n names, read from its signed
// current version: each masked under its template's rule unless a holder
// authorization of the unit for the matter names it.
func (s *Service) usedLicense(ctx context.Context, tx QueryTx, unit string, mv MatterVersion, n Need, l license.License, now time.Time) (UsedLicense, error) {
	raw, err := tx.LicenseDocument(ctx, l.ID, l.Version)
	if err != nil {
		return UsedLicense{}, err
	}
	d, err := codec.Decode(raw)
	if err != nil {
		return UsedLicense{}, apperr.Wrap(apperr.Internal, err, "license %s version %d: %v", l.ID, l.Version, err)
	}
	v, err := s.templates.version(ctx, d.License.Type.Code, int(d.License.Type.Version))
	if err != nil {
		return UsedLicense{}, fmt.Errorf("template of license %s: %w", l.ID, err)
	}
	face, err := v.Template.ValidateFace(d.License.Face)
	if err != nil {
		return UsedLicense{}, apperr.Wrap(apperr.Internal, err, "license %s: its face no longer reads under its template: %v", l.ID, err)
	}
	authorized, err := holderAuthorized(ctx, tx, l.ID, unit, mv, now)
	if err != nil {
		return UsedLicense{}, err
	}
	u := UsedLicense{ID: l.ID, TypeCode: l.TypeCode, TypeVersion: l.TypeVersion, Issuer: l.Issuer, State: l.State,
		ValidFrom: l.ValidFrom, ValidUntil: l.ValidUntil, Fields: make(map[string]UsedField, len(n.Fields))}
	for _, k := range n.Fields {
		f, ok := v.Template.Field(k)
		value, present := face[k]
		if !ok || !present {
			continue // the license's template version or face lacks it
		}
		switch {
		case f.Masking.Rule == catalog.MaskNone:
			u.Fields[k] = UsedField{Value: value}
		case slices.Contains(authorized, k):
			u.Fields[k] = UsedField{Value: value, Unmasked: true}
		default:
			u.Fields[k] = UsedField{Value: catalog.Mask(f, fmt.Sprint(value)), Masked: true}
		}
	}
	return u, nil
}

// holderAuthorized returns the fields the holder's authorization of unit
// for the matter, by its code, active at now, lets it see unmasked.
func holderAuthorized(ctx context.Context, tx QueryTx, licenseID, unit string, mv MatterVersion, now time.Time) ([]string, error) {
	g, err := tx.ActiveGrant(ctx, licenseID, unit, mv.Code, now)
	switch {
	case errors.Is(err, apperr.NotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return g.Fields, nil
}

// logUsed appends the license.used entry of l returned to actor: the
// field names, never their values, nor the holder's identifier.
func (s *Service) logUsed(ctx context.Context, tx QueryTx, actor *authz.Actor, r Result, l UsedLicense, now time.Time) error {
	var fields, unmasked []string
	for k, f := range l.Fields {
		fields = append(fields, k)
		if f.Unmasked {
			unmasked = append(unmasked, k)
		}
	}
	slices.Sort(fields)
	slices.Sort(unmasked)
	d := map[string]string{"unit": r.Org, "matter": r.Matter, "matter_version": strconv.Itoa(r.MatterVersion), "use": r.Use,
		"fields": strings.Join(fields, ","), "unmasked": strings.Join(unmasked, ",")}
	if r.Case != "" {
		d["case"] = r.Case
	}
	return auditlog.Append(ctx, tx, auditlog.Entry{At: now, Actor: actor.AccountID, Org: l.Issuer, Action: UsedAction, Subject: l.ID, Details: d})
}

// logOutcome appends a use's outcome without a license under the unit.
func (s *Service) logOutcome(ctx context.Context, tx auditlog.Appender, actor *authz.Actor, action, matter, reason string, now time.Time) error {
	return auditlog.Append(ctx, tx, auditlog.Entry{At: now, Actor: actor.AccountID, Org: actor.Org, Action: action, Subject: matter,
		Details: map[string]string{"matter": matter, "reason": reason}})
}

// isRefusal reports whether err is the decision to refuse a use, which
// the audit log records, rather than a failure.
func isRefusal(err error) bool { return apperr.KindOf(err) == apperr.Forbidden }

// refused logs the refusal err of actor's use of matter in a transaction
// of its own (the refusal wrote nothing) and returns err. The entry names
// the rules broken, never the holder.
func (s *Service) refused(ctx context.Context, actor *authz.Actor, matter string, err error) error {
	var ae *apperr.Error
	var rules []string
	if errors.As(err, &ae) {
		for _, f := range ae.Fields {
			rules = append(rules, f.Field+"/"+f.Rule)
		}
	}
	if rerr := s.query(ctx, func(tx QueryTx) error {
		return s.logOutcome(ctx, tx, actor, RefusedAction, matter, strings.Join(rules, ","), s.now())
	}); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// retrySeconds rounds a wait up to whole seconds, at least one, as
// Retry-After says it.
func retrySeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// RetryAfter returns the whole seconds a rate-limited use should wait, and
// whether err is such a refusal.
func RetryAfter(err error) (int, bool) {
	var rl *RateLimitError
	if !errors.As(err, &rl) {
		return 0, false
	}
	return retrySeconds(rl.RetryAfter), true
}
