package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
)

// OrgOf renders an organization for the API (and the CLI's --json).
func OrgOf(o org.Org) api.Org {
	kinds := make([]string, len(o.Kinds))
	for i, k := range o.Kinds {
		kinds[i] = string(k)
	}
	return api.Org{
		CreditCode: o.CreditCode, Name: o.Name, Region: o.Region, Kinds: kinds,
		Responsible: api.Responsible(o.Responsible), Parent: o.Parent, Status: string(o.Status),
		Version: o.Version, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
}

func kindsIn(ks []string) []org.Kind {
	out := make([]org.Kind, len(ks))
	for i, k := range ks {
		out[i] = org.Kind(k)
	}
	return out
}

type orgOutput struct {
	Body api.Org
}

type createOrgInput struct {
	IdempotencyParam
	Body struct {
		CreditCode  string          `json:"credit_code" maxLength:"64"`
		Name        string          `json:"name" maxLength:"1000"`
		Region      string          `json:"region" maxLength:"64"`
		Kinds       []string        `json:"kinds" maxItems:"5" enum:"platform,issuer,using-unit,industry-authority,seal-user"`
		Responsible api.Responsible `json:"responsible"`
		Parent      string          `json:"parent,omitempty" maxLength:"64"`
	}
}

type getOrgInput struct {
	CreditCode string `path:"credit_code" maxLength:"64"`
}

type listOrgsInput struct {
	ListParams
	Kind   string `query:"kind" enum:"platform,issuer,using-unit,industry-authority,seal-user" doc:"Only organizations of this kind."`
	Region string `query:"region" maxLength:"6" doc:"Only organizations in this region code."`
	Status string `query:"status" enum:"active,inactive"`
}

type patchOrgInput struct {
	CreditCode string `path:"credit_code" maxLength:"64"`
	Body       struct {
		Name        *string   `json:"name,omitempty" maxLength:"1000"`
		Region      *string   `json:"region,omitempty" maxLength:"64"`
		Kinds       *[]string `json:"kinds,omitempty" maxItems:"5" enum:"platform,issuer,using-unit,industry-authority,seal-user"`
		Responsible *struct {
			Name  *string `json:"name,omitempty"`
			Phone *string `json:"phone,omitempty"`
			Email *string `json:"email,omitempty"`
		} `json:"responsible,omitempty"`
		Parent *string `json:"parent,omitempty" maxLength:"64" doc:"Empty string removes the parent."`
		Status *string `json:"status,omitempty" enum:"active,inactive" doc:"inactive deactivates the organization: its tokens stop working."`
	}
}

var (
	everyRole = authz.Roles()
	staff     = []authz.Role{authz.OrgAdmin, authz.Issuer, authz.SealKeeper, authz.SealApprover, authz.UsingUnit}
)

func (a *API) registerOrgs() {
	a.registerCreateOrg()
	a.registerListOrgs()
	a.registerGetOrg()
	a.registerUpdateOrg()
}

func (a *API) registerCreateOrg() {
	register(a, huma.Operation{
		OperationID: "create-org", Method: http.MethodPost, Path: Prefix + "/orgs", Tags: []string{"organizations"},
		Summary:       "Create an organization",
		Description:   "创建单位。The credit code and region are validated with their check rules; the responsible person (专人专管) is required.",
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusConflict},
	}, authz.Allow(authz.Any(authz.PlatformAdmin)), func(ctx context.Context, in *createOrgInput) (*orgOutput, error) {
		b := in.Body
		o, err := a.svc.Orgs.CreateOrg(ctx, org.NewOrg{
			CreditCode: b.CreditCode, Name: b.Name, Region: b.Region, Kinds: kindsIn(b.Kinds),
			Responsible: org.Responsible(b.Responsible), Parent: b.Parent,
		})
		if err != nil {
			return nil, err
		}
		return &orgOutput{Body: OrgOf(o)}, nil
	})
}

func (a *API) registerListOrgs() {
	listPolicy := authz.Allow(authz.Any(authz.PlatformAdmin, authz.Auditor), authz.Own(staff...))
	register(a, huma.Operation{
		OperationID: "list-orgs", Method: http.MethodGet, Path: Prefix + "/orgs", Tags: []string{"organizations"},
		Summary:     "List organizations",
		Description: "列出单位，按信用代码排序，可按类型、区划、状态筛选。Callers limited to their own organization see only it.",
	}, listPolicy, func(ctx context.Context, in *listOrgsInput) (*pageOutput[api.Org], error) {
		f := org.Filter{Kind: org.Kind(in.Kind), Region: in.Region, Status: org.Status(in.Status), Limit: in.Limit}
		if scope, actor := scopeOf(ctx, listPolicy); scope != authz.AnyOrg {
			f.CreditCode = actor.Org
		}
		p, err := a.svc.Orgs.ListOrgs(ctx, f, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, OrgOf), nil
	})
}

func (a *API) registerGetOrg() {
	register(a, huma.Operation{
		OperationID: "get-org", Method: http.MethodGet, Path: Prefix + "/orgs/{credit_code}", Tags: []string{"organizations"},
		Summary: "Get an organization", Errors: []int{http.StatusNotFound},
	}, authz.Allow(authz.Any(authz.PlatformAdmin, authz.Auditor), authz.Own(staff...)).About("credit_code"),
		func(ctx context.Context, in *getOrgInput) (*orgOutput, error) {
			o, err := a.svc.Orgs.GetOrg(ctx, in.CreditCode)
			if err != nil {
				return nil, err
			}
			return &orgOutput{Body: OrgOf(o)}, nil
		})
}

func (a *API) registerUpdateOrg() {
	patchPolicy := authz.Allow(authz.Any(authz.PlatformAdmin), authz.Own(authz.OrgAdmin)).About("credit_code")
	register(a, huma.Operation{
		OperationID: "update-org", Method: http.MethodPatch, Path: Prefix + "/orgs/{credit_code}", Tags: []string{"organizations"},
		Summary:     "Update or deactivate an organization",
		Description: "修改单位信息；status=inactive 停用单位。An organization's own admin may change only its name and responsible person.",
		Errors:      []int{http.StatusNotFound, http.StatusConflict},
	}, patchPolicy, func(ctx context.Context, in *patchOrgInput) (*orgOutput, error) {
		b := in.Body
		p := org.Patch{Name: b.Name, Region: b.Region, Parent: b.Parent}
		if b.Kinds != nil {
			ks := kindsIn(*b.Kinds)
			p.Kinds = &ks
		}
		if b.Status != nil {
			s := org.Status(*b.Status)
			p.Status = &s
		}
		if r := b.Responsible; r != nil {
			p.Responsible = &org.ResponsiblePatch{Name: r.Name, Phone: r.Phone, Email: r.Email}
		}
		if scope, _ := scopeOf(ctx, patchPolicy); scope != authz.AnyOrg {
			if err := forbidIf(!p.OnlyContact(), "$", "own-org-fields", "only the platform may change region, kinds, parent or status"); err != nil {
				return nil, err
			}
		}
		o, err := a.svc.Orgs.UpdateOrg(ctx, in.CreditCode, p)
		if err != nil {
			return nil, err
		}
		return &orgOutput{Body: OrgOf(o)}, nil
	})
}
