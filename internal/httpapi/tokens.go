package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/org"
)

// TokenOf renders a token record; secret is non-empty only at creation.
func TokenOf(t org.Token, secret string) api.Token {
	return api.Token{
		ID: t.ID, Token: secret, Prefix: t.Prefix, AccountID: t.AccountID, Org: t.Org, Roles: rolesOut(t.Roles),
		Description: t.Description, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt,
	}
}

// ParseTTL reads a token lifetime: a Go duration ("720h") or whole days
// ("30d"); "" means the default. A lifetime given must be between one
// minute and five years: "0s" is refused, not read as the default. Its
// errors name the field ttl.
func ParseTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	ttlErr := func(rule, format string, args ...any) error {
		return fieldErr(apperr.Invalid, "ttl", rule, fmt.Sprintf(format, args...))
	}
	var ttl time.Duration
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > 100000 {
			return 0, ttlErr("format", "ttl %q is not a number of days", s)
		}
		ttl = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if ttl, err = time.ParseDuration(s); err != nil {
			return 0, ttlErr("format", "ttl %q is not a duration such as 720h or 30d", s)
		}
	}
	if ttl < time.Minute || ttl > org.MaxTokenTTL {
		return 0, ttlErr("range", "ttl %q is outside one minute to five years", s)
	}
	return ttl, nil
}

// fieldErr is an error of kind about one field.
func fieldErr(kind apperr.Kind, field, rule, detail string) error {
	return &apperr.Error{Kind: kind, Detail: detail, Fields: []apperr.FieldError{{Field: field, Rule: rule, Detail: detail}}}
}

type createTokenInput struct {
	IdempotencyParam
	Body struct {
		AccountID   string   `json:"account_id" maxLength:"100"`
		Roles       []string `json:"roles,omitempty" maxItems:"7" enum:"platform-admin,org-admin,issuer,seal-keeper,seal-approver,using-unit,auditor" doc:"Subset of the account's roles; default all of them."`
		TTL         string   `json:"ttl,omitempty" maxLength:"20" doc:"Lifetime, e.g. 720h or 90d (default 90d, at most 5 years)."`
		Description string   `json:"description,omitempty" maxLength:"1000"`
	}
}

type tokenOutput struct {
	Body api.Token
}

type listTokensInput struct {
	ListParams
	Org       string `query:"org" maxLength:"64" doc:"Only tokens of this organization's accounts."`
	AccountID string `query:"account_id" maxLength:"100"`
}

type revokeTokenInput struct {
	ID string `path:"id" maxLength:"100"`
}

type meOutput struct {
	Body api.Me
}

func (a *API) registerTokens() {
	a.registerCreateToken()
	a.registerListTokens()
	a.registerRevokeToken()
	a.registerGetMe()
}

func (a *API) registerCreateToken() {
	createPolicy := authz.Allow(authz.Any(authz.PlatformAdmin), authz.Own(authz.OrgAdmin))
	register(a, huma.Operation{
		OperationID: "create-token", Method: http.MethodPost, Path: Prefix + "/tokens", Tags: []string{"tokens"},
		Summary:       "Create an API token",
		Description:   "创建访问令牌。The answer carries the secret once; only its hash is stored.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, createPolicy, func(ctx context.Context, in *createTokenInput) (*tokenOutput, error) {
		ttl, err := ParseTTL(in.Body.TTL)
		if err != nil {
			return nil, err
		}
		if scope, actor := scopeOf(ctx, createPolicy); scope != authz.AnyOrg {
			acc, err := a.svc.Orgs.GetAccount(ctx, in.Body.AccountID)
			if err != nil {
				return nil, err
			}
			if acc.Org != actor.Org {
				return nil, apperr.New(apperr.Forbidden, "the account belongs to another organization")
			}
		}
		secret, t, err := a.svc.Orgs.IssueToken(ctx, org.NewToken{
			AccountID: in.Body.AccountID, Roles: rolesIn(in.Body.Roles), TTL: ttl, Description: in.Body.Description,
		})
		if err != nil {
			return nil, err
		}
		return &tokenOutput{Body: TokenOf(t, secret)}, nil
	})
}

func (a *API) registerListTokens() {
	listPolicy := authz.Allow(authz.Any(authz.PlatformAdmin, authz.Auditor), authz.Own(authz.OrgAdmin))
	register(a, huma.Operation{
		OperationID: "list-tokens", Method: http.MethodGet, Path: Prefix + "/tokens", Tags: []string{"tokens"},
		Summary: "List API tokens (never their secrets)",
	}, listPolicy, func(ctx context.Context, in *listTokensInput) (*pageOutput[api.Token], error) {
		f := org.TokenFilter{Org: in.Org, AccountID: in.AccountID, Limit: in.Limit}
		if scope, actor := scopeOf(ctx, listPolicy); scope != authz.AnyOrg {
			f.Org = actor.Org
		}
		p, err := a.svc.Orgs.ListTokens(ctx, f, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, func(t org.Token) api.Token { return TokenOf(t, "") }), nil
	})
}

func (a *API) registerRevokeToken() {
	revokePolicy := authz.Allow(authz.Any(authz.PlatformAdmin), authz.Own(append(staff, authz.Auditor)...))
	register(a, huma.Operation{
		OperationID: "revoke-token", Method: http.MethodPost, Path: Prefix + "/tokens/{id}/revoke", Tags: []string{"tokens"},
		Summary:     "Revoke an API token",
		Description: "吊销令牌，立即生效。Anyone may revoke the token they call with; an org admin, the tokens of the organization; the platform admin, any.",
		Errors:      []int{http.StatusNotFound},
	}, revokePolicy, func(ctx context.Context, in *revokeTokenInput) (*tokenOutput, error) {
		t, err := a.svc.Orgs.GetToken(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if scope, actor := scopeOf(ctx, revokePolicy); scope != authz.AnyOrg && t.ID != actor.TokenID {
			own := t.Org == actor.Org && authz.Allow(authz.Own(authz.OrgAdmin)).Scope(actor) != authz.None
			if !own {
				return nil, apperr.New(apperr.Forbidden, "you may revoke only your own token or, as org admin, your organization's")
			}
		}
		t, err = a.svc.Orgs.RevokeToken(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		return &tokenOutput{Body: TokenOf(t, "")}, nil
	})
}

func (a *API) registerGetMe() {
	register(a, huma.Operation{
		OperationID: "get-me", Method: http.MethodGet, Path: Prefix + "/me", Tags: []string{"tokens"},
		Summary: "Who am I: the caller's account, organization and roles",
	}, anyRole(), func(ctx context.Context, _ *struct{}) (*meOutput, error) {
		actor := authz.ActorFrom(ctx)
		return &meOutput{Body: api.Me{AccountID: actor.AccountID, AccountName: actor.AccountName, TokenID: actor.TokenID, Org: actor.Org, Roles: rolesOut(actor.Roles)}}, nil
	})
}
