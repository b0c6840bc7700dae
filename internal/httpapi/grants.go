package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// AuthorizationOf renders a holder's grant for the API.
func AuthorizationOf(g license.Grant) api.Authorization {
	fields := g.Fields
	if fields == nil {
		fields = []string{}
	}
	return api.Authorization{ID: g.ID, LicenseID: g.LicenseID, Issuer: g.Issuer, Org: g.Org, Matter: g.Matter, Fields: fields,
		ValidUntil: g.ValidUntil, State: string(g.State), CreatedAt: g.CreatedAt, WithdrawnAt: timeOrNil(g.WithdrawnAt)}
}

// ReissueRequestOf renders a reissue request for the API.
func ReissueRequestOf(r license.ReissueRequest) api.ReissueRequest {
	return api.ReissueRequest{ID: r.ID, LicenseID: r.LicenseID, Issuer: r.Issuer, RequestedBy: r.RequestedBy, Reason: r.Reason,
		State: string(r.State), Answer: r.Answer, ClosedBy: r.ClosedBy, CreatedAt: r.CreatedAt, ClosedAt: timeOrNil(r.ClosedAt)}
}

// timeOrNil is nil for the zero time.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type newAuthorizationInput struct {
	IdempotencyParam
	Body api.NewAuthorization
}

type authorizationOutput struct{ Body api.Authorization }

type authorizationIDInput struct {
	ID string `path:"id" maxLength:"40"`
}

type listAuthorizationsInput struct {
	ListParams
	State   string `query:"state" enum:"active,withdrawn,expired"`
	License string `query:"license" maxLength:"35" doc:"Only the grants of this license."`
}

type unitMattersInput struct {
	ListParams
	Unit string `path:"unit" maxLength:"18" doc:"The using unit's credit code."`
}

// UnitMatterOf renders a using unit's matter for a holder.
func UnitMatterOf(m license.Matter) api.UnitMatter {
	types := m.Types
	if types == nil {
		types = []string{}
	}
	return api.UnitMatter{Code: m.Code, Name: m.Name, Version: m.Version, Types: types}
}

type lossReportInput struct {
	ID   string `path:"id" maxLength:"35"`
	Body api.LossReport
}

type reissueRequestInput struct {
	IdempotencyParam
	ID   string `path:"id" maxLength:"35"`
	Body api.NewReissueRequest
}

type reissueRequestOutput struct{ Body api.ReissueRequest }

type listReissueRequestsInput struct {
	ListParams
	State string `query:"state" enum:"open,done,refused"`
}

type refuseReissueInput struct {
	ID   string `path:"id" maxLength:"40"`
	Body api.ReissueRefusal
}

// useLicenses is the policy of what a using unit reads of the grants made
// to its own organization.
func useLicenses() authz.Policy { return authz.Allow(authz.Own(authz.UsingUnit)) }

func (a *API) registerGrants() {
	register(a, huma.Operation{
		OperationID: "create-my-authorization", Method: http.MethodPost, Path: Prefix + "/me/authorizations", Tags: []string{"holders"},
		Summary: "Grant a using unit the use of a license the signed-in holder holds",
		Description: "授权用证 (R-HOL-3): the unit (an active using unit) may use the license, which must be in force, for one of its approved matters " +
			"needing the license's type, named by code, until valid_until (at most 366 days ahead, no later than the license's end), seeing unmasked the face fields named. Another holder's license answers 404 and the refusal is logged.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, authz.Holders(), func(ctx context.Context, in *newAuthorizationInput) (*authorizationOutput, error) {
		g, err := a.svc.Licenses.Grant(ctx, authz.ActorFrom(ctx), license.NewGrant{LicenseID: in.Body.LicenseID, Org: in.Body.Org,
			Matter: in.Body.Matter, Fields: in.Body.Fields, ValidUntil: in.Body.ValidUntil})
		if err != nil {
			return nil, err
		}
		return &authorizationOutput{Body: AuthorizationOf(g)}, nil
	})
	register(a, huma.Operation{
		OperationID: "list-my-authorizations", Method: http.MethodGet, Path: Prefix + "/me/authorizations", Tags: []string{"holders"},
		Summary:     "List the grants the signed-in holder made",
		Description: "Each license named on a page is recorded in the audit log as read by the holder.",
	}, authz.Holders(), func(ctx context.Context, in *listAuthorizationsInput) (*pageOutput[api.Authorization], error) {
		p, err := a.svc.Licenses.HolderGrants(ctx, authz.ActorFrom(ctx), license.GrantFilter{LicenseID: in.License,
			State: license.GrantState(in.State), Limit: in.Limit}, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, AuthorizationOf), nil
	})
	register(a, huma.Operation{
		OperationID: "withdraw-my-authorization", Method: http.MethodPost, Path: Prefix + "/me/authorizations/{id}/withdraw",
		Tags: []string{"holders"}, Summary: "Withdraw a grant the signed-in holder made",
		Description: "The unit may no longer use the license from now on. Withdrawing a grant already withdrawn changes nothing and answers it as it is. " +
			"Another holder's grant answers 404 and the refusal is logged.",
		Errors: []int{http.StatusNotFound},
	}, authz.Holders(), func(ctx context.Context, in *authorizationIDInput) (*authorizationOutput, error) {
		g, err := a.svc.Licenses.WithdrawGrant(ctx, authz.ActorFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &authorizationOutput{Body: AuthorizationOf(g)}, nil
	})
	register(a, huma.Operation{
		OperationID: "list-unit-matters-for-holder", Method: http.MethodGet, Path: Prefix + "/me/units/{unit}/matters", Tags: []string{"holders"},
		Summary: "The approved matters of a using unit, for the signed-in holder to choose one to grant",
		Description: "Code, name, approved version and license types of each matter of the unit with an approved version, by code; nothing else. " +
			"A unit that is unknown, inactive or no using unit answers 404.",
		Errors: []int{http.StatusNotFound},
	}, authz.Holders(), func(ctx context.Context, in *unitMattersInput) (*pageOutput[api.UnitMatter], error) {
		p, err := a.svc.Licenses.UnitMatters(ctx, authz.ActorFrom(ctx), in.Unit, in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, UnitMatterOf), nil
	})
	register(a, huma.Operation{
		OperationID: "list-authorizations", Method: http.MethodGet, Path: Prefix + "/authorizations", Tags: []string{"licenses"},
		Summary:     "List the grants holders made to the caller's organization, a using unit",
		Description: "Each license named on a page is recorded in the audit log as read by the account.",
	}, useLicenses(), func(ctx context.Context, in *listAuthorizationsInput) (*pageOutput[api.Authorization], error) {
		p, err := a.svc.Licenses.UnitGrants(ctx, authz.ActorFrom(ctx), license.GrantFilter{LicenseID: in.License,
			State: license.GrantState(in.State), Limit: in.Limit}, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, AuthorizationOf), nil
	})
	a.registerLossReports()
}

func (a *API) registerLossReports() {
	register(a, huma.Operation{
		OperationID: "report-my-license-lost", Method: http.MethodPost, Path: Prefix + "/me/licenses/{id}/loss-report", Tags: []string{"holders"},
		Summary: "Report a license the signed-in holder holds lost",
		Description: "挂失 (R-HOL-6): the transition report-lost with the holder as actor. The license stops verifying at once online and, " +
			"through its suspension bit, in the next status list. A license not active is refused with 409 (field operation, rule transition).",
		Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, authz.Holders(), func(ctx context.Context, in *lossReportInput) (*licenseOutput, error) {
		out, err := a.svc.Licenses.ReportLost(ctx, authz.ActorFrom(ctx), in.ID, in.Body.Reason)
		if err != nil {
			return nil, err
		}
		return &licenseOutput{Body: LicenseOf(out.License)}, nil
	})
	register(a, huma.Operation{
		OperationID: "request-my-license-reissue", Method: http.MethodPost, Path: Prefix + "/me/licenses/{id}/reissue-request",
		Tags: []string{"holders"}, Summary: "Ask the issuer to reissue a license the signed-in holder reported lost",
		Description:   "补办: one open request per license (409, rule open-request, for a second); the issuer's reissue closes it.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, authz.Holders(), func(ctx context.Context, in *reissueRequestInput) (*reissueRequestOutput, error) {
		r, err := a.svc.Licenses.RequestReissue(ctx, authz.ActorFrom(ctx), in.ID, in.Body.Reason)
		if err != nil {
			return nil, err
		}
		return &reissueRequestOutput{Body: ReissueRequestOf(r)}, nil
	})
	register(a, huma.Operation{
		OperationID: "list-my-license-reissue-requests", Method: http.MethodGet, Path: Prefix + "/me/licenses/{id}/reissue-requests",
		Tags: []string{"holders"}, Summary: "The reissue requests of a license the signed-in holder holds, with the issuer's answers",
		Errors: []int{http.StatusNotFound},
	}, authz.Holders(), func(ctx context.Context, in *licenseHistoryInput) (*pageOutput[api.ReissueRequest], error) {
		p, err := a.svc.Licenses.HolderReissueRequests(ctx, authz.ActorFrom(ctx), in.ID, in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, ReissueRequestOf), nil
	})
	register(a, huma.Operation{
		OperationID: "list-reissue-requests", Method: http.MethodGet, Path: Prefix + "/reissue-requests", Tags: []string{"licenses"},
		Summary:     "List the reissue requests of the licenses the caller's organization issues",
		Description: "The transition reissue of a license closes its open request (done).",
	}, issueLicenses(), func(ctx context.Context, in *listReissueRequestsInput) (*pageOutput[api.ReissueRequest], error) {
		p, err := a.svc.Licenses.ReissueRequests(ctx, authz.ActorFrom(ctx), license.ReissueFilter{State: license.ReissueState(in.State),
			Limit: in.Limit}, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, ReissueRequestOf), nil
	})
	register(a, huma.Operation{
		OperationID: "refuse-reissue-request", Method: http.MethodPost, Path: Prefix + "/reissue-requests/{id}/refuse", Tags: []string{"licenses"},
		Summary: "Refuse an open reissue request, with a reason", Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, issueLicenses(), func(ctx context.Context, in *refuseReissueInput) (*reissueRequestOutput, error) {
		r, err := a.svc.Licenses.RefuseReissue(ctx, authz.ActorFrom(ctx), in.ID, in.Body.Reason)
		if err != nil {
			return nil, err
		}
		return &reissueRequestOutput{Body: ReissueRequestOf(r)}, nil
	})
}
