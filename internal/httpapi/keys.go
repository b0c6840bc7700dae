package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/zhengzhao/zhengzhao/internal/authz"
	"github.com/zhengzhao/zhengzhao/internal/keyring"
	"github.com/zhengzhao/zhengzhao/internal/keys"
)

// Key is a signing key's public record.
type Key struct {
	ID         string     `json:"id"`
	Org        string     `json:"org"`
	Name       string     `json:"name"`
	Version    int        `json:"version"`
	Purpose    string     `json:"purpose" enum:"seal,license-signing,presentation,checkpoint,ca"`
	Algorithm  string     `json:"algorithm" enum:"SM2-SM3,ECDSA-P256-SHA256,Ed25519"`
	Backend    string     `json:"backend" enum:"software,pkcs11"`
	State      string     `json:"state" enum:"active,disabled,retired"`
	CreatedAt  time.Time  `json:"created_at"`
	RotatedAt  *time.Time `json:"rotated_at,omitempty"`
	ReplacedBy string     `json:"replaced_by,omitempty" doc:"The key that replaced this one at rotation."`
}

func keyOut(k keyring.Key) Key {
	return Key{ID: k.ID, Org: k.Org, Name: k.Name, Version: k.Version, Purpose: string(k.Purpose), Algorithm: string(k.Algorithm),
		Backend: string(k.Backend), State: string(k.State), CreatedAt: k.CreatedAt, RotatedAt: k.RotatedAt, ReplacedBy: k.ReplacedBy}
}

type listKeysInput struct {
	ListParams
	Org     string `query:"org" maxLength:"64" doc:"Only keys of this organization."`
	Purpose string `query:"purpose" enum:"seal,license-signing,presentation,checkpoint,ca"`
	State   string `query:"state" enum:"active,disabled,retired"`
}

type keyInput struct {
	ID string `path:"id" maxLength:"100"`
}

type keyOutput struct {
	Body Key
}

// PublicKey is a key's public half in the two usual encodings.
type PublicKey struct {
	KeyID     string         `json:"key_id"`
	Algorithm string         `json:"algorithm"`
	State     string         `json:"state"`
	PEM       string         `json:"pem" doc:"SubjectPublicKeyInfo, PEM."`
	JWK       map[string]any `json:"jwk" doc:"JSON Web Key; SM2 keys use kty EC with crv SM2 (not IANA-registered)."`
}

type publicKeyOutput struct {
	Body PublicKey
}

func (a *API) registerKeys() {
	tags := []string{"keys"}
	listPolicy := authz.Allow(authz.Any(authz.PlatformAdmin, authz.Auditor), authz.Own(authz.OrgAdmin, authz.Issuer, authz.SealKeeper, authz.SealApprover))
	register(a, huma.Operation{
		OperationID: "list-keys", Method: http.MethodGet, Path: Prefix + "/keys", Tags: tags,
		Summary:     "List signing keys",
		Description: "列出签名密钥（不含私钥）。Callers limited to their own organization see only its keys.",
	}, listPolicy, func(ctx context.Context, in *listKeysInput) (*pageOutput[Key], error) {
		f := keyring.Filter{Org: in.Org, Purpose: keyring.Purpose(in.Purpose), State: keyring.State(in.State)}
		if scope, actor := scopeOf(ctx, listPolicy); scope != authz.AnyOrg {
			f.Org = actor.Org
		}
		p, err := a.svc.Keys.Page(ctx, f, in.Limit, in.Cursor)
		if err != nil {
			return nil, err
		}
		return pageOut(p, keyOut), nil
	})

	register(a, huma.Operation{
		OperationID: "get-key", Method: http.MethodGet, Path: Prefix + "/keys/{id}", Tags: tags,
		Summary: "Get a signing key's record", Errors: []int{http.StatusNotFound},
	}, listPolicy, func(ctx context.Context, in *keyInput) (*keyOutput, error) {
		k, err := a.svc.Keys.Get(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if scope, actor := scopeOf(ctx, listPolicy); scope != authz.AnyOrg && k.Org != actor.Org {
			return nil, a.notFoundKey(in.ID)
		}
		return &keyOutput{Body: keyOut(k)}, nil
	})

	register(a, huma.Operation{
		OperationID: "get-public-key", Method: http.MethodGet, Path: Prefix + "/keys/{id}/public", Tags: tags,
		Summary:     "Get a key's public key (PEM and JWK)",
		Description: "公钥用于验证签名，任何角色均可读取；已轮换或停用的密钥仍可用于验证。",
		Errors:      []int{http.StatusNotFound},
	}, authz.Allow(authz.Any(everyRole...)), func(ctx context.Context, in *keyInput) (*publicKeyOutput, error) {
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
		return &publicKeyOutput{Body: PublicKey{KeyID: k.ID, Algorithm: string(k.Algorithm), State: string(k.State), PEM: string(k.PublicPEM), JWK: jwk}}, nil
	})
}
