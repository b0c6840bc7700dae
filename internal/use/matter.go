package use

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// Limits of what a matter says.
const (
	MaxName       = 200
	MaxLegalBasis = 2000
	MaxNeeds      = 20  // license types per matter
	MaxNeedFields = 100 // face fields per type
	maxReason     = 500
)

// codePattern is the form of a matter code: upper-case letters and digits,
// with dots, hyphens and underscores inside, as units number their
// matters (e.g. "KH-001"); no spaces, so that it reads the same in a URL,
// a log and a case file.
var codePattern = regexp.MustCompile(`^[A-Z0-9](?:[A-Z0-9._-]{0,30}[A-Z0-9])?$`)

// NormalizeCode returns the code as matters keep it: trimmed, upper case.
func NormalizeCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// Content is what one version of a matter says.
type Content struct {
	Name       string
	LegalBasis string
	Needs      []Need
}

// NewMatter is a matter a using unit lists.
type NewMatter struct {
	Org  string // the unit; staff of a unit may leave it empty for their own
	Code string
	Content
}

// checkContent checks what a version says by itself and returns it
// trimmed: a name, a legal basis, and one to MaxNeeds types, each named
// once with one to MaxNeedFields fields, each named once.
func checkContent(c Content) (Content, error) {
	var fs apperr.Fields
	c.Name, c.LegalBasis = strings.TrimSpace(c.Name), strings.TrimSpace(c.LegalBasis)
	fs.Name("name", c.Name, MaxName, true)
	fs.Name("legal_basis", c.LegalBasis, MaxLegalBasis, true)
	switch {
	case len(c.Needs) == 0:
		fs.Add("needs", "required", "a matter needs at least one license type")
	case len(c.Needs) > MaxNeeds:
		fs.Add("needs", "max-items", fmt.Sprintf("at most %d license types", MaxNeeds))
	}
	seen := map[string]bool{}
	needs := make([]Need, len(c.Needs))
	for i, n := range c.Needs {
		at := fmt.Sprintf("needs[%d]", i)
		n.TypeCode = strings.ToUpper(strings.TrimSpace(n.TypeCode))
		switch {
		case n.TypeCode == "":
			fs.Add(at+".type", "required", "name the license type")
		case seen[n.TypeCode]:
			fs.Add(at+".type", "unique", fmt.Sprintf("type %s is named twice; list all its fields once", n.TypeCode))
		}
		seen[n.TypeCode] = true
		switch {
		case len(n.Fields) == 0:
			fs.Add(at+".fields", "required", "name the face fields the matter needs")
		case len(n.Fields) > MaxNeedFields:
			fs.Add(at+".fields", "max-items", fmt.Sprintf("at most %d fields", MaxNeedFields))
		}
		fields, keys := make([]string, len(n.Fields)), map[string]bool{}
		for j, k := range n.Fields {
			k = strings.TrimSpace(k)
			if keys[k] {
				fs.Add(fmt.Sprintf("%s.fields[%d]", at, j), "unique", fmt.Sprintf("field %q is named twice", k))
			}
			keys[k], fields[j] = true, k
		}
		needs[i] = Need{TypeCode: n.TypeCode, Fields: fields}
	}
	c.Needs = needs
	return c, fs.Err()
}

// checkNeeds checks every type a matter needs against the catalog: the
// type exists, has an approved template version, and that template has
// every field named. A matter needs nothing the catalog does not know.
func (s *Service) checkNeeds(ctx context.Context, needs []Need) error {
	var fs apperr.Fields
	for i, n := range needs {
		at := fmt.Sprintf("needs[%d]", i)
		if _, err := s.catalog.GetType(ctx, n.TypeCode); errors.Is(err, apperr.NotFound) {
			fs.Add(at+".type", "exists", fmt.Sprintf("no license type has code %s", n.TypeCode))
			continue
		} else if err != nil {
			return err
		}
		v, err := s.catalog.Latest(ctx, n.TypeCode)
		if errors.Is(err, apperr.Conflict) {
			fs.Add(at+".type", "approved", fmt.Sprintf("license type %s has no approved version", n.TypeCode))
			continue
		} else if err != nil {
			return err
		}
		for j, k := range n.Fields {
			if _, ok := v.Template.Field(k); !ok {
				fs.Add(fmt.Sprintf("%s.fields[%d]", at, j), "template-field",
					fmt.Sprintf("%q is no field of version %d of license type %s", k, v.Number, n.TypeCode))
			}
		}
	}
	return fs.Err()
}

// mayWrite lets the operator write any unit's matters and a unit's staff
// their own unit's.
func (s *Service) mayWrite(ctx context.Context, actor *authz.Actor, unit string) error {
	if actor == nil || unitStaff(actor, unit) {
		return nil
	}
	if ok, err := s.operator(ctx, actor); err != nil {
		return err
	} else if ok {
		return apperr.New(apperr.Forbidden, "a using unit lists its own matters; the platform operator reviews them")
	}
	return fieldErr(apperr.Forbidden, "org", "own-org", "only the unit's own staff (role using-unit) write its matters")
}

// CreateMatter lists a new matter of a using unit. Its first version waits
// for a platform admin's approval before the matter is usable.
func (s *Service) CreateMatter(ctx context.Context, actor *authz.Actor, n NewMatter) (MatterVersion, error) {
	n.Org, n.Code = ids.NormalizeCreditCode(n.Org), NormalizeCode(n.Code)
	if n.Org == "" && actor != nil {
		n.Org = actor.Org
	}
	if err := s.mayWrite(ctx, actor, n.Org); err != nil {
		return MatterVersion{}, err
	}
	c, err := checkContent(n.Content)
	var fs apperr.Fields
	if !codePattern.MatchString(n.Code) {
		fs.Add("code", "matter-code", "1 to 32 upper-case letters, digits, '.', '-' or '_', starting and ending with a letter or digit")
	}
	if err = joinFields(err, fs); err != nil {
		return MatterVersion{}, err
	}
	if err := s.usingUnit(ctx, "org", n.Org); err != nil {
		return MatterVersion{}, err
	}
	if err := s.checkNeeds(ctx, c.Needs); err != nil {
		return MatterVersion{}, err
	}
	now := s.now()
	v := MatterVersion{Org: n.Org, Code: n.Code, Number: 1, Name: c.Name, LegalBasis: c.LegalBasis, Needs: c.Needs, State: Pending,
		Author: actorID(actor), ProposedAt: now}
	err = s.tx(ctx, func(st Tx) error {
		if err := st.InsertMatter(ctx, Matter{Org: n.Org, Code: n.Code, CreatedBy: v.Author, CreatedAt: now}); err != nil {
			if errors.Is(err, apperr.Conflict) {
				return fieldErr(apperr.Conflict, "code", "unique", fmt.Sprintf("the unit has a matter %s already; change it instead", n.Code))
			}
			return err
		}
		if err := st.InsertMatterVersion(ctx, v); err != nil {
			return err
		}
		return s.logVersion(ctx, st, v, "use.matter-proposed", v.Author, nil)
	})
	if err != nil {
		return MatterVersion{}, err
	}
	return v, nil
}

// joinFields merges the field errors of err (nil or Invalid) and fs.
func joinFields(err error, fs apperr.Fields) error {
	var e *apperr.Error
	if errors.As(err, &e) {
		fs = append(append(apperr.Fields{}, e.Fields...), fs...)
	} else if err != nil {
		return err
	}
	return fs.Err()
}

// ChangeMatter writes a new version of a matter, pending approval. The
// approved version stays the usable one until the new one is approved; a
// version still pending is superseded by the new one, so that the
// operator reviews one version of a matter at a time.
func (s *Service) ChangeMatter(ctx context.Context, actor *authz.Actor, unit, code string, c Content) (MatterVersion, error) {
	unit, code = ids.NormalizeCreditCode(unit), NormalizeCode(code)
	if err := s.mayWrite(ctx, actor, unit); err != nil {
		return MatterVersion{}, err
	}
	c, err := checkContent(c)
	if err != nil {
		return MatterVersion{}, err
	}
	if err := s.checkNeeds(ctx, c.Needs); err != nil {
		return MatterVersion{}, err
	}
	now := s.now()
	var out MatterVersion
	err = s.tx(ctx, func(st Tx) error {
		m, err := matterOf(ctx, st, unit, code)
		if err != nil {
			return err
		}
		if m.Latest > 0 {
			last, err := st.GetMatterVersion(ctx, unit, code, m.Latest)
			if err != nil {
				return err
			}
			if last.State == Pending {
				last.State, last.DecidedBy, last.DecidedAt, last.Reason = Superseded, actorID(actor), now, "version "+strconv.Itoa(m.Latest+1)
				if err := st.UpdateMatterVersion(ctx, last, Pending); err != nil {
					return err
				}
			}
		}
		out = MatterVersion{Org: unit, Code: code, Number: m.Latest + 1, Name: c.Name, LegalBasis: c.LegalBasis, Needs: c.Needs,
			State: Pending, Author: actorID(actor), ProposedAt: now}
		if err := st.InsertMatterVersion(ctx, out); err != nil {
			return err
		}
		return s.logVersion(ctx, st, out, "use.matter-proposed", out.Author, nil)
	})
	if err != nil {
		return MatterVersion{}, err
	}
	return out, nil
}

// Approve makes a pending version the usable one of its matter.
func (s *Service) Approve(ctx context.Context, actor *authz.Actor, unit, code string, number int, reason string) (MatterVersion, error) {
	return s.decide(ctx, actor, unit, code, number, Approved, reason)
}

// Refuse refuses a pending version, with a reason. The matter keeps its
// usable version, if any; a corrected content is a new version.
func (s *Service) Refuse(ctx context.Context, actor *authz.Actor, unit, code string, number int, reason string) (MatterVersion, error) {
	return s.decide(ctx, actor, unit, code, number, Refused, reason)
}

// decide reviews a version. The version's state is re-read in the
// transaction that changes it, and the update applies only if it is still
// pending, so that of simultaneous reviews exactly one succeeds and the
// others answer Conflict.
func (s *Service) decide(ctx context.Context, actor *authz.Actor, unit, code string, number int, to State, reason string) (MatterVersion, error) {
	if err := s.mustOperate(ctx, actor, "reviews matters"); err != nil {
		return MatterVersion{}, err
	}
	unit, code, reason = ids.NormalizeCreditCode(unit), NormalizeCode(code), strings.TrimSpace(reason)
	var fs apperr.Fields
	if to == Refused && reason == "" {
		fs.Add("reason", "required", "a refusal says why")
	} else {
		fs.Name("reason", reason, maxReason, false)
	}
	if err := fs.Err(); err != nil {
		return MatterVersion{}, err
	}
	var out MatterVersion
	err := s.tx(ctx, func(st Tx) error {
		v, err := versionOf(ctx, st, unit, code, number)
		if err != nil {
			return err
		}
		if v.State != Pending {
			return fieldErr(apperr.Conflict, "state", "transition", fmt.Sprintf("version %d of matter %s is %s, not pending", v.Number, v.Code, v.State))
		}
		if v.Author == actorID(actor) {
			return fieldErr(apperr.Forbidden, "by", "four-eyes", "the author cannot review its own version")
		}
		if to == Approved {
			// The catalog may have moved since the proposal: a matter is
			// approved only for fields the types' templates still have.
			if err := s.checkNeeds(ctx, v.Needs); err != nil {
				return err
			}
		}
		prev := v.State
		v.State, v.DecidedBy, v.DecidedAt, v.Reason = to, actorID(actor), s.now(), reason
		if err := st.UpdateMatterVersion(ctx, v, prev); err != nil {
			return err
		}
		out = v
		details := map[string]string{}
		if reason != "" {
			details["reason"] = reason
		}
		return s.logVersion(ctx, st, v, "use.matter-"+string(to), v.DecidedBy, details)
	})
	if err != nil {
		return MatterVersion{}, err
	}
	return out, nil
}

// logVersion appends the audit entry action about version v.
func (s *Service) logVersion(ctx context.Context, st Tx, v MatterVersion, action, actor string, details map[string]string) error {
	if details == nil {
		details = map[string]string{}
	}
	types := make([]string, len(v.Needs))
	for i, n := range v.Needs {
		types[i] = n.TypeCode
	}
	details["version"], details["types"], details["author"] = strconv.Itoa(v.Number), strings.Join(types, ","), v.Author
	at := v.ProposedAt
	if !v.DecidedAt.IsZero() {
		at = v.DecidedAt
	}
	return auditlog.Append(ctx, st, auditlog.Entry{At: at, Actor: actor, Org: v.Org, Action: action, Subject: v.Org + "/" + v.Code, Details: details})
}

// GetMatter returns a matter of a unit the actor reads.
func (s *Service) GetMatter(ctx context.Context, actor *authz.Actor, unit, code string) (Matter, error) {
	unit, code = ids.NormalizeCreditCode(unit), NormalizeCode(code)
	if err := s.mayRead(ctx, actor, unit); err != nil {
		return Matter{}, err
	}
	return matterOf(ctx, s.store, unit, code)
}

// mayRead lets the actor read the records of unit.
func (s *Service) mayRead(ctx context.Context, actor *authz.Actor, unit string) error {
	own, err := s.scope(ctx, actor)
	if err != nil {
		return err
	}
	if own != "" && own != unit {
		return fieldErr(apperr.Forbidden, "org", "own-org", "a using unit reads only its own matters and grants")
	}
	return nil
}

// ListMatters returns one page of matters: every unit's to the operator
// and auditors, a unit's own to its staff.
func (s *Service) ListMatters(ctx context.Context, actor *authz.Actor, f MatterFilter, cursor string) (page.Page[Matter], error) {
	f.Org = ids.NormalizeCreditCode(f.Org)
	var err error
	if f.Org, err = s.listScope(ctx, actor, f.Org); err != nil {
		return page.Page[Matter]{}, err
	}
	return page.Fetch(f.Limit, cursor, func(limit int, after string) ([]Matter, error) {
		f.Limit, f.After = limit, after
		return s.store.ListMatters(ctx, f)
	}, func(m Matter) string { return m.Org + "|" + m.Code })
}

// GetVersion returns a version of a matter, whatever its state.
func (s *Service) GetVersion(ctx context.Context, actor *authz.Actor, unit, code string, number int) (MatterVersion, error) {
	unit, code = ids.NormalizeCreditCode(unit), NormalizeCode(code)
	if err := s.mayRead(ctx, actor, unit); err != nil {
		return MatterVersion{}, err
	}
	return versionOf(ctx, s.store, unit, code, number)
}

// ListVersions returns one page of matter versions: of one matter (oldest
// first) when f names it, else of every matter the actor reads — with
// State Pending, what waits for review.
func (s *Service) ListVersions(ctx context.Context, actor *authz.Actor, f VersionFilter, cursor string) (page.Page[MatterVersion], error) {
	f.Org, f.Code = ids.NormalizeCreditCode(f.Org), NormalizeCode(f.Code)
	var err error
	if f.Org, err = s.listScope(ctx, actor, f.Org); err != nil {
		return page.Page[MatterVersion]{}, err
	}
	if f.Code != "" {
		if _, err := matterOf(ctx, s.store, f.Org, f.Code); err != nil {
			return page.Page[MatterVersion]{}, err
		}
	}
	return page.Fetch(f.Limit, cursor, func(limit int, after string) ([]MatterVersion, error) {
		f.Limit, f.After = limit, after
		return s.store.ListMatterVersions(ctx, f)
	}, func(v MatterVersion) string { return v.Org + "|" + v.Code + "|" + strconv.Itoa(v.Number) })
}

// UsableMatter returns the version a use of the matter acts under, read
// through r (the caller's transaction): the approved version with the
// highest number. A matter without one answers Conflict (rule "approved"
// on "matter"); no such matter, NotFound.
func UsableMatter(ctx context.Context, r Reader, unit, code string) (MatterVersion, error) {
	unit, code = ids.NormalizeCreditCode(unit), NormalizeCode(code)
	if _, err := matterOf(ctx, r, unit, code); err != nil {
		return MatterVersion{}, err
	}
	v, err := r.ApprovedMatterVersion(ctx, unit, code)
	if errors.Is(err, apperr.NotFound) {
		return MatterVersion{}, fieldErr(apperr.Conflict, "matter", "approved", fmt.Sprintf("matter %s has no approved version", code))
	}
	return v, err
}

// UsableMatter is the package's UsableMatter on the service's store.
func (s *Service) UsableMatter(ctx context.Context, unit, code string) (MatterVersion, error) {
	return UsableMatter(ctx, s.store, unit, code)
}

// matterOf reads a matter through r; NotFound names the field.
func matterOf(ctx context.Context, r Reader, unit, code string) (Matter, error) {
	m, err := r.GetMatter(ctx, unit, code)
	if errors.Is(err, apperr.NotFound) {
		return Matter{}, fieldErr(apperr.NotFound, "matter", "exists", fmt.Sprintf("unit %s has no matter %s", unit, code))
	}
	return m, err
}

// versionOf reads a version through r; NotFound names the field.
func versionOf(ctx context.Context, r Reader, unit, code string, number int) (MatterVersion, error) {
	v, err := r.GetMatterVersion(ctx, unit, code, number)
	if errors.Is(err, apperr.NotFound) {
		if _, merr := matterOf(ctx, r, unit, code); merr != nil {
			return MatterVersion{}, merr
		}
		return MatterVersion{}, fieldErr(apperr.NotFound, "version", "exists", fmt.Sprintf("matter %s has no version %d", code, number))
	}
	return v, err
}
