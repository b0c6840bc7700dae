package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// MatterOf renders a matter for the API.
func MatterOf(m use.Matter) api.Matter {
	return api.Matter{Org: m.Org, Code: m.Code, Name: m.Name, CreatedBy: m.CreatedBy, CreatedAt: m.CreatedAt,
		LatestVersion: m.Latest, ApprovedVersion: m.Approved}
}

// MatterVersionOf renders a version of a matter for the API.
func MatterVersionOf(v use.MatterVersion) api.MatterVersion {
	needs := make([]api.MatterNeed, len(v.Needs))
	for i, n := range v.Needs {
		needs[i] = api.MatterNeed{Type: n.TypeCode, Fields: append([]string{}, n.Fields...)}
	}
	return api.MatterVersion{Org: v.Org, Code: v.Code, Number: v.Number,
		MatterContent: api.MatterContent{Name: v.Name, LegalBasis: v.LegalBasis, Needs: needs},
		State:         string(v.State), Author: v.Author, ProposedAt: v.ProposedAt, DecidedBy: v.DecidedBy, DecidedAt: timeOrNil(v.DecidedAt),
		Reason: v.Reason}
}

// MatterContentIn reads what a version of a matter says.
func MatterContentIn(c api.MatterContent) use.Content {
	needs := make([]use.Need, len(c.Needs))
	for i, n := range c.Needs {
		needs[i] = use.Need{TypeCode: n.Type, Fields: n.Fields}
	}
	return use.Content{Name: c.Name, LegalBasis: c.LegalBasis, Needs: needs}
}

// TypeGrantOf renders a type grant for the API, its state as of now.
func TypeGrantOf(now time.Time) func(use.TypeGrant) api.TypeGrant {
	return func(g use.TypeGrant) api.TypeGrant {
		return api.TypeGrant{ID: g.ID, Org: g.Org, Type: g.TypeCode, ValidUntil: timeOrNil(g.ValidUntil), State: string(g.StateAt(now)),
			GrantedBy: g.GrantedBy, GrantedAt: g.GrantedAt, ClosedBy: g.ClosedBy, ClosedAt: timeOrNil(g.ClosedAt), Reason: g.Reason}
	}
}

// readUse may read matters and type grants: a unit's staff their own
// unit's, platform admins and auditors every unit's (the service checks
// they belong to the platform organization).
func readUse() authz.Policy {
	return authz.Allow(authz.Any(authz.PlatformAdmin, authz.Auditor), authz.Own(authz.UsingUnit))
}

// writeMatters may list and change matters: a unit's own staff.
func writeMatters() authz.Policy { return authz.Allow(authz.Own(authz.UsingUnit)) }

// operateUse may review matters and grant or withdraw types: the platform
// operator; the service checks the admin belongs to the platform
// organization.
func operateUse() authz.Policy { return authz.Allow(authz.Any(authz.PlatformAdmin)) }

type createMatterInput struct {
	IdempotencyParam
	Body api.NewMatter
}

type matterVersionOutput struct{ Body api.MatterVersion }

type matterOutput struct{ Body api.Matter }

type listMattersInput struct {
	ListParams
	Org    string `query:"org" maxLength:"64" doc:"Only this unit's matters (a unit's staff read only their own)."`
	Usable bool   `query:"usable" doc:"Only the matters with an approved version."`
}

type matterInput struct {
	Org  string `path:"credit_code" maxLength:"64"`
	Code string `path:"code" maxLength:"32"`
}

type changeMatterInput struct {
	IdempotencyParam
	Org  string `path:"credit_code" maxLength:"64"`
	Code string `path:"code" maxLength:"32"`
	Body api.MatterContent
}

type listMatterVersionsInput struct {
	ListParams
	Org   string `path:"credit_code" maxLength:"64"`
	Code  string `path:"code" maxLength:"32"`
	State string `query:"state" enum:"pending,approved,refused,superseded"`
}

type allMatterVersionsInput struct {
	ListParams
	Org   string `query:"org" maxLength:"64" doc:"Only this unit's versions."`
	State string `query:"state" enum:"pending,approved,refused,superseded" doc:"pending: what waits for review."`
}

type matterVersionInput struct {
	Org    string `path:"credit_code" maxLength:"64"`
	Code   string `path:"code" maxLength:"32"`
	Number int    `path:"n" minimum:"1"`
}

type reviewMatterInput struct {
	IdempotencyParam
	Org    string `path:"credit_code" maxLength:"64"`
	Code   string `path:"code" maxLength:"32"`
	Number int    `path:"n" minimum:"1"`
	Body   api.MatterReview
}

type grantTypeInput struct {
	IdempotencyParam
	Body api.NewTypeGrant
}

type typeGrantOutput struct{ Body api.TypeGrant }

type listTypeGrantsInput struct {
	ListParams
	Org   string `query:"org" maxLength:"64" doc:"Only this unit's grants (a unit's staff read only their own)."`
	Type  string `query:"type" maxLength:"6"`
	State string `query:"state" enum:"active,expired,withdrawn"`
}

type typeGrantInput struct {
	ID string `path:"id" maxLength:"64"`
}

type withdrawTypeGrantInput struct {
	IdempotencyParam
	ID   string `path:"id" maxLength:"64"`
	Body api.Withdrawal
}

func (a *API) registerUse() {
	a.registerCreateMatter()
	a.registerListMatters()
	a.registerGetMatter()
	a.registerChangeMatter()
	a.registerListMatterVersions()
	a.registerGetMatterVersion()
	a.registerListAllMatterVersions()
	a.registerApproveMatter()
	a.registerRefuseMatter()
	a.registerGrantType()
	a.registerListTypeGrants()
	a.registerGetTypeGrant()
	a.registerWithdrawTypeGrant()
	a.registerUseLicenses()
	a.registerAttachToCase()
	a.registerListCase()
	a.registerUsageReport()
}

func (a *API) registerCreateMatter() {
	register(a, huma.Operation{
		OperationID: "create-matter", Method: http.MethodPost, Path: Prefix + "/use/matters", Tags: []string{"use"},
		Summary:       "List a matter of your using unit",
		Description:   "登记用证事项。The matter's first version waits, pending, for a platform admin's approval; the matter is usable only once a version is approved.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict},
	}, writeMatters(), func(ctx context.Context, in *createMatterInput) (*matterVersionOutput, error) {
		v, err := a.svc.Use.CreateMatter(ctx, authz.ActorFrom(ctx), use.NewMatter{Code: in.Body.Code, Content: MatterContentIn(in.Body.MatterContent)})
		if err != nil {
			return nil, err
		}
		return &matterVersionOutput{Body: MatterVersionOf(v)}, nil
	})
}

func (a *API) registerListMatters() {
	register(a, huma.Operation{
		OperationID: "list-matters", Method: http.MethodGet, Path: Prefix + "/use/matters", Tags: []string{"use"},
		Summary: "List matters: a unit's own to its staff, every unit's to platform admins and auditors",
	}, readUse(), func(ctx context.Context, in *listMattersInput) (*pageOutput[api.Matter], error) {
		p, err := a.svc.Use.ListMatters(ctx, authz.ActorFrom(ctx), use.MatterFilter{Org: in.Org, Usable: in.Usable, Limit: in.Limit}, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, MatterOf), nil
	})
}

func (a *API) registerGetMatter() {
	register(a, huma.Operation{
		OperationID: "get-matter", Method: http.MethodGet, Path: Prefix + "/use/matters/{credit_code}/{code}", Tags: []string{"use"},
		Summary: "Get a matter", Errors: []int{http.StatusNotFound},
	}, readUse().About("credit_code"), func(ctx context.Context, in *matterInput) (*matterOutput, error) {
		m, err := a.svc.Use.GetMatter(ctx, authz.ActorFrom(ctx), in.Org, in.Code)
		if err != nil {
			return nil, err
		}
		return &matterOutput{Body: MatterOf(m)}, nil
	})
}

func (a *API) registerChangeMatter() {
	register(a, huma.Operation{
		OperationID: "change-matter", Method: http.MethodPost, Path: Prefix + "/use/matters/{credit_code}/{code}/versions", Tags: []string{"use"},
		Summary: "Change a matter: write its next version",
		Description: "变更用证事项。The new version waits for approval; until then the approved version stays the usable one. " +
			"A version still pending is superseded by the new one.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, writeMatters().About("credit_code"), func(ctx context.Context, in *changeMatterInput) (*matterVersionOutput, error) {
		v, err := a.svc.Use.ChangeMatter(ctx, authz.ActorFrom(ctx), in.Org, in.Code, MatterContentIn(in.Body))
		if err != nil {
			return nil, err
		}
		return &matterVersionOutput{Body: MatterVersionOf(v)}, nil
	})
}

func (a *API) registerListMatterVersions() {
	register(a, huma.Operation{
		OperationID: "list-matter-versions", Method: http.MethodGet, Path: Prefix + "/use/matters/{credit_code}/{code}/versions", Tags: []string{"use"},
		Summary: "List the versions of a matter, oldest first", Errors: []int{http.StatusNotFound},
	}, readUse().About("credit_code"), func(ctx context.Context, in *listMatterVersionsInput) (*pageOutput[api.MatterVersion], error) {
		p, err := a.svc.Use.ListVersions(ctx, authz.ActorFrom(ctx), use.VersionFilter{Org: in.Org, Code: in.Code, State: use.State(in.State), Limit: in.Limit}, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, MatterVersionOf), nil
	})
}

func (a *API) registerGetMatterVersion() {
	register(a, huma.Operation{
		OperationID: "get-matter-version", Method: http.MethodGet, Path: Prefix + "/use/matters/{credit_code}/{code}/versions/{n}", Tags: []string{"use"},
		Summary: "Get a version of a matter", Errors: []int{http.StatusNotFound},
	}, readUse().About("credit_code"), func(ctx context.Context, in *matterVersionInput) (*matterVersionOutput, error) {
		v, err := a.svc.Use.GetVersion(ctx, authz.ActorFrom(ctx), in.Org, in.Code, in.Number)
		if err != nil {
			return nil, err
		}
		return &matterVersionOutput{Body: MatterVersionOf(v)}, nil
	})
}

func (a *API) registerListAllMatterVersions() {
	register(a, huma.Operation{
		OperationID: "list-all-matter-versions", Method: http.MethodGet, Path: Prefix + "/use/matter-versions", Tags: []string{"use"},
		Summary:     "List matter versions across units",
		Description: "With state=pending: the versions waiting for a platform admin's review. A unit's staff see their own unit's only.",
	}, readUse(), func(ctx context.Context, in *allMatterVersionsInput) (*pageOutput[api.MatterVersion], error) {
		p, err := a.svc.Use.ListVersions(ctx, authz.ActorFrom(ctx), use.VersionFilter{Org: in.Org, State: use.State(in.State), Limit: in.Limit}, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, MatterVersionOf), nil
	})
}

func (a *API) registerApproveMatter() {
	register(a, huma.Operation{
		OperationID: "approve-matter-version", Method: http.MethodPost, Path: Prefix + "/use/matters/{credit_code}/{code}/versions/{n}/approve", Tags: []string{"use"},
		Summary:     "Approve a pending version of a matter",
		Description: "审核通过：the version becomes the matter's usable one. A platform admin of the platform organization, not the version's author.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, operateUse(), func(ctx context.Context, in *reviewMatterInput) (*matterVersionOutput, error) {
		v, err := a.svc.Use.Approve(ctx, authz.ActorFrom(ctx), in.Org, in.Code, in.Number, in.Body.Reason)
		if err != nil {
			return nil, err
		}
		return &matterVersionOutput{Body: MatterVersionOf(v)}, nil
	})
}

func (a *API) registerRefuseMatter() {
	register(a, huma.Operation{
		OperationID: "refuse-matter-version", Method: http.MethodPost, Path: Prefix + "/use/matters/{credit_code}/{code}/versions/{n}/refuse", Tags: []string{"use"},
		Summary:     "Refuse a pending version of a matter, with a reason",
		Description: "审核不通过：the matter keeps its usable version, if any; the unit writes a corrected version.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, operateUse(), func(ctx context.Context, in *reviewMatterInput) (*matterVersionOutput, error) {
		v, err := a.svc.Use.Refuse(ctx, authz.ActorFrom(ctx), in.Org, in.Code, in.Number, in.Body.Reason)
		if err != nil {
			return nil, err
		}
		return &matterVersionOutput{Body: MatterVersionOf(v)}, nil
	})
}

func (a *API) registerGrantType() {
	register(a, huma.Operation{
		OperationID: "grant-license-type", Method: http.MethodPost, Path: Prefix + "/use/grants", Tags: []string{"use"},
		Summary:       "Grant a using unit access to a license type",
		Description:   "一证一接口：the unit may use licenses of the type, for its approved matters that need it, until valid_until or a withdrawal.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict},
	}, operateUse(), func(ctx context.Context, in *grantTypeInput) (*typeGrantOutput, error) {
		n := use.NewTypeGrant{Org: in.Body.Org, TypeCode: in.Body.Type, Reason: in.Body.Reason}
		if in.Body.ValidUntil != nil {
			n.ValidUntil = *in.Body.ValidUntil
		}
		g, err := a.svc.Use.GrantType(ctx, authz.ActorFrom(ctx), n)
		if err != nil {
			return nil, err
		}
		return &typeGrantOutput{Body: TypeGrantOf(a.svc.Use.Now())(g)}, nil
	})
}

func (a *API) registerListTypeGrants() {
	register(a, huma.Operation{
		OperationID: "list-type-grants", Method: http.MethodGet, Path: Prefix + "/use/grants", Tags: []string{"use"},
		Summary: "List type grants, oldest first: a unit's own to its staff, every unit's to platform admins and auditors",
	}, readUse(), func(ctx context.Context, in *listTypeGrantsInput) (*pageOutput[api.TypeGrant], error) {
		p, err := a.svc.Use.ListTypeGrants(ctx, authz.ActorFrom(ctx), use.GrantFilter{Org: in.Org, TypeCode: in.Type, State: use.GrantState(in.State),
			Limit: in.Limit}, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, TypeGrantOf(a.svc.Use.Now())), nil
	})
}

func (a *API) registerGetTypeGrant() {
	register(a, huma.Operation{
		OperationID: "get-type-grant", Method: http.MethodGet, Path: Prefix + "/use/grants/{id}", Tags: []string{"use"},
		Summary: "Get a type grant", Errors: []int{http.StatusNotFound},
	}, readUse(), func(ctx context.Context, in *typeGrantInput) (*typeGrantOutput, error) {
		g, err := a.svc.Use.GetTypeGrant(ctx, authz.ActorFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &typeGrantOutput{Body: TypeGrantOf(a.svc.Use.Now())(g)}, nil
	})
}

func (a *API) registerWithdrawTypeGrant() {
	register(a, huma.Operation{
		OperationID: "withdraw-type-grant", Method: http.MethodPost, Path: Prefix + "/use/grants/{id}/withdraw", Tags: []string{"use"},
		Summary:     "Withdraw a type grant, with a reason",
		Description: "撤销授权：the unit loses access to the type at once; the grant stays on record, withdrawn.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, operateUse(), func(ctx context.Context, in *withdrawTypeGrantInput) (*typeGrantOutput, error) {
		g, err := a.svc.Use.WithdrawTypeGrant(ctx, authz.ActorFrom(ctx), in.ID, in.Body.Reason)
		if err != nil {
			return nil, err
		}
		return &typeGrantOutput{Body: TypeGrantOf(a.svc.Use.Now())(g)}, nil
	})
}

// UseResultOf renders a use's answer for the API.
func UseResultOf(r use.Result) api.UseResult {
	out := api.UseResult{Org: r.Org, Matter: r.Matter, MatterVersion: r.MatterVersion, Use: r.Use, Case: r.Case,
		Licenses: make([]api.UsedLicense, len(r.Licenses))}
	for i, l := range r.Licenses {
		fields := make(map[string]api.UsedField, len(l.Fields))
		for k, f := range l.Fields {
			fields[k] = api.UsedField{Value: f.Value, Masked: f.Masked, Unmasked: f.Unmasked}
		}
		out.Licenses[i] = api.UsedLicense{ID: l.ID, Type: l.TypeCode, TypeVersion: l.TypeVersion, Issuer: l.Issuer, State: string(l.State),
			ValidFrom: l.ValidFrom, ValidUntil: l.ValidUntil, Fields: fields}
	}
	return out
}

type useInput struct{ Body api.UseQuery }

type useOutput struct{ Body api.UseResult }

func (a *API) registerUseLicenses() {
	register(a, huma.Operation{
		OperationID: "use-licenses", Method: http.MethodPost, Path: Prefix + "/uses", Tags: []string{"use"},
		Summary: "Use one holder's licenses for a matter of your unit",
		Description: "按事项用证。Returns the licenses in force of one holder, of the types the matter's approved version needs and your unit is granted, " +
			"with only the fields the matter needs, masked unless the holder authorized your unit for the matter. " +
			"Every license returned is audited (license.used); a refusal too (use.refused). Each unit has a rate of uses per server process: " +
			"over it the answer is 429 with Retry-After.",
		Errors: []int{http.StatusTooManyRequests},
	}, writeMatters(), func(ctx context.Context, in *useInput) (*useOutput, error) {
		r, err := a.svc.Use.Use(ctx, authz.ActorFrom(ctx), use.Query{Matter: in.Body.Matter, HolderID: in.Body.HolderID, TypeCode: in.Body.Type,
			Case: in.Body.Case})
		if secs, ok := use.RetryAfter(err); ok {
			return nil, huma.ErrorWithHeaders(err, http.Header{"Retry-After": {strconv.Itoa(secs)}})
		}
		if err != nil {
			return nil, err
		}
		return &useOutput{Body: UseResultOf(r)}, nil
	})
}

// CaseRecordOf renders a record of a case for the API.
func CaseRecordOf(r use.CaseRecord) api.CaseRecord {
	return api.CaseRecord{Org: r.Org, Case: r.Case, License: r.LicenseID, Type: r.TypeCode, Number: r.Number, Use: r.Use,
		Matter: r.Matter, MatterVersion: r.MatterVersion, UsedBy: r.UsedBy, UsedAt: r.UsedAt, AttachedBy: r.AttachedBy,
		AttachedAt: r.AttachedAt, Entry: r.Entry}
}

// UsageReportOf renders a usage report for the API.
func UsageReportOf(q use.ReportQuery, rows []use.UsageRow) api.UsageReport {
	out := api.UsageReport{From: q.From, To: q.To, Rows: make([]api.UsageRow, len(rows))}
	if out.To == "" {
		out.To = out.From
	}
	for i, r := range rows {
		out.Rows[i] = api.UsageRow{Issuer: r.Issuer, Unit: r.Unit, Matter: r.Matter, Month: r.Month, Uses: r.Uses, Refusals: r.Refusals}
	}
	return out
}

// readUsage may read usage reports: an organization's issuers, admins and
// auditors their own licenses', platform admins and auditors of the
// platform organization every issuer's (the service checks which).
func readUsage() authz.Policy {
	return authz.Allow(authz.Any(authz.PlatformAdmin, authz.Auditor), authz.Own(authz.Issuer, authz.OrgAdmin))
}

type attachInput struct {
	IdempotencyParam
	Case string `path:"case" maxLength:"256" doc:"Your unit's case number."`
	Body api.CaseAttachment
}

type caseRecordOutput struct{ Body api.CaseRecord }

type listCaseInput struct {
	ListParams
	Case string `path:"case" maxLength:"256"`
	Org  string `query:"org" maxLength:"64" doc:"The unit: platform admins and auditors name it; a unit's staff read only their own."`
}

type usageReportInput struct {
	From   string `query:"from" maxLength:"7" doc:"The first month, YYYY-MM (China Standard Time)."`
	To     string `query:"to" maxLength:"7" doc:"The last month, YYYY-MM; from alone when absent."`
	Issuer string `query:"issuer" maxLength:"64" doc:"The issuer: platform admins and auditors name it or read every issuer's; an organization reads only its own."`
}

type usageReportOutput struct{ Body api.UsageReport }

func (a *API) registerAttachToCase() {
	register(a, huma.Operation{
		OperationID: "attach-to-case", Method: http.MethodPost, Path: Prefix + "/use/cases/{case}/records", Tags: []string{"use"},
		Summary: "Keep a license one of your unit's uses returned with a case of your unit",
		Description: "用证归档。Attaching what the case holds already changes nothing and answers the record. The attachment is audited " +
			"(use.case-attached); a use that named the case kept its licenses with it already.",
		Errors: []int{http.StatusNotFound},
	}, writeMatters(), func(ctx context.Context, in *attachInput) (*caseRecordOutput, error) {
		r, err := a.svc.Use.Attach(ctx, authz.ActorFrom(ctx), use.Attachment{Case: in.Case, Use: in.Body.Use, LicenseID: in.Body.License})
		if err != nil {
			return nil, err
		}
		return &caseRecordOutput{Body: CaseRecordOf(r)}, nil
	})
}

func (a *API) registerListCase() {
	register(a, huma.Operation{
		OperationID: "list-case", Method: http.MethodGet, Path: Prefix + "/use/cases/{case}", Tags: []string{"use"},
		Summary:     "List the licenses kept with a case of your unit",
		Description: "Which license, type, number, matter, when, by whom, and the index of the use's audit entry, in the order of the uses.",
	}, readUse(), func(ctx context.Context, in *listCaseInput) (*pageOutput[api.CaseRecord], error) {
		p, err := a.svc.Use.ListCase(ctx, authz.ActorFrom(ctx), in.Org, in.Case, in.Cursor, in.Limit)
		if err != nil {
			return nil, err
		}
		return pageOut(p, CaseRecordOf), nil
	})
}

func (a *API) registerUsageReport() {
	register(a, huma.Operation{
		OperationID: "usage-report", Method: http.MethodGet, Path: Prefix + "/use/reports", Tags: []string{"use"},
		Summary: "How your organization's licenses were used, by using unit, matter and month",
		Description: "用证统计。Counts, from the audit log as integrated, the licenses returned by scoped uses and the online redemptions " +
			"accepted (uses) and refused (refusals), per month of China Standard Time.",
	}, readUsage(), func(ctx context.Context, in *usageReportInput) (*usageReportOutput, error) {
		q := use.ReportQuery{From: in.From, To: in.To, Issuer: in.Issuer}
		rows, err := a.svc.Use.Report(ctx, authz.ActorFrom(ctx), q)
		if err != nil {
			return nil, err
		}
		return &usageReportOutput{Body: UsageReportOf(q, rows)}, nil
	})
}
