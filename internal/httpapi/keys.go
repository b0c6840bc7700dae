package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/api"
	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// KeyOf renders a key's public record for the API (and the CLI's --json).
func KeyOf(k keyring.Key) api.Key {
	return api.Key{ID: k.ID, Org: k.Org, Name: k.Name, Version: k.Version, Purpose: string(k.Purpose), Algorithm: string(k.Algorithm),
		Backend: string(k.Backend), State: string(k.State), CreatedAt: k.CreatedAt, RotatedAt: k.RotatedAt, ReplacedBy: k.ReplacedBy}
}

type listKeysInput struct {
	ListParams
	Org     string `query:"org" maxLength:"64" doc:"Only keys of this organization."`
	Purpose string `query:"purpose" enum:"seal,license-signing,presentation,checkpoint,ca,status-list"`
	State   string `query:"state" enum:"active,disabled,retired"`
}

type keyInput struct {
	ID string `path:"id" maxLength:"100"`
}

type keyOutput struct {
	Body api.Key
}

type publicKeyOutput struct {
	Body api.PublicKey
}

// readKeys may read key records; callers limited to their own organization
// see only its keys.
func readKeys() authz.Policy {
	return authz.Allow(authz.Any(authz.PlatformAdmin, authz.Auditor), authz.Own(authz.OrgAdmin, authz.Issuer, authz.SealKeeper, authz.SealApprover))
}

func (a *API) registerKeys() {
	a.registerListKeys()
	a.registerGetKey()
	a.registerGetPublicKey()
}

func (a *API) registerListKeys() {
	register(a, huma.Operation{
		OperationID: "list-keys", Method: http.MethodGet, Path: Prefix + "/keys", Tags: []string{"keys"},
		Summary:     "List signing keys",
		Description: "列出签名密钥（不含私钥）。Callers limited to their own organization see only its keys.",
	}, readKeys(), func(ctx context.Context, in *listKeysInput) (*pageOutput[api.Key], error) {
		f := keyring.Filter{Org: in.Org, Purpose: keyring.Purpose(in.Purpose), State: keyring.State(in.State)}
		if scope, actor := scopeOf(ctx, readKeys()); scope != authz.AnyOrg {
			f.Org = actor.Org
		}
		p, err := a.svc.Keys.Page(ctx, f, in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, KeyOf), nil
	})
}

func (a *API) registerGetKey() {
	register(a, huma.Operation{
		OperationID: "get-key", Method: http.MethodGet, Path: Prefix + "/keys/{id}", Tags: []string{"keys"},
		Summary: "Get a signing key's record", Errors: []int{http.StatusNotFound},
	}, readKeys(), func(ctx context.Context, in *keyInput) (*keyOutput, error) {
		k, err := a.svc.Keys.Get(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if scope, actor := scopeOf(ctx, readKeys()); scope != authz.AnyOrg && k.Org != actor.Org {
			return nil, a.notFoundKey(in.ID)
		}
		return &keyOutput{Body: KeyOf(k)}, nil
	})
}

func (a *API) registerGetPublicKey() {
	register(a, huma.Operation{
		OperationID: "get-public-key", Method: http.MethodGet, Path: Prefix + "/keys/{id}/public", Tags: []string{"keys"},
		Summary:     "Get a key's public key (PEM and JWK)",
		Description: "公钥用于验证签名，任何角色均可读取；已轮换或停用的密钥仍可用于验证。",
		Errors:      []int{http.StatusNotFound},
	}, anyRole(), func(ctx context.Context, in *keyInput) (*publicKeyOutput, error) {
		k, err := a.svc.Keys.Get(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		pub, err := k.Public()
		if err != nil {
			return nil, err
		}
		jwk, err := keys.PublicJWK(pub)
		if err != nil {
			return nil, err
		}
		jwk["kid"] = k.ID
		return &publicKeyOutput{Body: api.PublicKey{KeyID: k.ID, Algorithm: string(k.Algorithm), State: string(k.State), PEM: string(k.PublicPEM), JWK: jwk}}, nil
	})
}
