// Package org keeps the organizations of the platform, their staff accounts
// and the API tokens those accounts use. Every organization is identified by
// its unified social credit code and registers the person responsible for its
// e-license work (R-SEC-9).
package org

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/page"
)

// Kind is what an organization does on the platform; one may have several.
type Kind string

// The organization kinds.
const (
	KindPlatform          Kind = "platform"
	KindIssuer            Kind = "issuer"
	KindUsingUnit         Kind = "using-unit"
	KindIndustryAuthority Kind = "industry-authority"
	KindSealUser          Kind = "seal-user"
)

// Kinds lists every kind in a stable order.
func Kinds() []Kind {
	return []Kind{KindPlatform, KindIssuer, KindUsingUnit, KindIndustryAuthority, KindSealUser}
}

// Status says whether an organization or account may act.
type Status string

// The statuses. Nothing is ever deleted: deactivation keeps the record.
const (
	Active   Status = "active"
	Inactive Status = "inactive"
)

// Responsible is the person in charge of the organization's e-license work.
type Responsible struct {
	Name  string
	Phone string
	Email string
}

// Org is an organization.
type Org struct {
	CreditCode  string
	Name        string
	Region      string
	Kinds       []Kind
	Responsible Responsible
	Parent      string
	Status      Status
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// HasKind reports whether the organization has kind k.
func (o Org) HasKind(k Kind) bool { return slices.Contains(o.Kinds, k) }

// Filter selects organizations to list. Zero fields do not filter.
type Filter struct {
	Kind       Kind
	Region     string
	Status     Status
	CreditCode string // exactly this one (an own-org caller's view)
	After      string // credit code the page starts after
	Limit      int
}

// Reader is what the service reads outside a transaction. Methods return
// apperr kinds: NotFound for a missing row.
type Reader interface {
	GetOrg(ctx context.Context, creditCode string) (Org, error)
	ListOrgs(ctx context.Context, f Filter) ([]Org, error)
	CountOrgsOfKind(ctx context.Context, k Kind) (int, error)

	GetAccount(ctx context.Context, id string) (Account, error)
	FindAccount(ctx context.Context, org, name string) (Account, error)
	ListAccounts(ctx context.Context, org, after string, limit int) ([]Account, error)

	GetToken(ctx context.Context, id string) (Token, error)
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	ListTokens(ctx context.Context, f TokenFilter) ([]Token, error)
}

// Tx is what a change of an organization, account or token gets: the
// transaction it runs in. It re-reads what it decides on through Reader,
// and writes return Conflict for a duplicate.
type Tx interface {
	Reader

	InsertOrg(ctx context.Context, o Org) error
	// UpdateOrg writes o if the stored version is still o.Version-1.
	UpdateOrg(ctx context.Context, o Org) error
	InsertAccount(ctx context.Context, a Account) error
	InsertToken(ctx context.Context, t Token) error
	RevokeToken(ctx context.Context, id string, at time.Time) error

	// Every change of an organization, account or token is appended to the
	// audit log in the same transaction.
	auditlog.Appender
}

// TxFunc runs fn in one transaction of the store.
type TxFunc func(ctx context.Context, fn func(Tx) error) error

// Deps are what the organization service is built from; every field is
// required. Now and Rand are injected so that expiry and identifiers are
// testable.
type Deps struct {
	Store Reader
	Tx    TxFunc
	Now   func() time.Time
	Rand  io.Reader
}

// Service is the organization, account and token service.
type Service struct {
	store Reader
	tx    TxFunc
	now   func() time.Time
	rand  io.Reader
}

// NewService returns the organization service.
func NewService(d Deps) *Service {
	// Stored times have microsecond precision; answering with more would
	// make a record differ from itself read back.
	micro := func() time.Time { return d.Now().UTC().Truncate(time.Microsecond) }
	return &Service{store: d.Store, tx: d.Tx, now: micro, rand: d.Rand}
}

// NewOrg is what creating an organization takes.
type NewOrg struct {
	CreditCode  string
	Name        string
	Region      string
	Kinds       []Kind
	Responsible Responsible
	Parent      string
}

// CreateOrg validates and stores a new active organization. There is at most
// one platform organization.
func (s *Service) CreateOrg(ctx context.Context, n NewOrg) (Org, error) {
	now := s.now().UTC()
	o := Org{
		CreditCode:  ids.NormalizeCreditCode(n.CreditCode),
		Name:        strings.TrimSpace(n.Name),
		Region:      strings.TrimSpace(n.Region),
		Kinds:       n.Kinds,
		Responsible: trimResponsible(n.Responsible),
		Parent:      ids.NormalizeCreditCode(n.Parent),
		Status:      Active,
		Version:     1,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if err := validateOrg(o); err != nil {
		return Org{}, err
	}
	err := s.tx(ctx, func(st Tx) error {
		if err := checkParent(ctx, st, o); err != nil {
			return err
		}
		if o.HasKind(KindPlatform) {
			n, err := st.CountOrgsOfKind(ctx, KindPlatform)
			if err != nil {
				return err
			}
			if n > 0 {
				return conflictField("kinds", "single-platform", "the platform organization exists already")
			}
		}
		if err := st.InsertOrg(ctx, o); err != nil {
			if errors.Is(err, apperr.Conflict) {
				return conflictField("credit_code", "unique", "an organization with this credit code exists already")
			}
			return err
		}
		return auditlog.Record(ctx, st, auditlog.Entry{At: now, Org: o.CreditCode, Action: "org.created", Subject: o.CreditCode,
			Details: map[string]string{"name": o.Name, "region": o.Region, "kinds": joined(o.Kinds), "parent": o.Parent}})
	})
	if err != nil {
		return Org{}, err
	}
	return o, nil
}

// GetOrg returns one organization.
func (s *Service) GetOrg(ctx context.Context, creditCode string) (Org, error) {
	o, err := s.store.GetOrg(ctx, ids.NormalizeCreditCode(creditCode))
	if errors.Is(err, apperr.NotFound) {
		return Org{}, apperr.New(apperr.NotFound, "no organization has credit code %s", creditCode)
	}
	return o, err
}

// ListOrgs returns one page of organizations ordered by credit code. The
// cursor is opaque to callers.
func (s *Service) ListOrgs(ctx context.Context, f Filter, cursor string) (page.Page[Org], error) {
	var fs apperr.Fields
	if f.Kind != "" && !slices.Contains(Kinds(), f.Kind) {
		fs.Add("kind", "enum", "unknown organization kind")
	}
	if f.Region != "" {
		if err := ids.ValidateRegion(f.Region); err != nil {
			addIDError(&fs, "region", err)
		}
	}
	if f.Status != "" && f.Status != Active && f.Status != Inactive {
		fs.Add("status", "enum", "status is active or inactive")
	}
	limit, after := f.Limit, cursor
	page.AddArgs(&fs, &limit, &after)
	if err := fs.Err(); err != nil {
		return page.Page[Org]{}, err
	}
	f.Limit, f.After = limit+1, after
	items, err := s.store.ListOrgs(ctx, f)
	if err != nil {
		return page.Page[Org]{}, err
	}
	return page.Of(items, limit, func(o Org) string { return o.CreditCode }), nil
}

// Patch changes some fields of an organization; nil fields stay as they are.
type Patch struct {
	Name        *string
	Region      *string
	Kinds       *[]Kind
	Responsible *ResponsiblePatch
	Parent      *string // "" removes the parent
	Status      *Status
}

// ResponsiblePatch changes some fields of the responsible person.
type ResponsiblePatch struct {
	Name, Phone, Email *string
}

// OnlyContact reports whether the patch touches nothing but the name and the
// responsible person: what an organization may change about itself.
func (p Patch) OnlyContact() bool {
	return p.Region == nil && p.Kinds == nil && p.Parent == nil && p.Status == nil
}

// UpdateOrg applies a patch. Deactivating an organization revokes every
// token of its accounts in the same transaction: reactivating it later
// does not bring them back; its staff get new tokens.
func (s *Service) UpdateOrg(ctx context.Context, creditCode string, p Patch) (Org, error) {
	var out Org
	err := s.tx(ctx, func(st Tx) error {
		o, err := st.GetOrg(ctx, ids.NormalizeCreditCode(creditCode))
		if errors.Is(err, apperr.NotFound) {
			return apperr.New(apperr.NotFound, "no organization has credit code %s", creditCode)
		}
		if err != nil {
			return err
		}
		was := o
		applyPatch(&o, p)
		if err := validateOrg(o); err != nil {
			return err
		}
		if p.Parent != nil {
			if err := checkParent(ctx, st, o); err != nil {
				return err
			}
		}
		if o.HasKind(KindPlatform) && !was.HasKind(KindPlatform) {
			return conflictField("kinds", "single-platform", "the platform organization exists already")
		}
		if was.HasKind(KindPlatform) && (!o.HasKind(KindPlatform) || o.Status != Active) {
			return conflictField("kinds", "platform-kept", "the platform organization cannot give up its kind or be deactivated")
		}
		o.Version++
		o.UpdatedAt = s.now().UTC()
		if err := st.UpdateOrg(ctx, o); err != nil {
			return err
		}
		if was.Status == Active && o.Status == Inactive {
			if err := revokeOrgTokens(ctx, st, o.CreditCode, o.UpdatedAt); err != nil {
				return err
			}
		}
		out = o
		// The log names the fields that changed, never the responsible
		// person's contact details, which are encrypted at rest.
		return auditlog.Record(ctx, st, auditlog.Entry{At: o.UpdatedAt, Org: o.CreditCode, Action: "org.updated", Subject: o.CreditCode,
			Details: map[string]string{"changed": strings.Join(changedFields(was, o), ","), "status": string(o.Status), "version": strconv.FormatInt(o.Version, 10)}})
	})
	return out, err
}

// revokeOrgTokens revokes, through st, every token of org's accounts that
// is not revoked yet, each with its audit entry.
func revokeOrgTokens(ctx context.Context, st Tx, orgCode string, at time.Time) error {
	const batch = 500
	for after := ""; ; {
		ts, err := st.ListTokens(ctx, TokenFilter{Org: orgCode, After: after, Limit: batch})
		if err != nil {
			return err
		}
		for _, t := range ts {
			if t.RevokedAt != nil {
				continue
			}
			if err := st.RevokeToken(ctx, t.ID, at); err != nil {
				return err
			}
			if err := auditlog.Record(ctx, st, auditlog.Entry{At: at, Org: t.Org, Action: "token.revoked", Subject: t.ID,
				Details: map[string]string{"account": t.AccountID, "prefix": t.Prefix, "reason": "organization deactivated"}}); err != nil {
				return err
			}
		}
		if len(ts) < batch {
			return nil
		}
		after = ts[len(ts)-1].ID
	}
}

// changedFields names the API fields that differ between two versions.
func changedFields(was, is Org) []string {
	var out []string
	for _, f := range []struct {
		name    string
		changed bool
	}{
		{"name", was.Name != is.Name},
		{"region", was.Region != is.Region},
		{"kinds", !slices.Equal(was.Kinds, is.Kinds)},
		{"responsible.name", was.Responsible.Name != is.Responsible.Name},
		{"responsible.phone", was.Responsible.Phone != is.Responsible.Phone},
		{"responsible.email", was.Responsible.Email != is.Responsible.Email},
		{"parent", was.Parent != is.Parent},
		{"status", was.Status != is.Status},
	} {
		if f.changed {
			out = append(out, f.name)
		}
	}
	return out
}

// joined lists kinds or roles for an audit entry.
func joined[T ~string](xs []T) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return strings.Join(out, ",")
}

func applyPatch(o *Org, p Patch) {
	if p.Name != nil {
		o.Name = strings.TrimSpace(*p.Name)
	}
	if p.Region != nil {
		o.Region = strings.TrimSpace(*p.Region)
	}
	if p.Kinds != nil {
		o.Kinds = *p.Kinds
	}
	if r := p.Responsible; r != nil {
		if r.Name != nil {
			o.Responsible.Name = *r.Name
		}
		if r.Phone != nil {
			o.Responsible.Phone = *r.Phone
		}
		if r.Email != nil {
			o.Responsible.Email = *r.Email
		}
		o.Responsible = trimResponsible(o.Responsible)
	}
	if p.Parent != nil {
		o.Parent = ids.NormalizeCreditCode(*p.Parent)
	}
	if p.Status != nil {
		o.Status = *p.Status
	}
}

func trimResponsible(r Responsible) Responsible {
	return Responsible{
		Name:  strings.TrimSpace(r.Name),
		Phone: strings.TrimSpace(r.Phone),
		Email: strings.TrimSpace(r.Email),
	}
}

// phoneRule accepts a mainland mobile number or a landline with area code.
var phoneRule = regexp.MustCompile(`^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}(-[0-9]{1,6})?)$`)

func validateOrg(o Org) error {
	var fs apperr.Fields
	if err := ids.ValidateCreditCode(o.CreditCode); err != nil {
		addIDError(&fs, "credit_code", err)
	}
	checkName(&fs, "name", o.Name, 200)
	if err := ids.ValidateRegion(o.Region); err != nil {
		addIDError(&fs, "region", err)
	}
	if len(o.Kinds) == 0 {
		fs.Add("kinds", "required", "at least one kind is required")
	}
	for i, k := range o.Kinds {
		field := fmt.Sprintf("kinds[%d]", i)
		if !slices.Contains(Kinds(), k) {
			fs.Add(field, "enum", fmt.Sprintf("unknown kind %q", k))
		} else if slices.Index(o.Kinds, k) != i {
			fs.Add(field, "unique", fmt.Sprintf("kind %q is listed twice", k))
		}
	}
	checkName(&fs, "responsible.name", o.Responsible.Name, 50)
	if o.Responsible.Phone == "" {
		fs.Add("responsible.phone", "required", "a phone number is required")
	} else if !phoneRule.MatchString(o.Responsible.Phone) {
		fs.Add("responsible.phone", "phone", "not a mainland mobile or landline number")
	}
	if e := o.Responsible.Email; e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 254 {
			fs.Add("responsible.email", "email", "not an e-mail address")
		}
	}
	if o.Parent != "" {
		if err := ids.ValidateCreditCode(o.Parent); err != nil {
			addIDError(&fs, "parent", err)
		} else if o.Parent == o.CreditCode {
			fs.Add("parent", "not-self", "an organization cannot be its own parent")
		}
	}
	if o.Status != Active && o.Status != Inactive {
		fs.Add("status", "enum", "status is active or inactive")
	}
	return fs.Err()
}

// checkParent requires the parent to exist and be active, and forbids cycles.
func checkParent(ctx context.Context, st Reader, o Org) error {
	seen := map[string]bool{o.CreditCode: true}
	for code := o.Parent; code != ""; {
		p, err := st.GetOrg(ctx, code)
		if errors.Is(err, apperr.NotFound) {
			return invalidField("parent", "exists", "no organization has this credit code")
		}
		if err != nil {
			return err
		}
		if code == o.Parent && p.Status != Active {
			return invalidField("parent", "active", "the parent organization is inactive")
		}
		if seen[p.Parent] {
			return invalidField("parent", "no-cycle", "the parent chain would loop")
		}
		seen[code] = true
		code = p.Parent
	}
	return nil
}

// checkName checks a required name people read (apperr.Fields.Name).
func checkName(fs *apperr.Fields, field, v string, max int) {
	fs.Name(field, v, max, true)
}

// addIDError turns an identifier error into a field error under its rule.
func addIDError(fs *apperr.Fields, field string, err error) {
	var ie *ids.Error
	if errors.As(err, &ie) {
		fs.Add(field, ie.Rule, ie.Detail)
		return
	}
	fs.Add(field, "invalid", err.Error())
}

func invalidField(field, rule, detail string) error {
	return &apperr.Error{Kind: apperr.Invalid, Detail: detail, Fields: []apperr.FieldError{{Field: field, Rule: rule, Detail: detail}}}
}

func conflictField(field, rule, detail string) error {
	return &apperr.Error{Kind: apperr.Conflict, Detail: detail, Fields: []apperr.FieldError{{Field: field, Rule: rule, Detail: detail}}}
}

// rolesAllowedIn returns the roles an account of o may hold: platform-admin
// and auditor belong to the platform organization alone.
func rolesAllowedIn(o Org) []authz.Role {
	if o.HasKind(KindPlatform) {
		return authz.Roles()
	}
	var rs []authz.Role
	for _, r := range authz.Roles() {
		if r != authz.PlatformAdmin && r != authz.Auditor {
			rs = append(rs, r)
		}
	}
	return rs
}

// Platform returns the platform organization; NotFound before it exists.
func (s *Service) Platform(ctx context.Context) (Org, error) {
	list, err := s.store.ListOrgs(ctx, Filter{Kind: KindPlatform, Limit: 1})
	if err != nil {
		return Org{}, err
	}
	if len(list) == 0 {
		return Org{}, apperr.New(apperr.NotFound, "there is no platform organization: create one with `zhengzhao org create --kind platform` (the demo does)")
	}
	return list[0], nil
}
