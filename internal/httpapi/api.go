// Package httpapi is the REST API of the platform: huma operations, one file
// per capability, each registered with the authorization policy that says
// who may call it. An operation without a policy cannot be registered.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/catalog"
	"github.com/zhengzhao/zhengzhao/internal/holder"
	"github.com/zhengzhao/zhengzhao/internal/ids"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/license"
	"github.com/zhengzhao/zhengzhao/internal/org"
	"github.com/zhengzhao/zhengzhao/internal/page"
	"github.com/zhengzhao/zhengzhao/internal/pki"
	"github.com/zhengzhao/zhengzhao/internal/present"
	"github.com/zhengzhao/zhengzhao/internal/reqctx"
	"github.com/zhengzhao/zhengzhao/internal/seal"
	"github.com/zhengzhao/zhengzhao/internal/status"
	"github.com/zhengzhao/zhengzhao/internal/trust"
	"github.com/zhengzhao/zhengzhao/internal/use"
)

// Version is the version of the published API contract.
const Version = "1.0.0"

// Prefix is the path prefix of every operation.
const Prefix = "/api/v1"

// BodyLimit is the largest request body accepted, in bytes, but for the
// requests that carry issuance materials (BodyLimitFor).
const BodyLimit = 1 << 20

// MaterialsBodyLimit is the largest body of a request that carries
// issuance materials: their largest total in base64, and BodyLimit for
// the rest.
const MaterialsBodyLimit = (license.MaxMaterialsTotal+2)/3*4 + BodyLimit

// BodyLimitFor returns the largest body accepted for a request:
// MaterialsBodyLimit for issuing a license and adding a material to one,
// BodyLimit for every other.
func BodyLimitFor(method, path string) int64 {
	if method != http.MethodPost {
		return BodyLimit
	}
	rest, ok := strings.CutPrefix(path, Prefix+"/licenses")
	if ok {
		id, isMaterial := strings.CutSuffix(strings.TrimPrefix(rest, "/"), "/materials")
		if rest == "" || (isMaterial && id != "" && !strings.Contains(id, "/")) {
			return MaterialsBodyLimit
		}
	}
	return BodyLimit
}

// AuthzExtension is the OpenAPI extension under which each operation
// publishes its authorization policy.
const AuthzExtension = "x-zhengzhao-authz"

// Services are the capability services the API exposes.
type Services struct {
	Orgs        *org.Service
	Keys        *keyring.Service
	PKI         *pki.Service
	Seals       *seal.Service
	Catalog     *catalog.Service
	Audit       AuditReader
	Checkpoints *auditlog.Checkpointer
	// Witnessing takes witnesses' cosignatures and serves the log's
	// checkpoint with them.
	Witnessing *auditlog.Witnessing
	// Status publishes the status lists; nil answers their route with 503.
	Status *status.Service
	// Licenses issues and reads licenses.
	Licenses *license.Service
	// Trust verifies licenses and publishes their trust bundle; nil
	// answers their routes with 503.
	Trust *trust.Service
	// Holders signs holders in and out; HolderOIDC is its OpenID Connect
	// sign-in, nil when none is configured (its routes answer 404).
	Holders    *holder.Service
	HolderOIDC *holder.OIDC
	// Presentations redeems holders' QR presentations; nil answers its
	// route with 503.
	Presentations *present.Service
	// Use keeps the using units' matters and type grants.
	Use *use.Service
	// Imports takes uploaded import files.
	Imports Uploader
}

// AuditReader is the audit log as the API reads it.
type AuditReader interface {
	auditlog.TileReader
	// AuditEntriesOfOrg returns up to limit entries about org from index
	// from on, in order.
	AuditEntriesOfOrg(ctx context.Context, org string, from uint64, limit int) ([]auditlog.Entry, error)
	// AuditPending returns up to limit entries waiting for integration (of
	// org, unless empty), in the order they will be integrated.
	AuditPending(ctx context.Context, org string, limit int) ([]auditlog.Entry, error)
}

// API is the registered set of operations.
type API struct {
	huma     huma.API
	mux      *http.ServeMux
	svc      Services
	problems *Problems
	policies map[string]authz.Policy
	// authWrites are the operations ChangesAuth names.
	authWrites map[string]bool
}

// New registers every operation on a new mux.
func New(svc Services, problems *Problems) *API {
	useProblemsInHuma()
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("zhengzhao API", Version)
	cfg.Info.Description = "电子证照与政务电子印章平台接口 / Electronic licenses and government electronic seals.\n\n" +
		"Authenticate with `Authorization: Bearer <token>`. Every operation lists the roles that may call it in `" + AuthzExtension + "`. " +
		"Errors are RFC 9457 problem documents; validation errors name each bad field and the rule it broke."
	cfg.OpenAPIPath = Prefix + "/openapi"
	cfg.DocsPath = ""    // served by the docs page of this package, which needs no CDN
	cfg.SchemasPath = "" // schemas are inline in the OpenAPI document
	cfg.CreateHooks = nil
	cfg.Formats = map[string]huma.Format{"application/json": strictJSON, "json": strictJSON}
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "API token (zz_…), created with `zhengzhao token create` or POST /api/v1/tokens."},
		"holder": {Type: "http", Scheme: "bearer", Description: "Holder session (zh_…), created by signing in: GET /api/v1/holder/login (docs/holders.md)."},
	}
	a := &API{huma: humago.New(mux, cfg), mux: mux, svc: svc, problems: problems, policies: map[string]authz.Policy{}, authWrites: map[string]bool{}}
	a.registerOrgs()
	a.registerAccounts()
	a.registerTokens()
	a.registerKeys()
	a.registerCerts()
	a.registerSeals()
	a.registerCatalog()
	a.registerLicenses()
	a.registerLicenseTransfers()
	a.registerImports()
	a.registerReconciliation()
	a.registerLicenseVerification()
	a.registerHolders()
	a.registerPresentations()
	a.registerUse()
	a.registerAudit()
	a.registerTLog()
	a.registerStatus()
	a.registerDocs()
	return a
}

// Handler serves the API. Authentication, request IDs and limits are the
// server's middleware; this handler only routes.
func (a *API) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(withProblems(r.Context(), a.problems))
		a.mux.ServeHTTP(w, r)
		if n := reqctx.NoteFrom(r.Context()); n.Route == "" { // not an operation: the docs, or no route
			n.Route = r.Pattern
		}
	})
}

// OpenAPI returns the OpenAPI 3.1 document of the API.
func (a *API) OpenAPI() ([]byte, error) {
	return json.MarshalIndent(a.huma.OpenAPI(), "", "  ")
}

// ChangesAuth reports whether a successful call of the operation may change
// what a token authenticates as: a write to organizations, accounts or
// tokens. The server forgets the tokens it remembers after one.
func (a *API) ChangesAuth(operation string) bool { return a.authWrites[operation] }

// Policies returns the policy of every registered operation by operation ID.
func (a *API) Policies() map[string]authz.Policy { return a.policies }

// register adds one operation with its authorization policy.
func register[I, O any](a *API, op huma.Operation, p authz.Policy, h func(context.Context, *I) (*O, error)) {
	if len(p.Grants) == 0 && !p.Public && !p.Holder {
		panic(fmt.Sprintf("operation %s declares no authorization policy", op.OperationID))
	}
	if _, dup := a.policies[op.OperationID]; dup {
		panic(fmt.Sprintf("operation %s registered twice", op.OperationID))
	}
	a.policies[op.OperationID] = p
	if op.Method != http.MethodGet && slices.ContainsFunc(op.Tags, func(t string) bool {
		return t == "organizations" || t == "accounts" || t == "tokens"
	}) {
		a.authWrites[op.OperationID] = true
	}
	anyOrg, ownOrg := []string{}, []string{}
	for _, g := range p.Grants {
		if g.Scope == authz.AnyOrg {
			anyOrg = append(anyOrg, string(g.Role))
		} else {
			ownOrg = append(ownOrg, string(g.Role))
		}
	}
	op.Extensions = map[string]any{AuthzExtension: map[string]any{"any_org": anyOrg, "own_org": ownOrg, "org_param": p.OrgParam}}
	op.Security = []map[string][]string{{"bearer": {}}}
	refusals := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity}
	if p.Public {
		op.Extensions[AuthzExtension] = map[string]any{"public": true}
		op.Security = []map[string][]string{{}} // no authentication
		refusals = []int{http.StatusUnprocessableEntity}
	}
	if p.Holder {
		op.Extensions[AuthzExtension] = map[string]any{"holder": true}
		op.Security = []map[string][]string{{"holder": {}}}
	}
	op.MaxBodyBytes = BodyLimitFor(op.Method, op.Path)
	for _, s := range refusals {
		if !slices.Contains(op.Errors, s) {
			op.Errors = append(op.Errors, s)
		}
	}
	op.Middlewares = append(op.Middlewares, a.authorize(p))
	var body *bodyValidator // set once huma has built the body's schema
	if base64Body(reflect.TypeFor[I]()) || op.Metadata[validateBodyFirst] == true {
		op.SkipValidateBody = true // validated by body, after authorization
		op.Middlewares = append(op.Middlewares, func(hctx huma.Context, next func(huma.Context)) { body.middleware(hctx, next) })
	}
	huma.Register(a.huma, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			// Headers a handler set on its error (Retry-After) go out with
			// the problem.
			var he huma.HeadersError
			if errors.As(err, &he) {
				return nil, huma.ErrorWithHeaders(a.problems.From(ctx, err), he.GetHeaders())
			}
			return nil, a.problems.From(ctx, err)
		}
		return out, nil
	})
	if op.SkipValidateBody {
		var err error
		if body, err = newBodyValidator(a.huma, registered(a.huma, op.Method, op.Path), op.MaxBodyBytes); err != nil {
			panic(fmt.Sprintf("operation %s: %v", op.OperationID, err))
		}
	}
}

// validateBodyFirst, set true in an operation's Metadata, has its body
// validated by bodyValidator as a base64 body is: parsed once by
// parseJSONFast where it can, instead of by encoding/json into an any.
// For a hot operation whose body is short text (a redemption's payload
// and matter), the decode was a tenth of what huma spent on the request.
const validateBodyFirst = "zhengzhao.validate-body-first"

// authorize runs before the body is read: a caller without a token gets 401,
// a caller whose roles the policy does not grant gets 403.
func (a *API) authorize(p authz.Policy) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		ctx := hctx.Context()
		reqctx.NoteFrom(ctx).Route = hctx.Operation().OperationID
		if p.Public {
			next(hctx)
			return
		}
		actor := authz.ActorFrom(ctx)
		if actor == nil {
			if err := reqctx.AuthError(ctx); err != nil {
				a.writeProblem(hctx, err)
				return
			}
		}
		target := ""
		if p.OrgParam != "" {
			target = ids.NormalizeCreditCode(hctx.Param(p.OrgParam))
		}
		if err := p.Decide(actor, target); err != nil {
			a.writeProblem(hctx, err)
			return
		}
		next(hctx)
	}
}

func (a *API) writeProblem(hctx huma.Context, err error) {
	p := a.problems.From(hctx.Context(), err)
	hctx.SetHeader("Content-Type", "application/problem+json")
	if p.Status == http.StatusUnauthorized {
		hctx.SetHeader("WWW-Authenticate", `Bearer realm="zhengzhao"`)
	}
	hctx.SetStatus(p.Status)
	if err := json.NewEncoder(hctx.BodyWriter()).Encode(p); err != nil {
		a.problems.bodyNotWritten(p, err)
	}
}

// anyRole lets every role call an operation: what verifiers need.
func anyRole() authz.Policy { return authz.Allow(authz.Any(everyRole...)) }

// scopeOf returns how far the caller reaches under policy p.
func scopeOf(ctx context.Context, p authz.Policy) (authz.Scope, *authz.Actor) {
	actor := authz.ActorFrom(ctx)
	return p.Scope(actor), actor
}

// forbidIf returns a Forbidden error naming a field when cond holds.
func forbidIf(cond bool, field, rule, detail string) error {
	if !cond {
		return nil
	}
	return &apperr.Error{Kind: apperr.Forbidden, Detail: detail, Fields: []apperr.FieldError{{Field: field, Rule: rule, Detail: detail}}}
}

type pageOutput[T any] struct {
	Body api.Page[T]
}

// pageOut renders one page of a list with conv.
func pageOut[S, T any](p page.Page[S], conv func(S) T) *pageOutput[T] {
	return &pageOutput[T]{Body: PageOf(p, conv)}
}

// PageOf renders one page of a list with conv, for the API and the CLI's
// --json.
func PageOf[S, T any](p page.Page[S], conv func(S) T) api.Page[T] {
	return api.Page[T]{Items: ListOf(p.Items, conv).Items, NextCursor: p.Next}
}

// ListOf renders a whole list with conv as one page without a next one;
// an empty list has items [], not null.
func ListOf[S, T any](xs []S, conv func(S) T) api.Page[T] {
	items := make([]T, len(xs))
	for i, x := range xs {
		items[i] = conv(x)
	}
	return api.Page[T]{Items: items}
}

// ListParams are the cursor pagination parameters of every list.
type ListParams struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" doc:"Page size (default 50, at most 500)."`
	Cursor string `query:"cursor" maxLength:"200" doc:"Cursor from the next_cursor of the previous page."`
}

// IdempotencyParam is the Idempotency-Key header of creating POSTs.
type IdempotencyParam struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the POST safe to retry: the same key with the same body returns the first answer; with another body, 409."`
}

// notFoundKey hides the existence of another organization's key.
func (a *API) notFoundKey(id string) error {
	return apperr.New(apperr.NotFound, "no key has id %s", id)
}
