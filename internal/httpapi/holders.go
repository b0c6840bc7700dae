package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/license"
)

// HolderPagePath is where the callback of a browser sign-in sends the
// holder, the session in the fragment (#session=…), which the browser
// never sends to any server.
const HolderPagePath = "/holder/"

// HolderSessionOf renders a new holder session for the API.
func HolderSessionOf(secret string, s holder.Session, h holder.Holder, idle time.Duration) api.HolderSession {
	return api.HolderSession{Token: secret, HolderSessionInfo: HolderSessionInfoOf(s, h, idle)}
}

// HolderSessionInfoOf renders who a holder session is, without its secret.
func HolderSessionInfoOf(s holder.Session, h holder.Holder, idle time.Duration) api.HolderSessionInfo {
	return api.HolderSessionInfo{SessionID: s.ID, Method: s.Method, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt,
		IdleSecs: int64(idle / time.Second), Holder: api.Holder{ID: h.ID, Kind: string(h.Kind), Name: h.Name, Representative: s.Representative}}
}

type holderSessionInfoOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         api.HolderSessionInfo
}

type holderLoginOutput struct {
	Status       int
	Location     string `header:"Location"`
	CacheControl string `header:"Cache-Control"`
}

type holderCallbackInput struct {
	State  string `query:"state" maxLength:"200"`
	Code   string `query:"code" maxLength:"4096"`
	Error  string `query:"error" maxLength:"200" doc:"Set by the provider when the sign-in failed or was cancelled."`
	Accept string `header:"Accept"`
}

type holderSessionOutput struct {
	Status         int
	Location       string `header:"Location"`
	CacheControl   string `header:"Cache-Control"`
	ReferrerPolicy string `header:"Referrer-Policy"`
	Body           *api.HolderSession
}

type holderDemoLoginInput struct {
	Body api.HolderDemoLogin
}

// holders returns the holder service, or Unavailable.
func (a *API) holders() (*holder.Service, error) {
	if a.svc.Holders == nil {
		return nil, apperr.New(apperr.Unavailable, "holder sign-in is not available")
	}
	return a.svc.Holders, nil
}

// oidc returns the OpenID Connect sign-in, or NotFound when none is
// configured.
func (a *API) oidc() (*holder.OIDC, error) {
	if a.svc.HolderOIDC == nil {
		return nil, apperr.New(apperr.NotFound, "no identity provider is configured for holders")
	}
	return a.svc.HolderOIDC, nil
}

// sessionAnswer answers a new session: JSON when the caller asks for it
// (Accept: application/json), otherwise a redirect of the browser to the
// holder page with the session in the fragment.
func (a *API) sessionAnswer(accept, secret string, s holder.Session, h holder.Holder, status int) *holderSessionOutput {
	out := HolderSessionOf(secret, s, h, a.svc.Holders.Config().Idle)
	if strings.Contains(accept, "application/json") {
		return &holderSessionOutput{Status: status, CacheControl: "no-store", Body: &out}
	}
	frag := url.Values{"session": {secret}, "expires_at": {s.ExpiresAt.Format(time.RFC3339)}}
	return &holderSessionOutput{Status: http.StatusSeeOther, Location: HolderPagePath + "#" + frag.Encode(), CacheControl: "no-store",
		ReferrerPolicy: "no-referrer"}
}

type holderLoginOptionsOutput struct {
	Body api.HolderLoginOptions
}

func (a *API) registerHolders() {
	register(a, huma.Operation{
		OperationID: "holder-login-options", Method: http.MethodGet, Path: Prefix + "/holder/login-options", Tags: []string{"holders"},
		Summary:     "How holders may sign in on this platform",
		Description: "Whether an identity provider is configured (GET /api/v1/holder/login) and whether the demo login is on: the holder page offers those.",
	}, authz.Public(), func(_ context.Context, _ *struct{}) (*holderLoginOptionsOutput, error) {
		out := api.HolderLoginOptions{OIDC: a.svc.HolderOIDC != nil}
		if a.svc.Holders != nil {
			out.Demo = a.svc.Holders.Config().Demo
		}
		return &holderLoginOptionsOutput{Body: out}, nil
	})
	register(a, huma.Operation{
		OperationID: "holder-login", Method: http.MethodGet, Path: Prefix + "/holder/login", Tags: []string{"holders"},
		Summary: "Begin a holder's sign-in with the identity provider",
		Description: "持证主体登录。Redirects the browser to the OpenID Connect provider (authorization code flow with PKCE, state and nonce); " +
			"the provider sends it back to GET /api/v1/holder/callback. 404 when no provider is configured.",
		DefaultStatus: http.StatusFound, Errors: []int{http.StatusNotFound, http.StatusServiceUnavailable},
	}, authz.Public(), func(ctx context.Context, _ *struct{}) (*holderLoginOutput, error) {
		o, err := a.oidc()
		if err != nil {
			return nil, err
		}
		to, err := o.Begin(ctx)
		if err != nil {
			return nil, err
		}
		return &holderLoginOutput{Status: http.StatusFound, Location: to, CacheControl: "no-store"}, nil
	})
	register(a, huma.Operation{
		OperationID: "holder-callback", Method: http.MethodGet, Path: Prefix + "/holder/callback", Tags: []string{"holders"},
		Summary: "Finish a holder's sign-in: the identity provider's redirect",
		Description: "Verifies the provider's answer (one-time state, PKCE, ID token and nonce) and starts a holder session. " +
			"A browser is redirected (303) to /holder/#session=<token>&expires_at=…; a caller sending Accept: application/json gets the session as JSON (201). " +
			"A state unknown, used or expired, or an ID token that does not verify, is refused with 403 naming the rule.",
		DefaultStatus: http.StatusSeeOther, Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable},
		Responses: map[string]*huma.Response{"201": {Description: "the holder session, when asked for JSON"}},
	}, authz.Public(), func(ctx context.Context, in *holderCallbackInput) (*holderSessionOutput, error) {
		o, err := a.oidc()
		if err != nil {
			return nil, err
		}
		if in.Error != "" {
			return nil, &apperr.Error{Kind: apperr.Forbidden, Detail: "the identity provider did not sign the holder in",
				Fields: []apperr.FieldError{{Field: "error", Rule: "provider", Detail: in.Error}}}
		}
		secret, s, h, err := o.Finish(ctx, in.State, in.Code)
		if err != nil {
			return nil, err
		}
		return a.sessionAnswer(in.Accept, secret, s, h, http.StatusCreated), nil
	})
	register(a, huma.Operation{
		OperationID: "holder-demo-login", Method: http.MethodPost, Path: Prefix + "/holder/demo-login", Tags: []string{"holders"},
		Summary: "Sign in as a holder without proof (demo only)",
		Description: "演示登录: starts a holder session for the person (citizen_id) or organization (credit_code) named, without any proof. " +
			"Only a platform started with --holder-demo-login (zhengzhao demo) offers it; otherwise 404.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound},
	}, authz.Public(), func(ctx context.Context, in *holderDemoLoginInput) (*holderSessionOutput, error) {
		svc, err := a.holders()
		if err != nil {
			return nil, err
		}
		c := holder.Claims{Kind: catalog.HolderPerson, Identifier: in.Body.CitizenID, Name: in.Body.Name, Representative: in.Body.Representative}
		if in.Body.CreditCode != "" {
			c.Kind, c.Identifier = catalog.HolderOrganization, in.Body.CreditCode
		}
		secret, s, h, err := svc.DemoSignIn(ctx, c)
		if err != nil {
			return nil, err
		}
		return a.sessionAnswer("application/json", secret, s, h, http.StatusCreated), nil
	})
	register(a, huma.Operation{
		OperationID: "get-holder-session", Method: http.MethodGet, Path: Prefix + "/holder/session", Tags: []string{"holders"},
		Summary: "Who am I, for a holder: the signed-in holder and its session",
	}, authz.Holders(), func(ctx context.Context, _ *struct{}) (*holderSessionInfoOutput, error) {
		svc, err := a.holders()
		if err != nil {
			return nil, err
		}
		s, h, err := svc.Current(ctx, authz.ActorFrom(ctx))
		if err != nil {
			return nil, err
		}
		return &holderSessionInfoOutput{CacheControl: "no-store", Body: HolderSessionInfoOf(s, h, svc.Config().Idle)}, nil
	})
	register(a, huma.Operation{
		OperationID: "holder-logout", Method: http.MethodPost, Path: Prefix + "/holder/logout", Tags: []string{"holders"},
		Summary: "End the caller's holder session", DefaultStatus: http.StatusNoContent,
	}, authz.Holders(), func(ctx context.Context, _ *struct{}) (*struct{}, error) {
		svc, err := a.holders()
		if err != nil {
			return nil, err
		}
		return nil, svc.SignOut(ctx, authz.ActorFrom(ctx))
	})
	a.registerMyLicenses()
	a.registerMyInbox()
	a.registerMyAudit()
	a.registerGrants()
}

// HolderNoticeOf renders a delivery notice for the API.
func HolderNoticeOf(n license.Notice) api.HolderNotice {
	return api.HolderNotice{LicenseID: n.LicenseID, Seq: n.Seq, Operation: n.Operation, From: string(n.From), To: string(n.To),
		Version: n.Version, At: n.At}
}

type myAuditInput struct {
	From  uint64 `query:"from" doc:"First index."`
	Limit int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

type myAuditOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         api.HolderAuditPage
}

func (a *API) registerMyAudit() {
	register(a, huma.Operation{
		OperationID: "list-my-audit-entries", Method: http.MethodGet, Path: Prefix + "/me/audit", Tags: []string{"holders"},
		Summary: "Who used my licenses: the audit entries about the signed-in holder's licenses, each with its inclusion proof",
		Description: "用证记录 (R-HOL-4): every entry of the audit log whose subject is a license the caller holds — reads, verifications, " +
			"uses by using units, changes and refusals — in index order, each with its RFC 6962 inclusion proof in the tree of `size` " +
			"entries that `checkpoint` signs, so the holder checks with the checkpoint key alone that the platform did not leave any out " +
			"of the log or alter it. Entries not yet integrated come on a later call. Each license named on a page is recorded as read.",
	}, authz.Holders(), func(ctx context.Context, in *myAuditInput) (*myAuditOutput, error) {
		t, err := a.svc.Audit.AuditTree(ctx)
		if err != nil {
			return nil, err
		}
		limit := max(in.Limit, 1)
		entries, leaves, err := a.svc.Licenses.HolderAudit(ctx, authz.ActorFrom(ctx), in.From, t.Size, limit)
		if err != nil {
			return nil, err
		}
		cp, err := a.svc.Checkpoints.CheckpointAt(ctx, t.Size)
		if err != nil {
			return nil, err
		}
		vkey, err := a.svc.Checkpoints.VerifierKey(ctx)
		if err != nil {
			return nil, err
		}
		out := &myAuditOutput{CacheControl: "no-store", Body: api.HolderAuditPage{Checkpoint: string(cp), CheckpointKey: vkey, Size: t.Size,
			Items: []api.HolderAuditItem{}}}
		for i, e := range entries {
			path, _, err := auditlog.InclusionProof(ctx, a.svc.Audit, e.Index, t.Size)
			if err != nil {
				return nil, err
			}
			out.Body.Items = append(out.Body.Items, api.HolderAuditItem{Entry: AuditEntryOf(e), Leaf: leaves[i], Proof: hexAll(path)})
		}
		if len(entries) == limit {
			next := entries[len(entries)-1].Index + 1
			out.Body.Next = &next
		}
		return out, nil
	})
}

type myInboxInput struct {
	ListParams
}

func (a *API) registerMyInbox() {
	register(a, huma.Operation{
		OperationID: "list-my-inbox", Method: http.MethodGet, Path: Prefix + "/me/inbox", Tags: []string{"holders"},
		Summary: "The signed-in holder's inbox: the notices of its licenses, newest first",
		Description: "送达 (R-ISS-6): the issuance and every change (changed, renewed, suspended, revoked, …) of each license the caller holds, " +
			"each the record of the transaction that queued the license's outbox event. Each license named on a page is recorded in the audit log as read.",
	}, authz.Holders(), func(ctx context.Context, in *myInboxInput) (*pageOutput[api.HolderNotice], error) {
		p, err := a.svc.Licenses.HolderInbox(ctx, authz.ActorFrom(ctx), in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, HolderNoticeOf), nil
	})
}

type myLicensesInput struct {
	ListParams
	Type  string `query:"type" maxLength:"6"`
	State string `query:"state" enum:"active,suspended,pledged,reported-lost,expired,revoked,cancelled,abolished"`
}

func (a *API) registerMyLicenses() {
	register(a, huma.Operation{
		OperationID: "list-my-licenses", Method: http.MethodGet, Path: Prefix + "/me/licenses", Tags: []string{"holders"},
		Summary: "List the licenses the signed-in holder holds",
		Description: "我的证照 (R-HOL-1): the licenses whose holder is the caller, found by the blind index of its identifier. " +
			"Each license listed is recorded in the audit log as read by the holder.",
	}, authz.Holders(), func(ctx context.Context, in *myLicensesInput) (*pageOutput[api.License], error) {
		p, err := a.svc.Licenses.HolderList(ctx, authz.ActorFrom(ctx), license.Filter{TypeCode: in.Type, State: license.State(in.State),
			Limit: in.Limit}, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, LicenseOf), nil
	})
	register(a, huma.Operation{
		OperationID: "get-my-license", Method: http.MethodGet, Path: Prefix + "/me/licenses/{id}", Tags: []string{"holders"},
		Summary:     "Get a license the signed-in holder holds, with its state",
		Description: "Another holder's license answers 404, as one that does not exist, and the refusal is recorded (license.refused).",
		Errors:      []int{http.StatusNotFound},
	}, authz.Holders(), func(ctx context.Context, in *licenseIDInput) (*licenseOutput, error) {
		l, err := a.svc.Licenses.HolderGet(ctx, authz.ActorFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &licenseOutput{Body: LicenseOf(l)}, nil
	})
	register(a, huma.Operation{
		OperationID: "get-my-license-document", Method: http.MethodGet, Path: Prefix + "/me/licenses/{id}/document", Tags: []string{"holders"},
		Summary:     "Download the signed document of a license the signed-in holder holds",
		Description: "The current version as the seal signed it (docs/license-format.md).",
		Errors:      []int{http.StatusNotFound},
		Responses: map[string]*huma.Response{"200": {Description: "the signed license document",
			Content: map[string]*huma.MediaType{"application/json": {}}}},
	}, authz.Holders(), func(ctx context.Context, in *licenseIDInput) (*licenseDocumentOutput, error) {
		doc, err := a.svc.Licenses.HolderDocument(ctx, authz.ActorFrom(ctx), in.ID, 0)
		if err != nil {
			return nil, err
		}
		return &licenseDocumentOutput{ContentType: "application/json", Body: doc}, nil
	})
	register(a, huma.Operation{
		OperationID: "get-my-license-version-document", Method: http.MethodGet, Path: Prefix + "/me/licenses/{id}/versions/{version}/document",
		Tags: []string{"holders"}, Summary: "Download the signed document of a version of a license the signed-in holder holds",
		Errors: []int{http.StatusNotFound},
		Responses: map[string]*huma.Response{"200": {Description: "the signed license document",
			Content: map[string]*huma.MediaType{"application/json": {}}}},
	}, authz.Holders(), func(ctx context.Context, in *licenseVersionInput) (*licenseDocumentOutput, error) {
		doc, err := a.svc.Licenses.HolderDocument(ctx, authz.ActorFrom(ctx), in.ID, in.Version)
		if err != nil {
			return nil, err
		}
		return &licenseDocumentOutput{ContentType: "application/json", Body: doc}, nil
	})
	register(a, huma.Operation{
		OperationID: "list-my-license-transitions", Method: http.MethodGet, Path: Prefix + "/me/licenses/{id}/transitions", Tags: []string{"holders"},
		Summary:     "The history of a license the signed-in holder holds, oldest first",
		Description: "Each transition names the version it made; every version's document stays downloadable.",
		Errors:      []int{http.StatusNotFound},
	}, authz.Holders(), func(ctx context.Context, in *licenseHistoryInput) (*pageOutput[api.LicenseTransition], error) {
		p, err := a.svc.Licenses.HolderHistory(ctx, authz.ActorFrom(ctx), in.ID, in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, LicenseTransitionOf), nil
	})
}
